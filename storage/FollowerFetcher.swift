import Foundation
import HTTPTypes
import HadronHTTP
import Logging
import NIOCore
import SegmentLog

/// How this node's follower replicas reach their leaders: the node's id, by which a leader tracks its followers,
/// and the shared h2c client.
struct ReplicaLink: Sendable {
    let nodeID: String
    let client: InternalClient
    /// The most bytes one replication fetch asks for.
    var fetchBytes = 8 * 1024 * 1024
    /// How long a caught-up follower's fetch waits at the leader for new batches.
    var fetchWait: Duration = .seconds(1)
    /// How often a follower copies the leader's committed consumer-group offsets.
    var groupSyncInterval: Duration = .seconds(1)
}

/// Why a follower's fetch loop stops or starts over.
enum FollowerStop: Error, Sendable {
    /// The replica no longer follows at the fetcher's epoch: a newer fetcher (or none) takes over.
    case roleChanged
    /// The follower's log does not continue the leader's: truncate by leader epochs again.
    case diverged(String)
    /// The log failed; try again after a pause.
    case failed(String)
}

/// Keeps a follower replica's log a byte-for-byte copy of its leader's at one epoch (DESIGN.md §6).
///
/// First it truncates whatever diverges, by leader epochs as Kafka's KIP-101/279 do: it asks the leader where its
/// own newest epoch ends there, cuts its log at that offset (never at its own high watermark), and repeats with its
/// next older epoch until both agree. Then it long-polls the leader's internal API from its log end and appends
/// what it gets unchanged; each fetch tells the leader how far this replica has come, which is what commits
/// batches. The fetches share one HTTP/2 stream, a replication session (``ReplicationSession``), for as long as
/// the leader answers them. About every second it also copies the leader's committed consumer-group offsets, so that a follower
/// elected leader resumes each group close to where it was (at most that second of acknowledgements is redelivered).
/// It runs until the replica's role changes (the replica cancels it) or the replica refuses its epoch.
struct FollowerFetcher: Sendable {
    let replica: PartitionReplica
    let stream: String
    let partition: Int
    let epoch: Int32
    let leader: String
    let address: String
    let link: ReplicaLink
    let logger: Logger

    private var path: String { "/internal/v1/streams/\(stream)/partitions/\(partition)" }

