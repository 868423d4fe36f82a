import HadronHTTP
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// Talks to the leader of a partition (docs/internal-api.md, storage node) and rides out leadership changes.
///
/// Every request carries the epoch the gateway knows. When a node says it is not the leader (421), that the epoch
/// is stale (409 with a newer `epoch`), or cannot be reached, the topology is behind the cluster: the client waits
/// for the next topology (or a short backoff) and tries the new leader, until the request's retry window closes.
/// Then the caller gets 503 with `Retry-After`, which is what a client should see while a partition has no leader.
struct LeaderClient: Sendable {
    let client: InternalClient
    let view: TopologyView
    let requestTimeout: Duration
    let logger: Logger

    /// What the retry loop treats as transient, beyond the leadership failures it always retries.
    struct RetryPolicy: Sendable {
        /// How long to keep trying.
        var window: Duration
        /// Whether a 503 from the leader (too few in-sync replicas) is retried too: yes for writes.
        var retriesUnavailable: Bool
        /// Whether every 409 is a fencing answer. Group acknowledgements use 409 for a stale delivery too; there
        /// only a 409 naming a newer `epoch` is fencing.
        var conflictIsFencing: Bool
        /// "take writes", "serve reads": completes the 503 detail.
        var purpose: String
        /// Whether a request the leader may already have processed is sent again: yes for reads, which are
        /// idempotent, and appends, which the leader deduplicates by producer sequence; no for acknowledgements.
        var retriesAfterPossibleProcessing: Bool
    }

    /// Sends `method` to `…/partitions/{partition}{suffix}` on the partition's leader and returns its answer, except
    /// for the leadership and availability failures that `policy` retries.
    ///
    /// - Parameter extraTimeout: added to the request time limit (a long poll's `wait`).
    func send(
        _ method: HTTPRequest.Method, stream: String, partition: Int, suffix: String, body: ByteBuffer? = nil,
        contentType: String? = nil, extraTimeout: Duration = .zero, policy: RetryPolicy
    ) async throws(ProblemDetails) -> InternalResponse {
        let clock = ContinuousClock()
        let deadline = clock.now + policy.window
        var backoff = Duration.milliseconds(20)
        var reason = "no topology yet"
        var retryAfter = "1"
        while true {
            let generation: UInt64
            if let snapshot = view.snapshot {
                generation = snapshot.generation
                guard let streamRoute = snapshot.streams[stream] else {
                    throw ProblemDetails(.notFound, "stream \(stream) does not exist")
                }
                guard let route = streamRoute.partition(partition) else {
                    throw ProblemDetails(
                        .notFound,
                        "stream \(stream) has no partition \(partition) (it has \(streamRoute.partitionCount))")
                }
                if let address = route.address {
                    let request = Self.request(
                        method, stream: stream, partition: partition, suffix: suffix, epoch: route.epoch, body: body,
                        contentType: contentType)
                    do {
                        let answer = try await execute(
                            request, to: address, timeout: requestTimeout + extraTimeout,
                            abandonWhenMoved: policy.retriesAfterPossibleProcessing,
                            stream: stream, partition: partition, route: route, generation: generation)
                        guard let response = answer else {
                            reason = "leadership of the partition moved while the request was in flight"
                            continue
                        }
                        switch retry(after: response, epoch: route.epoch, policy: policy) {
                        case .notLeader:
                            reason = "node \(route.leader ?? address) is no longer its leader"
                            await redial(address)
                        case .staleEpoch:
                            reason = "the leader epoch \(route.epoch) is stale"
                            await redial(address)
                        case .unavailable:
                            reason = ProblemDetails.detail(in: response.body) ?? "the leader cannot take writes now"
                            retryAfter = response.headerFields[.retryAfter] ?? retryAfter
                        case nil:
                            return response
                        }
                    } catch {
                        if Task.isCancelled {
                            throw ProblemDetails(.serviceUnavailable, "the request was cancelled")
                        }
                        // A request that cannot be sent twice safely (a group acknowledgement) is not resent after
                        // the leader may have processed it: the client decides instead.
                        if !policy.retriesAfterPossibleProcessing, InternalClientError.mayHaveBeenProcessed(error) {
                            throw ProblemDetails(
                                .serviceUnavailable,
                                "partition \(partition) of stream \(stream): the connection to its leader failed while "
                                    + "the request was in flight; whether it was stored is unknown",
                                headers: [.retryAfter: "1"])
                        }
                        reason = "its leader \(route.leader ?? address) at \(address) cannot be reached"
                        logger.debug(
                            "Leader request failed",
                            metadata: [
                                "stream": "\(stream)", "partition.id": "\(partition)", "address": "\(address)",
                                "error": "\(error)",
                            ])
                    }
                } else {
                    reason = route.leader == nil ? "it has no leader" : "its leader \(route.leader!) has no address"
                }
            } else {
                generation = 0
            }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero, !Task.isCancelled else {
                throw ProblemDetails(
                    .serviceUnavailable,
                    "partition \(partition) of stream \(stream) cannot \(policy.purpose): \(reason)",
                    headers: [.retryAfter: retryAfter])
            }
            // A new topology usually names the new leader: retry as soon as one arrives, or after the backoff.
            await view.waitForChange(after: generation, timeout: min(backoff, remaining))
            backoff = min(backoff * 2, .milliseconds(500))
        }
    }

