import ClusterTopology
public import HadronCore
public import KubeAPI
public import Placement

/// What a Stream's partitions should be, decided from its spec, its recorded status and the
/// storage pods that may host it — pure, so the rules are tested without an API server.
///
/// The recorded status is the source of truth for what exists: placement never moves a placed
/// partition and epochs only grow, so every later decision (failover included) starts from it.
public struct StreamPlan: Sendable, Equatable {
    /// Every partition, placed or not, in partition order.
    public var partitions: [PartitionInfo]
    /// Why some partitions are not placed yet (fewer eligible storage pods than the replication factor).
    public var shortage: ReplicaPlacement.Shortage?
    /// The spec asks for fewer partitions than exist: refused (keys map to partitions by count).
    public var refusedShrink: (requested: Int, existing: Int)?

    public static func == (lhs: StreamPlan, rhs: StreamPlan) -> Bool {
        lhs.partitions == rhs.partitions && lhs.shortage == rhs.shortage
            && lhs.refusedShrink?.requested == rhs.refusedShrink?.requested
            && lhs.refusedShrink?.existing == rhs.refusedShrink?.existing
    }

    /// - Parameters:
    ///   - recorded: `status.partitions` as last written.
    ///   - candidates: the cluster's storage pods that are ready (ids are pod names).
    public init(
        spec: HadronStream.Spec, recorded: [HadronStream.PartitionStatus], candidates: [ReplicaPlacement.Candidate]
    ) {
        let requested = max(1, spec.partitions ?? 1)
        let existing = (recorded.map(\.partition).max() ?? -1) + 1
        let count = max(requested, existing)
        refusedShrink = requested < existing ? (requested, existing) : nil

        var partitions = (0..<count).map {
            PartitionInfo(partition: $0, leader: nil, epoch: 0, replicas: [], isr: [], state: .unavailable)
        }
        for entry in recorded where (0..<count).contains(entry.partition) {
            partitions[entry.partition] = PartitionInfo(status: entry)
        }

        let placed = Array(partitions.prefix { !$0.replicas.isEmpty }.map(\.replicas))
        if placed.count < count {
            let eligible = candidates.filter { Self.matches(spec.selector?.matchExpressions ?? [], $0.labels) }
            do {
                let replicas = try ReplicaPlacement.place(
                    partitions: count, replicationFactor: max(1, spec.replicationFactor ?? 1),
                    selector: spec.selector?.matchLabels ?? [:], candidates: eligible, existing: placed)
                for partition in placed.count..<count where partitions[partition].replicas.isEmpty {
                    partitions[partition] = LeaderElection.firstAssignment(
                        partition: partition, replicas: replicas[partition])
                }
            } catch {
                shortage = error
            }
        }
        self.partitions = partitions
    }

    /// Every partition is `Online` with a leader.
    public var isOnline: Bool { partitions.allSatisfy { $0.state == .online && $0.leader != nil } }

    /// The status entry of `partition`, naming its Service.
    public static func partitionStatus(_ partition: PartitionInfo, service: String) -> HadronStream.PartitionStatus {
        HadronStream.PartitionStatus(
            partition: partition.partition, leader: partition.leader, epoch: Int(partition.epoch),
            replicas: partition.replicas, isr: partition.isr, state: partition.state.rawValue, service: service)
    }

    /// `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`) against a pod's labels;
    /// `matchLabels` is `ReplicaPlacement`'s own selector.
    static func matches(_ requirements: [LabelSelectorSpec.Requirement], _ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            let value = labels[requirement.key]
            let values = requirement.values ?? []
            switch requirement.operator {
            case "In": return value.map(values.contains) ?? false
            case "NotIn": return !(value.map(values.contains) ?? false)
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            default: return false
            }
        }
    }
}
