import HadronCore
import SegmentLog

/// What the topology says about one partition for the replica on this node: its role at the current epoch, the
/// stream settings its log must honour (nil when the topology no longer names the stream: keep the current), and
/// the replication record — replicas, in-sync set, minimum, and where a follower finds its leader.
struct ReplicaAssignment: Sendable, Hashable {
    var role: ReplicaRole
    var settings: StreamSettings?
    /// The partition's replicas and the in-sync set the controller has on record.
    var replicas: [String]
    var isr: [String]
    var minInSyncReplicas: Int
    /// The leader's advertised `HOST:PORT`, which a follower fetches from; nil when the topology has none.
    var leaderAddress: String?

    /// The assignment of `partition` of `stream` to `nodeID`: leader only while the partition is `Online` with
    /// this node as its leader; during `Electing` even the old leader stops taking writes, so the controller's
    /// next leader starts from a log nobody appends to behind its back.
    init(stream: StreamTopology, partition: PartitionInfo, nodeID: String, nodes: [NodeInfo]) {
        let kind: ReplicaRole.Kind
        if !partition.replicas.contains(nodeID) {
            kind = .unassigned
        } else if partition.state == .online && partition.leader == nodeID {
            kind = .leader
        } else {
            kind = .follower
        }
        self.role = ReplicaRole(kind: kind, epoch: partition.epoch, leader: partition.leader)
        self.settings = StreamSettings(durability: stream.durability, retention: stream.retention)
        self.replicas = partition.replicas
        self.isr = partition.isr
        self.minInSyncReplicas = stream.minInSyncReplicas
        self.leaderAddress = partition.leader.flatMap { leader in nodes.first { $0.id == leader }?.address }
    }

    /// An assignment made directly (tests, and a replica the topology no longer names). Without a replica list the
    /// leader is its partition's only replica.
    init(
        role: ReplicaRole, settings: StreamSettings?, replicas: [String]? = nil, isr: [String]? = nil,
        minInSyncReplicas: Int = 1, leaderAddress: String? = nil
    ) {
        self.role = role
        self.settings = settings
        self.replicas = replicas ?? role.leader.map { [$0] } ?? []
        self.isr = isr ?? self.replicas
        self.minInSyncReplicas = minInSyncReplicas
        self.leaderAddress = leaderAddress
    }
}

/// The per-stream settings a replica's log is opened with (DESIGN.md §7).
struct StreamSettings: Sendable, Hashable {
    var durability: Durability
    var retention: RetentionSpec

    /// `fsync: always` with no retention: what a log recovered before any topology arrived is opened with. It is the
    /// safest policy; the first topology reopens the log with the stream's own settings if they differ.
    static let recovery = StreamSettings(durability: .always, retention: RetentionSpec())

    /// The log configuration for these settings.
    ///
    /// `replicated` flushes within 100 ms (Redpanda's bounded write caching); `always` syncs before every
    /// acknowledgement. With an age limit, segments also roll at a tenth of it (at least a second), so a quiet
    /// partition's data outlives `maxAge` by at most about a tenth instead of forever in a never-full segment.
    func logConfiguration(segmentBytes: Int64) -> LogConfiguration {
        let maxAge = retention.maxAgeMilliseconds.map { Duration.milliseconds($0) }
        return LogConfiguration(
            segmentBytes: segmentBytes,
            segmentAge: maxAge.map { max($0 / 10, .seconds(1)) },
            durability: durability == .always ? .always : .interval(milliseconds: 100),
            retention: RetentionPolicy(maxAge: maxAge, maxBytes: retention.maxBytes)
        )
    }
}