    /// One attempt on the partition's current leader without a task, for the publish hot path: `completion` gets the
    /// answer when the retry loop of ``send(_:stream:partition:suffix:body:contentType:extraTimeout:policy:)`` would
    /// return it as is, and nil when that loop must take over (no route or connection yet, a leadership answer, a
    /// 503, a failed or abandoned request). Only for requests that may be sent twice: the loop sends it again.
    /// Called at most once; nil may come synchronously.
    func attempt(
        _ method: HTTPRequest.Method, stream: String, partition: Int, suffix: String, body: ByteBuffer,
        contentType: String, policy: RetryPolicy, completion: @escaping @Sendable (InternalResponse?) -> Void
    ) {
        guard let snapshot = view.snapshot, let route = snapshot.streams[stream]?.partition(partition),
            let address = route.address
        else { return completion(nil) }
        let request = Self.request(
            method, stream: stream, partition: partition, suffix: suffix, epoch: route.epoch, body: body,
            contentType: contentType)
        let watch = MoveWatch.started(
            view: view, stream: stream, partition: partition, route: route, after: snapshot.generation)
        let started = client.start(request, to: address, timeout: requestTimeout, cancellation: watch.cancellation) {
            result in
            watch.stop()
            guard case .success(let response) = result,
                retry(after: response, epoch: route.epoch, policy: policy) == nil
            else { return completion(nil) }
            completion(response)
        }
        if !started {
            watch.stop()
            completion(nil)
        }
    }

    /// ``attempt(_:stream:partition:suffix:body:contentType:policy:completion:)`` for an append: over the partition
    /// writer's append session with the leader when one is open (``AppendSession``), as a request of its own
    /// otherwise, while the session opens. The answer means the same either way; a session that fails is dropped
    /// and the batch left to the retry loop.
    func attemptAppend(
        stream: String, partition: Int, batch: ByteBuffer, contentType: String, policy: RetryPolicy,
        session slot: AppendSessionSlot, completion: @escaping @Sendable (InternalResponse?) -> Void
    ) {
        guard let snapshot = view.snapshot, let route = snapshot.streams[stream]?.partition(partition),
            let address = route.address
        else { return completion(nil) }
        let client = client
        let timeout = requestTimeout
        let opened = slot.session(address: address, epoch: route.epoch) {
            try await AppendSession.open(
                client: client, address: address, stream: stream, partition: partition, epoch: route.epoch,
                timeout: timeout)
        }
        let asRequest = {
            attempt(
                .post, stream: stream, partition: partition, suffix: "/records", body: batch, contentType: contentType,
                policy: policy, completion: completion)
        }
        guard let session = opened else { return asRequest() }
        let watch = MoveWatch.started(
            view: view, stream: stream, partition: partition, route: route, after: snapshot.generation)
        let sent = session.append(batch, timeout: requestTimeout) { answer in
            watch.stop()
            guard let answer else {
                slot.discard(session)
                return completion(nil)
            }
            // The leader ends a session after any answer but 200.
            if answer.status != .ok { slot.discard(session) }
            let response = InternalResponse(status: answer.status, headerFields: [:], body: answer.body)
            guard retry(after: response, epoch: route.epoch, policy: policy) == nil else { return completion(nil) }
            completion(response)
        }
        guard sent else {
            watch.stop()
            return asRequest()
        }
        // A batch in flight to a deposed leader is abandoned at once; the retry loop takes it to the new one.
        watch.cancellation.whenCancelled { slot.discard(session) }
    }

    /// The request to a partition's leader at `epoch`.
    private static func request(
        _ method: HTTPRequest.Method, stream: String, partition: Int, suffix: String, epoch: Int32, body: ByteBuffer?,
        contentType: String?
    ) -> InternalRequest {
        var fields = HTTPFields()
        fields[.hadronEpoch] = String(epoch)
        if let contentType { fields[.contentType] = contentType }
        return InternalRequest(
            method: method, path: "/internal/v1/streams/\(stream)/partitions/\(partition)\(suffix)",
            headerFields: fields, body: body)
    }

    /// Why a leader's answer is worth sending the request again under `policy`; nil when it is the final answer.
    private enum Retry {
        case notLeader, staleEpoch, unavailable
    }

