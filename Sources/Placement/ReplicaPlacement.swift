/// Where a stream's partition replicas go: pure decisions, no I/O (DESIGN.md §2), so the local controller and the
/// Kubernetes operator place identically and placement is tested without either.
public enum ReplicaPlacement {
    /// A storage node that may host replicas.
    public struct Candidate: Sendable, Hashable {
        public var id: String
        public var labels: [String: String]

        public init(id: String, labels: [String: String] = [:]) {
            self.id = id
            self.labels = labels
        }
    }

    /// Why replicas cannot be placed yet.
    public struct Shortage: Error, Sendable, Hashable, CustomStringConvertible {
        public let needed: Int
        public let eligible: Int
        public var description: String {
            "needs \(needed) eligible storage nodes for its replication factor, has \(eligible)"
        }
    }

    /// Replica lists for `partitions` partitions, the first entry of each the preferred leader.
    ///
    /// Nodes matching `selector` are ordered by id; partition `p` takes `replicationFactor` consecutive nodes starting
    /// at `p mod n`, so replicas and preferred leaders spread evenly and the same inputs always give the same answer.
    /// Partitions listed in `existing` keep their replicas (placement never moves data on its own); only new
    /// partitions are placed.
    public static func place(
        partitions: Int, replicationFactor: Int, selector: [String: String] = [:], candidates: [Candidate],
        existing: [[String]] = []
    ) throws(Shortage) -> [[String]] {
        let eligible = candidates
            .filter { candidate in selector.allSatisfy { candidate.labels[$0.key] == $0.value } }
            .map(\.id)
            .sorted()
        var result = Array(existing.prefix(partitions))
        guard result.count < partitions else { return result }
        guard eligible.count >= replicationFactor else {
            throw Shortage(needed: replicationFactor, eligible: eligible.count)
        }
        for partition in result.count..<partitions {
            result.append((0..<replicationFactor).map { eligible[(partition + $0) % eligible.count] })
        }
        return result
    }
}
