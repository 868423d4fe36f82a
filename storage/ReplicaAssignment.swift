import HadronCore
import SegmentLog

/// What the topology says about one partition for the replica on this node: its role at the current epoch and
/// the stream settings its log must honour (nil when the topology no longer names the stream: keep the current).
struct ReplicaAssignment: Sendable, Hashable {
    var role: ReplicaRole
    var settings: StreamSettings?

    /// The assignment of `partition` of `stream` to `nodeID`: leader only while the partition is `Online` with
    /// this node as its leader; during `Electing` even the old leader stops taking writes, so the controller's
    /// next leader starts from a log nobody appends to behind its back.
    init(stream: StreamTopology, partition: PartitionInfo, nodeID: String) {
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
    }

    init(role: ReplicaRole, settings: StreamSettings?) {
        self.role = role
        self.settings = settings
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