    private func retry(after response: InternalResponse, epoch: Int32, policy: RetryPolicy) -> Retry? {
        switch response.status.code {
        case 421: .notLeader
        case 409 where policy.conflictIsFencing || isNewerEpoch(response, than: epoch): .staleEpoch
        case 503 where policy.retriesUnavailable: .unavailable
        default: nil
        }
    }

    /// After a replica answered that it does not lead at this epoch: when the address is a Service that outlives
    /// leaderships, the connection still reaches the pod it was opened to, so the next attempt must dial again.
    private func redial(_ address: String) async {
        if view.routing.addressOutlivesLeadership { await client.closeConnection(to: address) }
    }

    /// Sends `request`; when `abandonWhenMoved` is set and the topology moves the partition to another leader or
    /// epoch while it is in flight, cancels it and returns nil so the caller tries the new leader at once. A leader
    /// that stopped answering (suspended, partitioned) would otherwise hold the request for the whole time limit.
    /// Only requests that may be sent twice are abandoned: reads, and appends the leader deduplicates.
    private func execute(
        _ request: InternalRequest, to address: String, timeout: Duration, abandonWhenMoved: Bool, stream: String,
        partition: Int, route: TopologyView.PartitionRoute, generation: UInt64
    ) async throws -> InternalResponse? {
        guard abandonWhenMoved else { return try await client.execute(request, to: address, timeout: timeout) }
        let watch = MoveWatch.started(view: view, stream: stream, partition: partition, route: route, after: generation)
        defer { watch.stop() }
        do {
            return try await client.execute(request, to: address, timeout: timeout, cancellation: watch.cancellation)
        } catch {
            if watch.cancellation.isCancelled, !Task.isCancelled { return nil }
            throw error
        }
    }

    private func isNewerEpoch(_ response: InternalResponse, than epoch: Int32) -> Bool {
        guard let theirs = ProblemDetails.member("epoch", in: response.body)?.integer else { return false }
        return theirs > Int64(epoch)
    }

}

extension LeaderClient.RetryPolicy {
    /// Appends are sent again after an answer was lost: the batch keeps its producer id, epoch and sequence, and
    /// the leader (or its successor, which replicated the producer state with the log) answers a batch it already
    /// holds with the original offsets instead of storing it twice.
    static func writes(window: Duration) -> Self {
        .init(
            window: window, retriesUnavailable: true, conflictIsFencing: true, purpose: "take writes",
            retriesAfterPossibleProcessing: true)
    }

    static func reads(window: Duration) -> Self {
        .init(
            window: window, retriesUnavailable: false, conflictIsFencing: true, purpose: "serve reads",
            retriesAfterPossibleProcessing: true)
    }

    static func acknowledgements(window: Duration) -> Self {
        .init(
            window: window, retriesUnavailable: false, conflictIsFencing: false, purpose: "serve its consumer groups",
            retriesAfterPossibleProcessing: false)
    }
}

/// Cancels a request to a partition's leader when the topology gives the partition another leader or epoch, by
/// observing the view with callbacks: no task waits for the change.
private final class MoveWatch: Sendable {
    private let view: TopologyView
    private let stream: String
    private let partition: Int
    private let route: TopologyView.PartitionRoute
    /// Cancelled when the partition moves; the request to the old leader honours it.
    let cancellation = RequestCancellation()
    /// The registered observer, if any; nil once stopped or moved.
    private let observer = Mutex<(id: Int?, stopped: Bool)>((nil, false))

    private init(view: TopologyView, stream: String, partition: Int, route: TopologyView.PartitionRoute) {
        self.view = view
        self.stream = stream
        self.partition = partition
        self.route = route
    }

    /// A watch on `route` of the snapshot at `generation`, already watching; stop it once the request is answered.
    static func started(
        view: TopologyView, stream: String, partition: Int, route: TopologyView.PartitionRoute, after generation: UInt64
    ) -> MoveWatch {
        let watch = MoveWatch(view: view, stream: stream, partition: partition, route: route)
        watch.start(after: generation)
        return watch
    }

    /// Watches for changes after `generation`, the snapshot the route came from.
    private func start(after generation: UInt64) {
        let id = view.onChange(after: generation) { [self] in changed() }
        guard let id else { return }
        let stopped = observer.withLock { observer in
            if !observer.stopped { observer.id = id }
            return observer.stopped
        }
        if stopped { view.stopObserving(id) }
    }

    func stop() {
        let id = observer.withLock { observer in
            observer.stopped = true
            defer { observer.id = nil }
            return observer.id
        }
        if let id { view.stopObserving(id) }
    }

    private func changed() {
        guard !observer.withLock({ $0.stopped }), let snapshot = view.snapshot else { return }
        let now = snapshot.streams[stream]?.partition(partition)
        if now?.leader != route.leader || now?.epoch != route.epoch {
            cancellation.cancel()
        } else {
            start(after: snapshot.generation)
        }
    }
}
