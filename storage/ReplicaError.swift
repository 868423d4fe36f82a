/// Why a partition replica refused a request, in the terms the internal API answers with (docs/internal-api.md).
///
/// A struct around a private code (the ServiceLifecycle pattern) so new refusals do not break callers; the HTTP
/// layer maps each kind to its status and problem members, and the replica itself stays free of HTTP.
struct ReplicaError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case notLeader, fenced, invalidRequest, outOfSequence, offsetBelowStart, divergent, staleDelivery, unavailable,
            storageFailure
    }

    private let code: Code
    /// What went wrong, naming the offset, epoch, delivery or file involved.
    let message: String
    /// The replica's current leader epoch, for ``isNotLeader`` and ``isFenced``.
    let epoch: Int32?
    /// The node the replica believes leads the partition, for ``isNotLeader`` (nil when nobody does).
    let leader: String?
    /// The first offset the log still holds, for ``isOffsetBelowStart``.
    let firstOffset: Int64?
    /// The leader's log end, for ``isDivergent``.
    let logEndOffset: Int64?

    private init(
        _ code: Code, _ message: String, epoch: Int32? = nil, leader: String? = nil, firstOffset: Int64? = nil,
        logEndOffset: Int64? = nil
    ) {
        self.code = code
        self.message = message
        self.epoch = epoch
        self.leader = leader
        self.firstOffset = firstOffset
        self.logEndOffset = logEndOffset
    }

    /// This replica does not lead the partition at the caller's epoch (421): the caller refreshes its topology.
    static func notLeader(epoch: Int32, leader: String?, _ message: String) -> ReplicaError {
        ReplicaError(.notLeader, message, epoch: epoch, leader: leader)
    }

    /// The caller's epoch is older than the replica's (409): a deposed leader's view, fenced off.
    static func fenced(epoch: Int32, _ message: String) -> ReplicaError {
        ReplicaError(.fenced, message, epoch: epoch)
    }

    /// The request itself is wrong (400): a batch that fails verification, a bad parameter. Nothing was stored.
    static func invalidRequest(_ message: String) -> ReplicaError { ReplicaError(.invalidRequest, message) }

    /// An idempotent producer's batch does not follow its previous one (a missing sequence, an older producer
    /// epoch): 422, nothing was stored. The gateway starts a new producer epoch and the client may retry.
    static func outOfSequence(_ message: String) -> ReplicaError { ReplicaError(.outOfSequence, message) }

    /// The offset was deleted by retention (416).
    static func offsetBelowStart(firstOffset: Int64, _ message: String) -> ReplicaError {
        ReplicaError(.offsetBelowStart, message, firstOffset: firstOffset)
    }

    /// A follower fetched past the leader's log end (416 with `logEndOffset`): its log diverges from the leader's
    /// and must be truncated by leader epochs first.
    static func divergent(logEndOffset: Int64, _ message: String) -> ReplicaError {
        ReplicaError(.divergent, message, logEndOffset: logEndOffset)
    }

    /// An ack or nack for a delivery that is not the group's current lease (409).
    static func staleDelivery(_ message: String) -> ReplicaError { ReplicaError(.staleDelivery, message) }

    /// The replica cannot take the request now but may soon (503 with Retry-After): disk full, log reopening.
    static func unavailable(_ message: String) -> ReplicaError { ReplicaError(.unavailable, message) }

    /// The storage failed in a way retrying will not fix by itself (500).
    static func storageFailure(_ message: String) -> ReplicaError { ReplicaError(.storageFailure, message) }

    var isNotLeader: Bool { code == .notLeader }
    var isFenced: Bool { code == .fenced }
    var isInvalidRequest: Bool { code == .invalidRequest }
    var isOffsetBelowStart: Bool { code == .offsetBelowStart }
    var isDivergent: Bool { code == .divergent }
    var isOutOfSequence: Bool { code == .outOfSequence }
    var isStaleDelivery: Bool { code == .staleDelivery }
    var isUnavailable: Bool { code == .unavailable }
    var isStorageFailure: Bool { code == .storageFailure }

    var description: String { message }
}
