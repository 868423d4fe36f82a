import HadronCore
import Placement
import Testing

@Suite struct LeaderElectionTests {
    let replicas = ["storage-1", "storage-2", "storage-0"]

    func online(leader: String = "storage-1", epoch: Int32 = 3, isr: [String]? = nil) -> PartitionInfo {
        PartitionInfo(
            partition: 0, leader: leader, epoch: epoch, replicas: replicas, isr: isr ?? replicas, state: .online)
    }

    @Test func aLeaderIsFailedOnlyWhenOnlineAndNotAlive() {
        #expect(LeaderElection.leaderFailed(online(), alive: ["storage-2", "storage-0"]))
        #expect(!LeaderElection.leaderFailed(online(), alive: ["storage-1"]))
        #expect(!LeaderElection.leaderFailed(LeaderElection.begin(online()), alive: []))
    }

    @Test func beginningClearsTheLeaderAndKeepsEpochAndISR() {
        let electing = LeaderElection.begin(online())
        #expect(electing.state == .electing)
        #expect(electing.leader == nil)
        #expect(electing.epoch == 3)
        #expect(electing.isr == replicas && electing.replicas == replicas)
    }

    @Test func electsTheFirstLiveISRMemberInReplicaOrder() {
        // storage-2 comes before storage-0 in replica order, though not by name.
        let elected = LeaderElection.complete(
            LeaderElection.begin(online()), alive: ["storage-0", "storage-2"], reportedEpoch: 3)
        #expect(elected.state == .online)
        #expect(elected.leader == "storage-2")
        #expect(elected.isr == ["storage-2", "storage-0"])
        #expect(elected.epoch == 4)
    }

    @Test func skipsLiveReplicasOutsideTheISR() {
        let partition = LeaderElection.begin(online(isr: ["storage-1", "storage-0"]))
        let elected = LeaderElection.complete(partition, alive: ["storage-2", "storage-0"])
        #expect(elected.leader == "storage-0")
        #expect(elected.isr == ["storage-0"])
    }

    @Test func theNewEpochIsAboveEveryReportedEpoch() {
        let elected = LeaderElection.complete(LeaderElection.begin(online()), alive: ["storage-2"], reportedEpoch: 9)
        #expect(elected.epoch == 10)
        let belowCurrent = LeaderElection.complete(
            LeaderElection.begin(online()), alive: ["storage-2"], reportedEpoch: 1)
        #expect(belowCurrent.epoch == 4)
    }

    @Test func withNoLiveISRMemberThePartitionIsUnavailableAndKeepsItsISR() {
        let partition = LeaderElection.begin(online(isr: ["storage-1", "storage-2"]))
        // storage-0 is alive but was not in sync: electing it would lose committed events.
        let outcome = LeaderElection.complete(
            partition, alive: ["storage-0"], reportedEpoch: 3, logEndOffsets: ["storage-0": 100])
        #expect(outcome.state == .unavailable)
        #expect(outcome.leader == nil)
        #expect(outcome.isr == ["storage-1", "storage-2"])
        #expect(outcome.epoch == 3)
        #expect(!LeaderElection.canElect(outcome, alive: ["storage-0"], allowsUncleanElection: false))
    }

    @Test func anUnavailablePartitionIsElectedWhenAnISRMemberReturns() {
        let unavailable = LeaderElection.complete(
            LeaderElection.begin(online(isr: ["storage-1", "storage-2"])), alive: [], reportedEpoch: 3)
        #expect(unavailable.state == .unavailable)
        #expect(LeaderElection.canElect(unavailable, alive: ["storage-2"], allowsUncleanElection: false))
        let elected = LeaderElection.complete(unavailable, alive: ["storage-0", "storage-2"], reportedEpoch: 3)
        #expect(elected.state == .online)
        #expect(elected.leader == "storage-2")
        #expect(elected.isr == ["storage-2"])
        #expect(elected.epoch == 4)
    }

