/// What a storage node tells its controller every 500 ms (`POST /v1/nodes/{id}/heartbeat`, docs/internal-api.md):
/// where it can be reached and how far each of its replicas has come. The answer is the ``Topology``.
///
/// It lives here, beside ``Topology``, because the storage tier sends it and the controller decodes it, and the two
/// never import each other: one type keeps both ends of the wire in step.
public struct NodeHeartbeat: Codable, Sendable, Hashable {
    /// The advertised `HOST:PORT` gateways and followers connect to.
    public var address: String
    /// The node's labels, which a Stream's `selector.matchLabels` picks hosts by; absent when it has none.
    public var labels: [String: String]?
    public var partitions: [ReplicaReport]

    public init(address: String, labels: [String: String]? = nil, partitions: [ReplicaReport]) {
        self.address = address
        self.labels = labels
        self.partitions = partitions
    }
}

/// One hosted partition replica's offsets, as the controller needs them to show progress and, with replication,
/// to pick the best surviving replica.
public struct ReplicaReport: Codable, Sendable, Hashable {
    public var stream: String
    public var partition: Int
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    public var highWatermark: Int64
    /// The newest leader epoch recorded in the replica's log (absent for a log that never had one). A controller
    /// that lost its memory (a local controller restarted on an existing data directory) must assign epochs above
    /// it, or the replica's log refuses the new leader's appends as stale.
    public var leaderEpoch: Int32?

    public init(
        stream: String, partition: Int, logStartOffset: Int64, logEndOffset: Int64, highWatermark: Int64,
        leaderEpoch: Int32? = nil
    ) {
        self.stream = stream
        self.partition = partition
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.highWatermark = highWatermark
        self.leaderEpoch = leaderEpoch
    }
}
