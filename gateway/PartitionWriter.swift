import CloudEvents
import HadronCore
import HadronHTTP
import HTTPTypes
import NIOCore
import NIOPosix
import Synchronization

/// What became of one submission: the offset of its first event, or why nothing of it was stored.
enum AppendOutcome: Sendable {
    case stored(baseOffset: Int64)
    case failed(ProblemDetails)
}

/// Writes one partition's events, coalescing concurrent submissions into one record batch per leader round trip.
///
/// Requests for a partition arrive from many connections at once. Each one sending its own batch would cost storage
/// one append (and, under `fsync: always`, one flush) per request; instead submissions queue here while a batch is
/// in flight, and the next batch takes everything queued, up to the size bounds. A submission is never split, so
/// its events are contiguous in one batch and its offsets are the batch's base offset plus their index: each
/// partition's share of a request is stored atomically (DESIGN.md §3).
///
/// One batch in flight per partition keeps batches in submission order, which lets the idempotent-producer sequence
/// in the header grow without gaps and lets a new leader recognise a batch the gateway retries after failover.
///
/// A lock guards the queue, never held across an await, and submissions complete through a callback rather than a
/// suspended task: the gateway's publish path runs on the connection's event loop (``PublishChannelHandler``), and a
/// callback lets it answer with one hop back to that loop instead of a task per request. Batches are encoded and
/// sent from event-loop callbacks too (see ``sendNext()``); a task runs only when a batch needs the retry loop.
final class PartitionWriter: Sendable {
    struct Settings: Sendable {
        var linger: Duration
        var maxBatchBytes: Int
        var maxBatchEvents: Int
        var retryWindow: Duration
    }

    typealias Completion = @Sendable (AppendOutcome) -> Void

    private struct Submission {
        var events: [CloudEvent]
        var receiveTime: Int64
        var bytes: Int
        /// The sticky position its keyless events were routed by, if any.
        var sticky: UInt64?
        var completion: Completion
    }

    /// The header fields that let storage deduplicate a retried batch (Kafka's idempotent producer).
    private struct ProducerState {
        var id: Int64
        var epoch: Int16 = 0
        var nextSequence: Int32 = 0
    }

    private struct State {
        var queue: [Submission] = []
        var queuedEvents = 0
        var queuedBytes = 0
        var sending = false
        var producer: ProducerState
    }

    let stream: String
    let partition: Int
    private let settings: Settings
    private let leaders: LeaderClient
    private let sticky: StickyCounter
    private let metrics: GatewayMetrics
    private let state: Mutex<State>
    /// The session batches go over to the leader (``AppendSession``).
    private let appendSession = AppendSessionSlot()

    init(
        stream: String, partition: Int, producerId: Int64, settings: Settings, leaders: LeaderClient,
        sticky: StickyCounter, metrics: GatewayMetrics
    ) {
        self.stream = stream
        self.partition = partition
        self.settings = settings
        self.leaders = leaders
        self.sticky = sticky
        self.metrics = metrics
        self.state = Mutex(State(producer: ProducerState(id: producerId)))
    }

