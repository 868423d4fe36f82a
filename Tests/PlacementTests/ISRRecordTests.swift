import HadronCore
import Placement
import Testing

/// The rule both control planes apply to a leader's ISR report (DESIGN.md §6).
@Suite struct ISRRecordTests {
    let replicas = ["storage-1", "storage-2", "storage-0"]

    func online(isr: [String]) -> PartitionInfo {
        PartitionInfo(partition: 4, leader: "storage-1", epoch: 7, replicas: replicas, isr: isr, state: .online)
    }

    func change(leader: String = "storage-1", epoch: Int32 = 7, isr: [String]) -> ISRChange {
        ISRChange(stream: "orders", partition: 4, leader: leader, epoch: epoch, isr: isr)
    }

    func refusal(_ body: () throws -> PartitionInfo) -> ISRChangeRefusal? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? ISRChangeRefusal
        }
    }

    @Test func aShrinkAndAnExpandAreRecordedInReplicaOrder() throws {
        let shrunk = try ISRRecord.record(
            change(isr: ["storage-1", "storage-2"]), in: online(isr: replicas), isEligible: { _ in false },
            ineligibility: "-")
        #expect(shrunk.isr == ["storage-1", "storage-2"])
        #expect(shrunk.epoch == 7 && shrunk.leader == "storage-1" && shrunk.replicas == replicas)

        let grown = try ISRRecord.record(
            change(isr: ["storage-0", "storage-1", "storage-2"]), in: shrunk, isEligible: { _ in true },
            ineligibility: "-")
        #expect(grown.isr == replicas, "replica order, not the order of the report")
    }

    @Test func onlyTheCurrentLeaderAtTheCurrentEpochIsHeard() {
        let partition = online(isr: replicas)
        for stale in [change(leader: "storage-2", isr: ["storage-2"]), change(epoch: 6, isr: ["storage-1"])] {
            let refused = refusal {
                try ISRRecord.record(stale, in: partition, isEligible: { _ in true }, ineligibility: "-")
            }
            #expect(refused?.reason == .notLeader)
            #expect(refused?.message.contains("its leader is storage-1 at epoch 7") == true)
        }
        var electing = partition
        electing.state = .electing
        #expect(
            refusal { try ISRRecord.record(change(isr: ["storage-1"]), in: electing, isEligible: { _ in true }, ineligibility: "-") }?
                .reason == .notLeader)
    }

    @Test func malformedSetsAreRefused() {
        let partition = online(isr: replicas)
        for isr in [["storage-2"], ["storage-1", "storage-9"], ["storage-1", "storage-1"]] {
            #expect(
                refusal { try ISRRecord.record(change(isr: isr), in: partition, isEligible: { _ in true }, ineligibility: "-") }?
                    .reason == .invalid, "\(isr)")
        }
        #expect(
            refusal { try ISRRecord.record(change(isr: ["storage-1"]), in: nil, isEligible: { _ in true }, ineligibility: "-") }?
                .reason == .unknownPartition)
    }

    @Test func aReplicaTheControllerConsidersFailedCannotRejoin() {
        // storage-0 was removed by the controller itself; the leader has not seen that yet and reports it back.
        let refused = refusal {
            try ISRRecord.record(
                change(isr: replicas), in: online(isr: ["storage-1", "storage-2"]),
                isEligible: { $0 != "storage-0" }, ineligibility: "its pod is not Ready")
        }
        #expect(refused?.reason == .ineligibleReplica)
        #expect(refused?.message == "storage-0 cannot join the in-sync set of orders/4: its pod is not Ready")
        // A member that stays in the set is not judged again.
        #expect(
            (try? ISRRecord.record(
                change(isr: ["storage-1", "storage-2"]), in: online(isr: ["storage-1", "storage-2"]),
                isEligible: { _ in false }, ineligibility: "-")) != nil)
    }
}
