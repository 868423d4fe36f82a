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
        try await withThrowingDiscardingTaskGroup { group in
            let updates = await watch.updates()
            group.addTask { try await self.watch.run() }
            // A child too, so that a failing watch cancels it and ends the group.
            group.addTask {
                for await topology in updates { deliver(topology) }
            }
        }
    }
}