    func run() async {
        var backoff = Duration.milliseconds(20)
        var reconciled = false
        var groupsSynced: ContinuousClock.Instant?
        var session: ReplicationSession?
        defer { session?.close() }
        logger.info("Following the leader", metadata: ["leader": "\(leader)", "address": "\(address)", "epoch": "\(epoch)"])
        while !Task.isCancelled {
            do {
                if !reconciled {
                    try await truncateToLeader()
                    reconciled = true
                }
                try await fetchOnce(over: &session)
                if groupsSynced.map({ ContinuousClock.now - $0 >= link.groupSyncInterval }) ?? true {
                    try await copyGroupOffsets()
                    groupsSynced = .now
                }
                backoff = .milliseconds(20)
                continue
            } catch {
                // The leader ends a session after any refusal, and a session that failed may be broken: the next
                // fetch opens a fresh one.
                session?.close()
                session = nil
                switch error {
                case FollowerStop.roleChanged, is CancellationError:
                    return
                case FollowerStop.diverged(let reason):
                    logger.info(
                        "Follower log diverges from the leader's; truncating again", metadata: ["reason": "\(reason)"])
                    reconciled = false
                    continue
                default:
                    logger.debug("Replication fetch failed", metadata: ["leader": "\(leader)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    // MARK: - Truncation (KIP-101/279)

    private func truncateToLeader() async throws {
        while true {
            let mine = try await replica.followerLog(epoch: epoch)
            guard let latest = mine.latestEpoch, mine.logEndOffset > mine.logStartOffset else { return }
            let theirs = try await leaderEpochEnd(for: latest)
            if theirs.epoch < 0 {
                // The leader holds no epoch at or below ours: nothing here is in its log.
                try await replica.truncateAsFollower(to: theirs.endOffset, restart: true, epoch: epoch)
                return
            }
            if theirs.epoch == latest {
                if theirs.endOffset < mine.logEndOffset {
                    try await replica.truncateAsFollower(to: theirs.endOffset, epoch: epoch)
                }
                return
            }
            // The leader never had our newest epoch: everything from our first epoch above its answer diverges, and
            // within its epoch we keep only what it has. Then compare again from the epoch we are left with.
            let ours = try await replica.followerEpochEnd(for: theirs.epoch, epoch: epoch)
            let target: Int64
            if let ours {
                target = ours.epoch == theirs.epoch ? min(ours.endOffset, theirs.endOffset) : ours.endOffset
            } else {
                target = mine.logStartOffset
            }
            try await replica.truncateAsFollower(to: min(target, mine.logEndOffset), epoch: epoch)
        }
    }

    private func leaderEpochEnd(for requested: Int32) async throws -> EpochEndOffset {
        let response = try await send(InternalRequest(method: .get, path: "\(path)/epochs/\(requested)"))
        guard response.status == .ok else { throw refusal(response) }
        struct Answer: Decodable {
            var epoch: Int32
            var endOffset: Int64
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(response.body.readableBytesView))
        return EpochEndOffset(epoch: answer.epoch, endOffset: answer.endOffset)
    }

    // MARK: - Consumer-group offsets

    private func copyGroupOffsets() async throws {
        let response = try await send(InternalRequest(method: .get, path: "\(path)/groups"))
        guard response.status == .ok else { throw refusal(response) }
        struct Answer: Decodable { var groups: [String: Int64] }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(response.body.readableBytesView))
        try await replica.adoptCommittedOffsets(answer.groups, epoch: epoch)
    }

    // MARK: - Fetching

    /// One fetch over the replication session (``ReplicationSession``), opening one first when there is none.
    private func fetchOnce(over session: inout ReplicationSession?) async throws {
        let mine = try await replica.followerLog(epoch: epoch)
        if session == nil {
            switch try await SessionExchange.open(
                client: link.client, address: address, path: "\(path)/replication?replica=\(link.nodeID)",
                epoch: epoch, contentType: SessionWire.replicationContentType, timeout: .seconds(5))
            {
            case .opened(let opened): session = ReplicationSession(opened)
            case .refused(let refused): throw refusal(refused.status, body: refused.body)
            }
        }
        let fetch = SessionWire.Fetch(
            offset: mine.logEndOffset, maxBytes: Int32(clamping: link.fetchBytes),
            waitMilliseconds: Int32(clamping: link.fetchWait.wholeMilliseconds))
        let answer = try await session!.fetch(fetch, grace: .seconds(5))
        switch answer.status.code {
        case 200:
            try await replica.appendAsFollower(answer.body, leaderHighWatermark: answer.head.highWatermark, epoch: epoch)
        case 416:
            if case .integer(let start)? = ProblemDetails.member("firstOffset", in: answer.body) {
                // Retention deleted what we would fetch next: start over at the leader's log start.
                try await replica.truncateAsFollower(to: start, restart: true, epoch: epoch)
            } else {
                throw FollowerStop.diverged(ProblemDetails.detail(in: answer.body) ?? "fetch past the leader's end")
            }
        default:
            throw refusal(answer.status, body: answer.body)
        }
    }

    private func send(_ request: InternalRequest, extraTimeout: Duration = .zero) async throws -> InternalResponse {
        var request = request
        request.headerFields[.hadronEpoch] = String(epoch)
        return try await link.client.execute(request, to: address, timeout: .seconds(5) + extraTimeout)
    }

    private func refusal(_ response: InternalResponse) -> any Error {
        refusal(response.status, body: response.body)
    }

    private func refusal(_ status: HTTPResponse.Status, body: ByteBuffer) -> any Error {
        FollowerStop.failed(
            "the leader answered \(status.code): " + (ProblemDetails.detail(in: body) ?? String(buffer: body)))
    }
}