    /// Stores `events` (all received at `receiveTime`, ms since the Unix epoch) contiguously in one batch and calls
    /// `completion` once with the outcome, on a thread of the writer's choosing.
    /// - Parameters:
    ///   - bytes: their size by the gateway's event-size measure, for the batch bound.
    ///   - sticky: the stream's sticky position that routed them here, if it did; the position moves on when their
    ///     batch is sent.
    func append(
        _ events: [CloudEvent], receiveTime: Int64, bytes: Int, sticky: UInt64? = nil,
        completion: @escaping Completion
    ) {
        let (startsSending, full) = state.withLock { state in
            state.queue.append(
                Submission(events: events, receiveTime: receiveTime, bytes: bytes, sticky: sticky, completion: completion))
            state.queuedEvents += events.count
            state.queuedBytes += bytes
            guard !state.sending else { return (false, false) }
            state.sending = true
            return (true, state.queuedEvents >= settings.maxBatchEvents || state.queuedBytes >= settings.maxBatchBytes)
        }
        guard startsSending else { return }
        // Lingering pays only under concurrent load, when more publishes are sure to come; a lone sender, or a
        // few, are answered without the wait.
        guard settings.linger > .zero, !full, self.sticky.isBusy else { return sendNext() }
        // Publishes arrive on event loops: a timer there costs far less than a task that sleeps.
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            loop.scheduleTask(in: TimeAmount(settings.linger)) { self.sendNext() }
        } else {
            Task {
                try? await Task.sleep(for: settings.linger)
                self.sendNext()
            }
        }
    }

    /// Sends the next batch, if anything is queued, and the one after it when that is answered; at most one batch
    /// per writer is in flight.
    ///
    /// The first attempt goes straight to the leader with callbacks (``LeaderClient/attempt``): no task, so the
    /// common case costs event-loop work only. Anything the attempt cannot settle (no connection yet, a leadership
    /// change, storage trouble) goes to the retry loop in a task; sending the same batch again is safe, since the
    /// leader deduplicates it by producer sequence.
    private func sendNext() {
        guard let (batch, identity) = takeBatch() else { return }
        // This partition's batch is closed: keyless events go to the next partition's from now on.
        if let position = batch.lazy.compactMap(\.sticky).max() { sticky.rotate(from: position) }
        let groups = batch.map { RecordBatchEncoder.Group(events: $0.events, receiveTime: $0.receiveTime) }
        let count = batch.reduce(0) { $0 + $1.events.count }
        let encoder = RecordBatchEncoder(
            producerId: identity.id, producerEpoch: identity.epoch, baseSequence: identity.nextSequence)
        let bytes = ByteBuffer(bytes: encoder.encode(groups))
        sticky.batchSent(submissions: batch.count)
        leaders.attemptAppend(
            stream: stream, partition: partition, batch: bytes, contentType: Self.contentType,
            policy: .writes(window: settings.retryWindow), session: appendSession
        ) { response in
            if let response {
                self.finish(batch, events: count, outcome: self.outcome(of: response))
                self.sendNext()
                return
            }
            Task {
                let outcome = await self.send(bytes)
                self.finish(batch, events: count, outcome: outcome)
                self.sendNext()
            }
        }
    }

    /// Completes a batch's submissions; after a failure, starts a new producer epoch.
    private func finish(_ batch: [Submission], events: Int, outcome: AppendOutcome) {
        switch outcome {
        case .stored(let baseOffset):
            metrics.recordBatch(stream: stream, partition: partition, endOffset: baseOffset + Int64(events))
            var offset = baseOffset
            for submission in batch {
                submission.completion(.stored(baseOffset: offset))
                offset += Int64(submission.events.count)
            }
        case .failed:
            // The batch may or may not have been stored: start a new producer epoch, so the sequence of the next
            // batch is not judged against one storage may never have seen.
            state.withLock { state in
                if state.producer.epoch == .max {
                    // Storage treats a lower epoch as stale, so a wrapped epoch would be refused: a new id.
                    state.producer = ProducerState(id: .random(in: 1...Int64.max))
                } else {
                    state.producer.epoch += 1
                    state.producer.nextSequence = 0
                }
            }
            for submission in batch { submission.completion(outcome) }
        }
    }

    /// Removes the next batch's submissions from the queue (at least one, then as many as fit the bounds) and
    /// advances the producer sequence past them; nil, and no longer sending, when the queue is empty.
    private func takeBatch() -> ([Submission], ProducerState)? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.sending = false
                return nil
            }
            var count = 0
            var events = 0
            var bytes = 0
            for submission in state.queue {
                if count > 0,
                    events + submission.events.count > settings.maxBatchEvents
                        || bytes + submission.bytes > settings.maxBatchBytes
                {
                    break
                }
                count += 1
                events += submission.events.count
                bytes += submission.bytes
            }
            let batch = Array(state.queue[..<count])
            state.queue.removeFirst(count)
            state.queuedEvents -= events
            state.queuedBytes -= bytes
            let identity = state.producer
            state.producer.nextSequence = Self.sequence(after: identity.nextSequence, adding: events)
            return (batch, identity)
        }
    }

    static let contentType = "application/vnd.hadron.record-batch"

    /// Appends the encoded batch on the leader through the retry loop, riding out leadership changes within the
    /// window.
    private func send(_ batch: ByteBuffer) async -> AppendOutcome {
        do {
            let response = try await leaders.send(
                .post, stream: stream, partition: partition, suffix: "/records", body: batch,
                contentType: Self.contentType, policy: .writes(window: settings.retryWindow))
            return outcome(of: response)
        } catch {
            return .failed(error)
        }
    }

    /// What the leader's final answer to an append means.
    private func outcome(of response: InternalResponse) -> AppendOutcome {
        guard response.status == .ok else {
            let detail = ProblemDetails.detail(in: response.body) ?? "status \(response.status.code)"
            let message = "the leader of partition \(partition) refused the batch: \(detail)"
            // A 5xx is storage trouble worth a retry, and so is 422 (the leader's producer state disagrees with
            // this writer's sequence; the writer starts a new producer epoch). Another 4xx means the gateway
            // built a bad batch.
            return .failed(
                response.status.kind == .serverError || response.status == .unprocessableContent
                    ? ProblemDetails(.serviceUnavailable, message, headers: [.retryAfter: "1"])
                    : ProblemDetails(.internalServerError, message))
        }
        guard let baseOffset = JSONScan.integer("baseOffset", in: response.body) else {
            return .failed(
                ProblemDetails(
                    .internalServerError, "the leader of partition \(partition) answered without a baseOffset"))
        }
        return .stored(baseOffset: baseOffset)
    }

    /// The sequence after `count` records, wrapping past `Int32.max` to 0 as Kafka does.
    static func sequence(after sequence: Int32, adding count: Int) -> Int32 {
        let next = Int64(sequence) + Int64(count)
        return next > Int64(Int32.max) ? Int32(next - Int64(Int32.max) - 1) : Int32(next)
    }
}