    @Test func anUnplacedPartitionIsNeverElected() {
        let unplaced = PartitionInfo(partition: 0, leader: nil, epoch: 0, replicas: [], isr: [], state: .unavailable)
        #expect(!LeaderElection.canElect(unplaced, alive: ["storage-0"], allowsUncleanElection: true))
    }

    @Test func uncleanElectionPicksTheMostAdvancedLiveReplica() {
        let partition = LeaderElection.begin(online(isr: ["storage-1"]))
        #expect(LeaderElection.canElect(partition, alive: ["storage-2", "storage-0"], allowsUncleanElection: true))
        let elected = LeaderElection.complete(
            partition, alive: ["storage-2", "storage-0"], reportedEpoch: 5,
            logEndOffsets: ["storage-1": 90, "storage-2": 40, "storage-0": 70], allowsUncleanElection: true)
        #expect(elected.state == .online)
        #expect(elected.leader == "storage-0")
        #expect(elected.isr == ["storage-0"])
        #expect(elected.epoch == 6)
    }

    @Test func uncleanElectionBreaksTiesByReplicaOrder() {
        let partition = LeaderElection.begin(online(isr: ["storage-1"]))
        let elected = LeaderElection.complete(
            partition, alive: ["storage-2", "storage-0"], logEndOffsets: ["storage-2": 70, "storage-0": 70],
            allowsUncleanElection: true)
        #expect(elected.leader == "storage-2")
    }

    @Test func uncleanElectionStillPrefersALiveISRMember() {
        let partition = LeaderElection.begin(online(isr: ["storage-1", "storage-0"]))
        let elected = LeaderElection.complete(
            partition, alive: ["storage-2", "storage-0"], logEndOffsets: ["storage-2": 100, "storage-0": 10],
            allowsUncleanElection: true)
        #expect(elected.leader == "storage-0")
        #expect(elected.isr == ["storage-0"])
    }

    @Test func aDeadFollowerLeavesTheISR() {
        let shrunk = LeaderElection.removingDeadFollowers(online(), alive: ["storage-1", "storage-0"])
        #expect(shrunk.isr == ["storage-1", "storage-0"])
        #expect(shrunk.leader == "storage-1" && shrunk.epoch == 3 && shrunk.state == .online)
    }

    @Test func theLeaderNeverLeavesTheISRThatWay() {
        let shrunk = LeaderElection.removingDeadFollowers(online(), alive: [])
        #expect(shrunk.isr == ["storage-1"])
        // Unavailable and Electing partitions keep their last in-sync set for the election.
        let electing = LeaderElection.begin(online())
        #expect(LeaderElection.removingDeadFollowers(electing, alive: []) == electing)
    }

    @Test func aNewPartitionIsLedByItsFirstReplicaWithAllInSync() {
        let first = LeaderElection.firstAssignment(partition: 2, replicas: replicas, reportedEpoch: 0)
        #expect(
            first
                == PartitionInfo(
                    partition: 2, leader: "storage-1", epoch: 1, replicas: replicas, isr: replicas, state: .online))
    }

    @Test func placingAgainWhatWasForgottenElectsTheMostUpToDateReplica() {
        func report(epoch: Int32, end: Int64) -> ReplicaReport {
            ReplicaReport(
                stream: "events", partition: 0, logStartOffset: 0, logEndOffset: end, highWatermark: 0,
                leaderEpoch: epoch)
        }
        // storage-1, a deposed leader, has the longest log but an older epoch: its tail may never have committed.
        let reports = [
            "storage-1": report(epoch: 4, end: 120), "storage-2": report(epoch: 5, end: 100),
            "storage-0": report(epoch: 5, end: 100),
        ]
        let first = LeaderElection.firstAssignment(partition: 0, replicas: replicas, reports: reports, reportedEpoch: 5)
        #expect(first.leader == "storage-2")
        #expect(first.isr == ["storage-2", "storage-0"])
        #expect(first.epoch == 6)
    }
}
