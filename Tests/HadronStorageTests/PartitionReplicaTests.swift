import HadronCore
import HadronTestSupport
import Testing

@testable import HadronStorage

/// A partition replica driven directly: appends and the high watermark, epoch fencing, long polls, consumer groups.
@Suite struct PartitionReplicaTests {
    @Test func appendCommitsAndFetchReturnsTheStampedBytes() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory, epoch: 3)
        #expect(replica.highWatermark.offset == 0)

        let first = StorageTestBatch.events(3)
        let appended = try await replica.append(first, callerEpoch: 3)
        #expect(appended.firstOffset == 0 && appended.lastOffset == 2)
        #expect(replica.highWatermark.offset == 3)

        let second = StorageTestBatch.events(2, tag: "f")
        let next = try await replica.append(second, callerEpoch: 3)
        #expect(next.firstOffset == 3 && next.lastOffset == 4)
        #expect(replica.highWatermark.offset == 5)

        let fetched = try await replica.fetch(from: 0, maxBytes: 1 << 20, wait: .zero, callerEpoch: 3)
        let expected =
            StorageTestBatch.stamped(first, baseOffset: 0, epoch: 3)
            + StorageTestBatch.stamped(second, baseOffset: 3, epoch: 3)
        #expect(fetched.batches == expected)
        #expect(fetched.highWatermark == 5 && fetched.logEndOffset == 5 && fetched.logStartOffset == 0)

        // From inside the second batch: whole batches, starting with the one holding the offset.
        let fromMiddle = try await replica.fetch(from: 4, maxBytes: 1 << 20, wait: .zero, callerEpoch: nil)
        #expect(fromMiddle.batches == StorageTestBatch.stamped(second, baseOffset: 3, epoch: 3))
        // Past the high watermark: nothing, not an error.
        let pastEnd = try await replica.fetch(from: 9, maxBytes: 1 << 20, wait: .zero, callerEpoch: nil)
        #expect(pastEnd.batches.isEmpty && pastEnd.highWatermark == 5)
        await replica.close()
    }

    @Test func recoveredReplicaServesNothingUntilAssigned() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await PartitionReplica.open(
            stream: "events", partition: 0, directory: directory.file("events/0"), settings: .recovery,
            configuration: .init(), link: testLink, logger: quietLogger)
        let error = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(StorageTestBatch.events(1), callerEpoch: 0)
        }
        #expect(error?.isNotLeader == true)

        let followerRole = ReplicaRole(kind: .follower, epoch: 2, leader: "storage-1")
        await replica.apply(ReplicaAssignment(role: followerRole, settings: .recovery))
        let refused = await #expect(throws: ReplicaError.self) {
            _ = try await replica.fetch(from: 0, maxBytes: 100, wait: .zero, callerEpoch: 2)
        }
        #expect(refused?.isNotLeader == true)
        #expect(refused?.epoch == 2 && refused?.leader == "storage-1")
        #expect(await replica.report().logEndOffset == 0)
        await replica.close()
    }

    @Test func olderEpochIsFencedAndNewerEpochIsMisdirected() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory, epoch: 3)
        let fenced = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(StorageTestBatch.events(1), callerEpoch: 2)
        }
        #expect(fenced?.isFenced == true && fenced?.epoch == 3)
        let ahead = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(StorageTestBatch.events(1), callerEpoch: 4)
        }
        #expect(ahead?.isNotLeader == true && ahead?.epoch == 3 && ahead?.leader == "storage-0")
        #expect(await replica.report().logEndOffset == 0)

        // A stale topology cannot take leadership back to an older epoch.
        let stale = ReplicaAssignment(
            role: ReplicaRole(kind: .follower, epoch: 2, leader: "storage-1"), settings: nil)
        #expect(await replica.apply(stale) == false)
        #expect(await replica.role == ReplicaRole(kind: .leader, epoch: 3, leader: "storage-0"))

        // Losing leadership at a newer epoch refuses appends at the old one with 409, at the new one with 421.
        await replica.apply(
            ReplicaAssignment(role: ReplicaRole(kind: .follower, epoch: 4, leader: "storage-1"), settings: nil))
        let deposed = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(StorageTestBatch.events(1), callerEpoch: 4)
        }
        #expect(deposed?.isNotLeader == true && deposed?.leader == "storage-1")
        await replica.close()
    }

    @Test func fetchCrossesSegmentsWithinItsByteBudget() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory, configuration: .init(segmentBytes: 512))
        var stored: [[UInt8]] = []
        for index in 0..<6 {
            let batch = StorageTestBatch.events(2, tag: "s\(index)", payloadSize: 64)
            let appended = try await replica.append(batch, callerEpoch: 1)
            stored.append(StorageTestBatch.stamped(batch, baseOffset: appended.firstOffset, epoch: 1))
        }
        let everything = try await replica.fetch(from: 0, maxBytes: 1 << 20, wait: .zero, callerEpoch: 1)
        #expect(everything.batches == stored.flatMap { $0 })
        // One byte of budget still returns one whole batch, and no more.
        let one = try await replica.fetch(from: 2, maxBytes: 1, wait: .zero, callerEpoch: 1)
        #expect(one.batches == stored[1])
        let two = try await replica.fetch(
            from: 0, maxBytes: stored[0].count + stored[1].count, wait: .zero, callerEpoch: 1)
        #expect(two.batches == stored[0] + stored[1])
        await replica.close()
    }

    @Test func invalidBatchIsRefusedAndNothingIsStored() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory)
        let corrupted = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(StorageTestBatch.corrupted(StorageTestBatch.events(2)), callerEpoch: 1)
        }
        #expect(corrupted?.isInvalidRequest == true)
        #expect(corrupted?.message.contains("CRC") == true)
        let truncated = await #expect(throws: ReplicaError.self) {
            _ = try await replica.append(Array(StorageTestBatch.events(2).dropLast(3)), callerEpoch: 1)
        }
        #expect(truncated?.isInvalidRequest == true)
        #expect(await replica.report().logEndOffset == 0)
        #expect(replica.highWatermark.offset == 0)
        await replica.close()
    }

    @Test func longPollWakesWhenTheHighWatermarkPassesItsOffset() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory)
        _ = try await replica.append(StorageTestBatch.events(1), callerEpoch: 1)

        let started = ContinuousClock.now
        let poll = Task { try await replica.fetch(from: 1, maxBytes: 1 << 20, wait: .seconds(20), callerEpoch: 1) }
        try await eventually("the fetch is parked") { replica.highWatermark.waiterCount == 1 }
        let batch = StorageTestBatch.events(2, tag: "late")
        _ = try await replica.append(batch, callerEpoch: 1)
        let result = try await poll.value
        #expect(result.batches == StorageTestBatch.stamped(batch, baseOffset: 1, epoch: 1))
        #expect(ContinuousClock.now - started < .seconds(15))

        let timedOut = try await replica.fetch(from: 3, maxBytes: 1 << 20, wait: .milliseconds(30), callerEpoch: 1)
        #expect(timedOut.batches.isEmpty && timedOut.highWatermark == 3)
        await replica.close()
    }

    @Test func groupLeasesAreOrderedOneInFlightAndAcksCommit() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let replica = try await openLeaderReplica(in: directory)
        let first = StorageTestBatch.events(3)
        let second = StorageTestBatch.events(2, tag: "f")
        _ = try await replica.append(first, callerEpoch: 1)
        _ = try await replica.append(second, callerEpoch: 1)

        let lease = try #require(
            try await replica.lease(group: "billing", maxEvents: 2, duration: .seconds(30), callerEpoch: 1))
        #expect(lease.first == 0 && lease.last == 1)
        #expect(lease.bytes == StorageTestBatch.stamped(first, baseOffset: 0, epoch: 1))
        #expect(try await replica.lease(group: "billing", maxEvents: 2, duration: .seconds(30), callerEpoch: 1) == nil)

        // Another group is independent.
        let other = try #require(
            try await replica.lease(group: "audit", maxEvents: 100, duration: .seconds(30), callerEpoch: 1))
        #expect(other.first == 0 && other.last == 4)

        try await replica.acknowledge(group: "billing", delivery: lease.id, callerEpoch: 1)
        #expect(try await replica.committedOffset(group: "billing", callerEpoch: 1) == 2)
        let acknowledgedAgain = await #expect(throws: ReplicaError.self) {
            try await replica.acknowledge(group: "billing", delivery: lease.id, callerEpoch: 1)
        }
        #expect(acknowledgedAgain?.isStaleDelivery == true)

        let next = try #require(
            try await replica.lease(group: "billing", maxEvents: 10, duration: .seconds(30), callerEpoch: 1))
        #expect(next.first == 2 && next.last == 4)
        #expect(
            next.bytes
                == StorageTestBatch.stamped(first, baseOffset: 0, epoch: 1)
                + StorageTestBatch.stamped(second, baseOffset: 3, epoch: 1))
        try await replica.acknowledge(group: "billing", delivery: next.id, callerEpoch: 1)
        #expect(try await replica.committedOffset(group: "billing", callerEpoch: 1) == 5)
        #expect(try await replica.lease(group: "billing", maxEvents: 10, duration: .seconds(30), callerEpoch: 1) == nil)
        await replica.close()
    }

    @Test func expiredLeaseIsRedeliveredUnderANewID() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let clock = ManualClock()
        let replica = try await openLeaderReplica(in: directory, clock: clock)
        _ = try await replica.append(StorageTestBatch.events(3), callerEpoch: 1)

        let lease = try #require(
            try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(5), callerEpoch: 1))
        clock.advance(by: .seconds(4))
        #expect(try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(5), callerEpoch: 1) == nil)
        clock.advance(by: .seconds(2))
        let again = try #require(
            try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(5), callerEpoch: 1))
        #expect(again.first == lease.first && again.last == lease.last && again.bytes == lease.bytes)
        #expect(again.id != lease.id)
        let stale = await #expect(throws: ReplicaError.self) {
            try await replica.acknowledge(group: "g", delivery: lease.id, callerEpoch: 1)
        }
        #expect(stale?.isStaleDelivery == true)
        try await replica.acknowledge(group: "g", delivery: again.id, callerEpoch: 1)
        #expect(try await replica.committedOffset(group: "g", callerEpoch: 1) == 3)
        await replica.close()
    }

    @Test func nackRedeliversTheSameRangeAfterAGrowingBackoff() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let clock = ManualClock()
        let replica = try await openLeaderReplica(
            in: directory, clock: clock, configuration: .init(defaultNackBackoff: .seconds(1)))
        _ = try await replica.append(StorageTestBatch.events(2), callerEpoch: 1)

        let lease = try #require(
            try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1))
        try await replica.reject(group: "g", delivery: lease.id, backoff: nil, callerEpoch: 1)
        #expect(try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1) == nil)
        clock.advance(by: .seconds(1))
        let second = try #require(
            try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1))
        #expect(second.first == 0 && second.last == 1 && second.id != lease.id)

        try await replica.reject(group: "g", delivery: second.id, backoff: nil, callerEpoch: 1)
        clock.advance(by: .seconds(1))
        #expect(try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1) == nil)
        clock.advance(by: .seconds(1))
        let third = try #require(
            try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1))
        #expect(third.first == 0 && third.last == 1)

        // An explicit backoff wins over the default; a nack of a stale delivery is refused.
        try await replica.reject(group: "g", delivery: third.id, backoff: .milliseconds(10), callerEpoch: 1)
        let staleNack = await #expect(throws: ReplicaError.self) {
            try await replica.reject(group: "g", delivery: third.id, backoff: nil, callerEpoch: 1)
        }
        #expect(staleNack?.isStaleDelivery == true)
        clock.advance(by: .milliseconds(10))
        #expect(try await replica.lease(group: "g", maxEvents: 10, duration: .seconds(30), callerEpoch: 1) != nil)
        #expect(try await replica.committedOffset(group: "g", callerEpoch: 1) == 0)
        await replica.close()
    }

    @Test func committedOffsetsSurviveReopenButLeasesDoNot() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        do {
            let replica = try await openLeaderReplica(in: directory)
            _ = try await replica.append(StorageTestBatch.events(4), callerEpoch: 1)
            _ = try await replica.append(StorageTestBatch.events(3, tag: "f"), callerEpoch: 1)
            let lease = try #require(
                try await replica.lease(group: "orders/eu", maxEvents: 4, duration: .seconds(30), callerEpoch: 1))
            try await replica.acknowledge(group: "orders/eu", delivery: lease.id, callerEpoch: 1)
            // Leased and never acknowledged: a restart redelivers it.
            #expect(
                try await replica.lease(group: "orders/eu", maxEvents: 1, duration: .seconds(30), callerEpoch: 1) != nil
            )
            await replica.close()
        }
        let reopened = try await openLeaderReplica(in: directory, epoch: 2)
        #expect(reopened.highWatermark.offset == 7)
        #expect(try await reopened.committedOffset(group: "orders/eu", callerEpoch: 2) == 4)
        #expect(try await reopened.committedOffset(group: "unknown", callerEpoch: 2) == 0)
        let redelivered = try #require(
            try await reopened.lease(group: "orders/eu", maxEvents: 1, duration: .seconds(30), callerEpoch: 2))
        #expect(redelivered.first == 4 && redelivered.last == 4)
        await reopened.close()
    }

    @Test func retentionMovesTheLogStartAndOlderOffsetsAreRefused() async throws {
        let directory = TemporaryDirectory("replica")
        defer { directory.remove() }
        let settings = StreamSettings(durability: .always, retention: RetentionSpec(maxBytes: 1))
        let replica = try await openLeaderReplica(
            in: directory, settings: settings, configuration: .init(segmentBytes: 512))
        for index in 0..<12 {
            _ = try await replica.append(StorageTestBatch.events(2, tag: "r\(index)", payloadSize: 64), callerEpoch: 1)
        }
        await replica.applyRetention()
        let start = await replica.report().logStartOffset
        #expect(start > 0)
        let refused = await #expect(throws: ReplicaError.self) {
            _ = try await replica.fetch(from: 0, maxBytes: 1 << 20, wait: .zero, callerEpoch: 1)
        }
        #expect(refused?.isOffsetBelowStart == true && refused?.firstOffset == start)
        // A group that never committed starts at the log start.
        let lease = try #require(
            try await replica.lease(group: "late", maxEvents: 1, duration: .seconds(30), callerEpoch: 1))
        #expect(lease.first == start)
        await replica.close()
    }
}

extension PartitionReplica.FetchResult {
    /// The fetched batches as an array, to compare with the batches appended.
    var batches: [UInt8] { Array(bytes.readableBytesView) }
}
