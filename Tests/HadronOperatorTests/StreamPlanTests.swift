import HadronCore
import HadronOperator
import KubeAPI
import Placement
import Testing

/// The pure partition decisions of the Stream reconciler.
@Suite struct StreamPlanTests {
    static func pods(_ count: Int, labels: (Int) -> [String: String] = { _ in [:] }) -> [ReplicaPlacement.Candidate] {
        (0..<count).map { ReplicaPlacement.Candidate(id: "events-storage-\($0)", labels: labels($0)) }
    }

    static func recorded(_ plan: StreamPlan) -> [HadronStream.PartitionStatus] {
        plan.partitions.map { StreamPlan.partitionStatus($0, service: "s-\($0.partition)") }
    }

    @Test func placesLikeTheLocalControllerAndGrowsWithoutMovingAnything() {
        let spec = HadronStream.Spec(cluster: "events", partitions: 2, replicationFactor: 2)
        let first = StreamPlan(spec: spec, recorded: [], candidates: Self.pods(3))
        #expect(
            first.partitions == [
                LeaderElection.firstAssignment(partition: 0, replicas: ["events-storage-0", "events-storage-1"]),
                LeaderElection.firstAssignment(partition: 1, replicas: ["events-storage-1", "events-storage-2"]),
            ])
        #expect(first.shortage == nil && first.refusedShrink == nil && first.isOnline)

        // Recorded partitions keep what the status says (a later epoch, another leader), even with other pods.
        var recorded = Self.recorded(first)
        recorded[0].epoch = 7
        recorded[0].leader = "events-storage-1"
        var grown = spec
        grown.partitions = 3
        let second = StreamPlan(spec: grown, recorded: recorded, candidates: Self.pods(4))
        #expect(second.partitions[0].epoch == 7 && second.partitions[0].leader == "events-storage-1")
        #expect(second.partitions[1] == first.partitions[1])
        #expect(second.partitions[2].replicas == ["events-storage-2", "events-storage-3"])
    }

    @Test func aShrinkIsRefusedAndEveryPartitionKept() {
        let spec = HadronStream.Spec(cluster: "events", partitions: 4, replicationFactor: 1)
        let placed = StreamPlan(spec: spec, recorded: [], candidates: Self.pods(2))
        var shrunk = spec
        shrunk.partitions = 2
        let plan = StreamPlan(spec: shrunk, recorded: Self.recorded(placed), candidates: Self.pods(2))
        #expect(plan.partitions == placed.partitions)
        #expect(plan.refusedShrink?.requested == 2 && plan.refusedShrink?.existing == 4)
    }

    @Test func tooFewEligiblePodsLeavePartitionsUnplaced() {
        var spec = HadronStream.Spec(cluster: "events", partitions: 2, replicationFactor: 2)
        spec.selector = LabelSelectorSpec(
            matchLabels: ["zone": "a"],
            matchExpressions: [.init(key: "disk", operator: "In", values: ["ssd"])])
        let candidates = Self.pods(4) { ordinal in
            ["zone": ordinal < 3 ? "a" : "b", "disk": ordinal == 1 ? "hdd" : "ssd"]
        }
        // Eligible: 0 and 2 (1 has the wrong disk, 3 the wrong zone).
        let plan = StreamPlan(spec: spec, recorded: [], candidates: candidates)
        #expect(
            plan.partitions.map(\.replicas) == [
                ["events-storage-0", "events-storage-2"], ["events-storage-2", "events-storage-0"],
            ])

        spec.replicationFactor = 3
        let short = StreamPlan(spec: spec, recorded: [], candidates: candidates)
        #expect(short.shortage?.needed == 3 && short.shortage?.eligible == 2)
        #expect(short.partitions.allSatisfy { $0.state == .unavailable && $0.replicas.isEmpty && $0.leader == nil })
        #expect(!short.isOnline)
    }

    @Test func partitionServiceNames() {
        #expect(
            ClusterNames.partitionService(cluster: "events", stream: "orders.eu", partition: 3) == "events-orders-eu-3")
        #expect(ClusterNames.isValidServiceName("events-orders-eu-3"))
        #expect(!ClusterNames.isValidServiceName("0events"))
        #expect(!ClusterNames.isValidServiceName(String(repeating: "a", count: 64)))
        #expect(ClusterNames.storageOrdinal("events-storage-12", cluster: "events") == 12)
        #expect(ClusterNames.storageOrdinal("events-storage-012", cluster: "events") == nil)
        #expect(ClusterNames.storageOrdinal("other-storage-1", cluster: "events") == nil)
    }
}
