public import ClusterTopology
public import HadronCore

/// The topology source of `hadron gateway --kubernetes`: the cluster's Stream custom resources, whose status the
/// operator keeps (DESIGN.md §6). Pair it with ``PartitionRouting/partitionService(cluster:namespace:)``.
public struct KubernetesTopologyFollower: TopologySource {
    private let watch: ClusterTopologyWatch

    public init(watch: ClusterTopologyWatch) {
        self.watch = watch
    }

    public func follow(_ deliver: @escaping @Sendable (Topology) -> Void) async throws {
        try await watch.follow { deliver($0) }
    }
}
