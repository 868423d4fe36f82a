import Testing

@testable import HadronStorage

/// The leader's replication rules, deterministically: high watermark movement, minimum ISR, shrink only once
/// recorded (KIP-497), expansion counting at once.
@Suite struct ReplicationStateTests {
    private let start = ContinuousClock.now
    private let lag = Duration.seconds(10)

    private func threeReplicas(isr: [String] = ["a", "b", "c"], minimum: Int = 2, end: Int64 = 0) -> ReplicationState {
        ReplicationState(
            leader: "a", epoch: 3, replicas: ["a", "b", "c"], isr: isr, minInSyncReplicas: minimum,
            leaderLogEnd: end, highWatermark: 0, lagLimit: lag, now: start)
    }

    @Test func highWatermarkIsTheMinimumOverTheISRAndNeverMovesBack() {
        var state = threeReplicas()
        let moved1 = state.leaderStored(upTo: 10)
        #expect(!moved1, "followers have not fetched yet")
        let moved2 = state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: start)
        #expect(!moved2)
        let moved3 = state.followerFetched("c", offset: 6, leaderLogEnd: 10, at: start)
        #expect(moved3)
        #expect(state.highWatermark == 6)
        let moved4 = state.followerFetched("c", offset: 10, leaderLogEnd: 10, at: start)
        #expect(moved4)
        #expect(state.highWatermark == 10)
        // A follower asking from lower down (it truncated) does not take the high watermark back.
        let moved5 = state.followerFetched("c", offset: 4, leaderLogEnd: 10, at: start)
        #expect(!moved5)
        #expect(state.highWatermark == 10)
        // The leader's own stored end bounds it too.
        let moved6 = state.followerFetched("b", offset: 12, leaderLogEnd: 10, at: start)
        #expect(!moved6)
        #expect(state.highWatermark == 10)
    }

    @Test func singleReplicaCommitsWhatTheLeaderStored() {
        var state = ReplicationState(
            leader: "a", epoch: 1, replicas: ["a"], isr: ["a"], minInSyncReplicas: 1, leaderLogEnd: 5,
            highWatermark: 0, lagLimit: lag, now: start)
        #expect(state.highWatermark == 5)
        let moved7 = state.leaderStored(upTo: 9)
        #expect(moved7)
        #expect(state.highWatermark == 9)
    }

    @Test func nothingCommitsBelowTheMinimumInSync() {
        var state = threeReplicas(isr: ["a"], minimum: 2, end: 5)
        #expect(!state.hasMinimumInSync)
        #expect(state.highWatermark == 0)
        let moved8 = state.leaderStored(upTo: 8)
        #expect(!moved8)
        // "b" catches up and is added: it counts at once, so commits resume.
        let moved9 = state.followerFetched("b", offset: 8, leaderLogEnd: 8, at: start)
        #expect(moved9)
        #expect(state.hasMinimumInSync && state.highWatermark == 8)
        #expect(state.proposedISR == ["a", "b"])
    }

    @Test func aLaggingFollowerCountsUntilTheRecordDropsIt() {
        var state = threeReplicas(end: 10)
        state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: start)
        state.followerFetched("c", offset: 4, leaderLogEnd: 10, at: start)
        #expect(state.highWatermark == 4)
        // "b" keeps up; "c" never catches up again.
        let later = start + .seconds(11)
        state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: later)
        let moved10 = state.checkLag(at: later)
        #expect(!moved10)
        #expect(state.proposedISR == ["a", "b"])
        #expect(state.highWatermark == 4, "the shrink is not recorded yet (KIP-497)")
        let moved11 = state.record(replicas: ["a", "b", "c"], isr: ["a", "b"], minInSyncReplicas: 2, at: later)
        #expect(moved11)
        #expect(state.highWatermark == 10)
        #expect(state.proposedISR == nil)
    }

    @Test func caughtUpFollowerRejoinsAndStaysWhileItKeepsUp() {
        var state = threeReplicas(isr: ["a", "b"], end: 20)
        state.followerFetched("b", offset: 20, leaderLogEnd: 20, at: start)
        #expect(state.highWatermark == 20)
        // Behind the high watermark: not added.
        state.followerFetched("c", offset: 12, leaderLogEnd: 20, at: start)
        #expect(state.proposedISR == nil)
        // At the high watermark: added, proposed, counted.
        state.followerFetched("c", offset: 20, leaderLogEnd: 20, at: start + .seconds(1))
        #expect(state.proposedISR == ["a", "b", "c"])
        state.leaderStored(upTo: 25)
        state.followerFetched("b", offset: 25, leaderLogEnd: 25, at: start + .seconds(2))
        #expect(state.highWatermark == 20, "the added follower holds commits back until it fetches")
        state.followerFetched("c", offset: 25, leaderLogEnd: 25, at: start + .seconds(2))
        #expect(state.highWatermark == 25)
    }

    @Test func anAdditionThatFallsBehindStopsCountingAtOnce() {
        var state = threeReplicas(isr: ["a", "b"], end: 10)
        state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: start)
        state.followerFetched("c", offset: 10, leaderLogEnd: 10, at: start)
        #expect(state.proposedISR == ["a", "b", "c"])
        state.leaderStored(upTo: 30)
        state.followerFetched("b", offset: 30, leaderLogEnd: 30, at: start + .seconds(11))
        #expect(state.highWatermark == 10)
        // "c" was never recorded, so dropping it needs no record.
        let moved12 = state.checkLag(at: start + .seconds(11))
        #expect(moved12)
        #expect(state.highWatermark == 30)
        #expect(state.proposedISR == nil)
    }

    @Test func followerCaughtUpToThePreviousFetchEndIsNotLagging() {
        var state = threeReplicas(isr: ["a", "b"], end: 10)
        // Each fetch reaches the log end the leader had at the previous fetch: steady state under load.
        state.followerFetched("b", offset: 5, leaderLogEnd: 10, at: start + .seconds(5))
        state.followerFetched("b", offset: 10, leaderLogEnd: 15, at: start + .seconds(9))
        state.followerFetched("b", offset: 15, leaderLogEnd: 20, at: start + .seconds(14))
        state.checkLag(at: start + .seconds(18))
        #expect(state.proposedISR == nil)
        #expect(state.removals.isEmpty)
    }

    @Test func unknownNodesAndTheRecordShapeTheSets() {
        var state = threeReplicas(isr: ["a", "b", "c"], end: 10)
        let moved13 = state.followerFetched("z", offset: 10, leaderLogEnd: 10, at: start)
        #expect(!moved13)
        // A record that moves "c" out of the replicas stops waiting for it.
        state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: start)
        let moved14 = state.record(replicas: ["a", "b"], isr: ["a", "b", "c"], minInSyncReplicas: 2, at: start)
        #expect(moved14)
        #expect(state.highWatermark == 10)
        #expect(state.highWatermarkSet == ["a", "b"])
    }
}

extension ReplicationStateTests {
    @Test func aFollowerParkedAtTheLogEndIsInSyncHoweverLongItWaits() {
        var state = threeReplicas(isr: ["a", "b", "c"], end: 10)
        state.followerFetched("b", offset: 10, leaderLogEnd: 10, at: start)
        state.followerFetched("c", offset: 10, leaderLogEnd: 10, at: start)
        // Nothing was appended for longer than the lag limit; both fetches are parked at the leader's end.
        state.checkLag(at: start + .seconds(30))
        #expect(state.removals.isEmpty && state.proposedISR == nil)
    }
}
