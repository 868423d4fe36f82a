import Placement
import Testing

@Suite struct ReplicaPlacementTests {
    let nodes = ["storage-2", "storage-0", "storage-1"].map { ReplicaPlacement.Candidate(id: $0) }

    @Test func spreadsReplicasAndLeadersEvenly() throws {
        let placed = try ReplicaPlacement.place(partitions: 6, replicationFactor: 3, candidates: nodes)
        #expect(placed.count == 6)
        for replicas in placed { #expect(Set(replicas).count == 3) }
        let leaders = placed.map { $0[0] }
        for node in ["storage-0", "storage-1", "storage-2"] { #expect(leaders.filter { $0 == node }.count == 2) }
        #expect(placed[0] == ["storage-0", "storage-1", "storage-2"])
        #expect(placed[1] == ["storage-1", "storage-2", "storage-0"])
    }

    @Test func isDeterministicWhateverTheCandidateOrder() throws {
        let a = try ReplicaPlacement.place(partitions: 5, replicationFactor: 2, candidates: nodes)
        let b = try ReplicaPlacement.place(partitions: 5, replicationFactor: 2, candidates: nodes.reversed())
        #expect(a == b)
    }

    @Test func keepsExistingPartitionsAndPlacesOnlyNewOnes() throws {
        let existing = [["storage-2"], ["storage-2"]]
        let placed = try ReplicaPlacement.place(partitions: 4, replicationFactor: 1, candidates: nodes, existing: existing)
        #expect(Array(placed.prefix(2)) == existing)
        #expect(placed[2] == ["storage-2"] && placed[3] == ["storage-0"])
    }

    @Test func honoursTheSelector() throws {
        let labelled = [
            ReplicaPlacement.Candidate(id: "a", labels: ["zone": "eu-1a"]),
            ReplicaPlacement.Candidate(id: "b", labels: ["zone": "eu-1b"]),
            ReplicaPlacement.Candidate(id: "c", labels: ["zone": "eu-1a"]),
        ]
        let placed = try ReplicaPlacement.place(
            partitions: 4, replicationFactor: 2, selector: ["zone": "eu-1a"], candidates: labelled)
        for replicas in placed { #expect(Set(replicas) == ["a", "c"]) }
    }

    @Test func refusesWithTooFewEligibleNodes() {
        do {
            _ = try ReplicaPlacement.place(partitions: 1, replicationFactor: 4, candidates: nodes)
            Issue.record("placed 4 replicas on 3 nodes")
        } catch {
            #expect(error.needed == 4 && error.eligible == 3)
            #expect(error.description.contains("needs 4"))
        }
    }
}
