import ClusterTopology
import HadronCore

/// Where the gateway sends a partition's requests (DESIGN.md §6).
public enum PartitionRouting: Sendable, Hashable {
    /// To the leader node's advertised address, as the local controller's topology lists it.
    case leaderNode
    /// To the partition's own Service, `{cluster}-{stream}-{p}.{namespace}.svc`, whose selector the operator points
    /// at the leader pod: the gateway needs no pod addresses and no permission to read pods, and the Service is the
    /// one name that always leads to whoever leads.
    case partitionService(cluster: String, namespace: String)

    /// The address for `partition` of `stream`; nil while it has no leader to reach.
    func address(stream: String, partition: PartitionInfo, nodeAddresses: [String: String]) -> String? {
        guard let leader = partition.leader else { return nil }
        switch self {
        case .leaderNode:
            return nodeAddresses[leader]
        case .partitionService(let cluster, let namespace):
            guard partition.state == .online else { return nil }
            return ClusterDNS.partitionServiceAddress(
                cluster: cluster, stream: stream, partition: partition.partition, namespace: namespace)
        }
    }

    /// Whether one address stands for successive leaders. A Service keeps established connections on the pod they
    /// were opened to when its selector moves (connection tracking), so after a leadership change the gateway must
    /// dial it again to reach the new leader.
    var addressOutlivesLeadership: Bool {
        if case .partitionService = self { return true }
        return false
    }
}
