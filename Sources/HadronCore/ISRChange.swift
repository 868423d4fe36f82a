/// A partition leader's request to record a new in-sync replica set (DESIGN.md §6):
/// `POST /v1/streams/{stream}/partitions/{p}/isr` on the local controller, the same report the operator takes.
///
/// The controller records it only when `leader` and `epoch` are still the partition's current ones, so a deposed
/// leader cannot rewrite the ISR of its successor. A shrink counts for the leader's high watermark only once the
/// controller has recorded it (the topology shows it): the controller may elect any replica on its record as in
/// sync (Kafka's KIP-497), so a replica must stay in the high-watermark set until the record drops it.
public struct ISRChange: Codable, Sendable, Hashable {
    public var stream: String
    public var partition: Int
    /// The node asking: it must be the partition's leader at `epoch`.
    public var leader: String
    public var epoch: Int32
    /// The complete new in-sync set; it contains the leader and only replicas of the partition.
    public var isr: [String]

    public init(stream: String, partition: Int, leader: String, epoch: Int32, isr: [String]) {
        self.stream = stream
        self.partition = partition
        self.leader = leader
        self.epoch = epoch
        self.isr = isr
    }
}

/// Why a controller refused to record an ISR report.
public struct ISRChangeRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The stream or partition does not exist (404).
        case unknownPartition
        /// The sender does not lead the partition at that epoch, or the partition is not `Online` (409).
        case notLeader
        /// The set is malformed: no leader in it, or a node that is not a replica (400).
        case invalid
        /// The set adds a replica the controller considers failed (409): it removed that replica itself.
        case ineligibleReplica
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}
