import HadronCore
import HadronOperator
import Placement
import Testing

/// The pure failover decision: which pods failed by the clock, the two phases, and when to look again.
@Suite struct StreamFailoverTests {
    static let start = ContinuousClock.now
    static let timeout = Duration.seconds(5)

    static func online(_ partition: Int, _ replicas: [String], leader: String? = nil, epoch: Int32 = 1) -> PartitionInfo
    {
        PartitionInfo(
            partition: partition, leader: leader ?? replicas[0], epoch: epoch, replicas: replicas, isr: replicas,
            state: .online)
    }

    static func decide(
        _ partitions: [PartitionInfo], _ health: [String: StreamFailover.PodHealth], after elapsed: Duration,
        unclean: Bool = false
    ) -> StreamFailover {
        StreamFailover(
            partitions: partitions, health: health, now: start + elapsed, timeout: timeout,
            allowsUncleanElection: unclean)
    }

    @Test func aLeaderFailsOnlyOnceItsTimeoutExpires() {
        let partitions = [Self.online(0, ["a", "b"]), Self.online(1, ["b", "a"])]
        let health: [String: StreamFailover.PodHealth] = ["a": .notReady(since: Self.start), "b": .ready]

        let early = Self.decide(partitions, health, after: .seconds(4))
        #expect(!early.beginsElection && early.assigned == partitions)
        #expect(early.nextDeadline == Self.start + Self.timeout)

        let late = Self.decide(partitions, health, after: .seconds(5))
        #expect(late.beginsElection && late.nextDeadline == nil)
        #expect(late.electing[0] == LeaderElection.begin(partitions[0]) && late.electing[1] == partitions[1])
        #expect(
            late.assigned == [
                PartitionInfo(partition: 0, leader: "b", epoch: 2, replicas: ["a", "b"], isr: ["b"], state: .online),
                PartitionInfo(partition: 1, leader: "b", epoch: 1, replicas: ["b", "a"], isr: ["b"], state: .online),
            ])
    }

    @Test func aNotReadyFollowerIsNotElectedAndAnUnavailablePartitionReturnsWithItsReplica() {
        let partitions = [Self.online(0, ["a", "b"])]
        // b only just went not ready: it keeps its ISR place but cannot lead, so nobody can.
        let lost = Self.decide(
            partitions, ["a": .notReady(since: Self.start), "b": .notReady(since: Self.start + .seconds(4))],
            after: .seconds(6))
        #expect(lost.assigned[0].state == .unavailable && lost.assigned[0].leader == nil)
        #expect(lost.assigned[0].epoch == 1 && lost.assigned[0].isr == ["a", "b"])
        // The follower's own timeout is no reason for another pass: the partition is not Online.
        #expect(lost.nextDeadline == nil)

        let back = Self.decide(lost.assigned, ["a": .notReady(since: Self.start), "b": .ready], after: .seconds(20))
        #expect(!back.beginsElection)
        #expect(
            back.assigned[0]
                == PartitionInfo(partition: 0, leader: "b", epoch: 2, replicas: ["a", "b"], isr: ["b"], state: .online))
    }

    @Test func uncleanElectionOnlyWhenTheStreamOptsIn() {
        var partition = Self.online(0, ["a", "b"])
        partition.isr = ["a"]
        let health: [String: StreamFailover.PodHealth] = ["a": .notReady(since: Self.start), "b": .ready]
        #expect(Self.decide([partition], health, after: .seconds(5)).assigned[0].state == .unavailable)
        #expect(
            Self.decide([partition], health, after: .seconds(5), unclean: true).assigned[0]
                == PartitionInfo(partition: 0, leader: "b", epoch: 2, replicas: ["a", "b"], isr: ["b"], state: .online))
    }
}
