import Testing

@testable import HadronStorage

/// The committed boundary and the long polls parked on it.
@Suite struct OffsetWatchTests {
    @Test func advanceOnlyMovesForwardAndResumesPassedWaitersOnly() async throws {
        let watermark = OffsetWatch(5)
        #expect(watermark.advance(to: 3) == false)
        #expect(watermark.offset == 5)

        let near = Task { await watermark.wait(untilAbove: 5, timeout: .seconds(30)) }
        let far = Task { await watermark.wait(untilAbove: 9, timeout: .seconds(30)) }
        try await eventually("both waits are parked") { watermark.waiterCount == 2 }
        #expect(watermark.advance(to: 7))
        #expect(await near.value == 7)
        #expect(watermark.waiterCount == 1)
        watermark.advance(to: 10)
        #expect(await far.value == 10)
    }

    @Test func waitAboveTheCurrentOffsetReturnsAtOnce() async {
        let watermark = OffsetWatch(5)
        #expect(await watermark.wait(untilAbove: 4, timeout: .seconds(30)) == 5)
    }

    @Test func timeoutReturnsTheUnchangedOffset() async {
        let watermark = OffsetWatch(2)
        #expect(await watermark.wait(untilAbove: 2, timeout: .milliseconds(20)) == 2)
        #expect(watermark.waiterCount == 0)
    }

    @Test func aShortWaitParkedAfterALongOneEndsOnTime() async throws {
        let watermark = OffsetWatch(0)
        let long = Task { await watermark.wait(untilAbove: 0, timeout: .seconds(60)) }
        try await eventually("the long wait is parked") { watermark.waiterCount == 1 }
        // The timeout thread sleeps until the long wait's deadline unless the new, earlier one wakes it.
        let started = ContinuousClock.now
        #expect(await watermark.wait(untilAbove: 0, timeout: .milliseconds(50)) == 0)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(watermark.waiterCount == 1)
        long.cancel()
        #expect(await long.value == 0)
    }

    @Test func waitsAnsweredEarlyAreNotResumedAgainAtTheirDeadline() async throws {
        let watermark = OffsetWatch(0)
        // Long enough that each wait is still parked when the test sees it, on a loaded machine too.
        let timeout = Duration.seconds(2)
        for offset in 0..<5 {
            let wait = Task { await watermark.wait(untilAbove: Int64(offset), timeout: timeout) }
            try await eventually("the wait is parked") { watermark.waiterCount == 1 }
            watermark.advance(to: Int64(offset) + 1)
            #expect(await wait.value == Int64(offset) + 1)
        }
        // This wait times out only after every earlier deadline has passed, each finding nothing to resume (a
        // second resume of a continuation would trap).
        #expect(await watermark.wait(untilAbove: 5, timeout: timeout + .milliseconds(500)) == 5)
        #expect(watermark.waiterCount == 0)
    }

    @Test func cancellationAndDrainEndWaits() async throws {
        let watermark = OffsetWatch(0)
        let cancelled = Task { await watermark.wait(untilAbove: 0, timeout: .seconds(30)) }
        try await eventually("the wait is parked") { watermark.waiterCount == 1 }
        cancelled.cancel()
        #expect(await cancelled.value == 0)

        let drained = Task { await watermark.wait(untilAbove: 0, timeout: .seconds(30)) }
        try await eventually("the wait is parked") { watermark.waiterCount == 1 }
        watermark.drain()
        #expect(await drained.value == 0)
        // Once draining, new waits do not park.
        let started = ContinuousClock.now
        #expect(await watermark.wait(untilAbove: 0, timeout: .seconds(30)) == 0)
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}

/// Cutting whole batches for a consumer-group delivery by their headers alone.
@Suite struct BatchSpanTests {
    let first = StorageTestBatch.stamped(StorageTestBatch.events(3), baseOffset: 10, epoch: 1)
    let second = StorageTestBatch.stamped(StorageTestBatch.events(4, tag: "f"), baseOffset: 13, epoch: 1)

    @Test func countsEventsFromTheFirstOffsetAcrossBatches() throws {
        let span = try #require(try BatchSpan(batches: first + second, first: 11, maxEvents: 3))
        #expect(span.first == 11 && span.last == 13)
        #expect(span.bytes == first + second)
    }

    @Test func stopsAtTheBatchHoldingTheLastWantedOffset() throws {
        let span = try #require(try BatchSpan(batches: first + second, first: 10, maxEvents: 2))
        #expect(span.first == 10 && span.last == 11)
        #expect(span.bytes == first)
    }

    @Test func limitBoundsTheRange() throws {
        let span = try #require(try BatchSpan(batches: first + second, first: 10, maxEvents: 100, limit: 14))
        #expect(span.last == 14)
        #expect(span.bytes == first + second)
    }

    @Test func nothingFromTheFirstOffsetIsNil() throws {
        #expect(try BatchSpan(batches: [], first: 0, maxEvents: 5) == nil)
        #expect(try BatchSpan(batches: first, first: 20, maxEvents: 5) == nil)
    }
}
