import Foundation
import HadronCore
import Logging
import Testing

@testable import SegmentLog

/// Appends to a log that does not sync each one are written on the caller's thread when the writer is idle
/// (``LogWriter/appendInline(_:)``); the writer thread still keeps the `interval` promise for them.
@Suite struct InlineAppendTests {
    @Test func theIntervalSyncFollowsAppendsWrittenInline() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(durability: .interval(milliseconds: 20)),
            logger: quietLogger)
        // Nothing else is queued, so each append goes inline and the writer thread learns of the sync it owes only
        // through the queue's poke; twice, since the second append comes after the first sync cleared the deadline.
        for round in 1...2 {
            #expect(try await log.append(TestBatch.make(), epoch: 0).firstOffset == Int64(round - 1))
            let deadline = ContinuousClock.now + .seconds(20)
            while log.activeSegmentTailSyncs < round, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(log.activeSegmentTailSyncs >= round, "round \(round)")
        }
        try await log.close()
    }

    @Test func inlineAppendsAndQueuedWorkNeverOverlap() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(segmentBytes: 2_000, durability: .none),
            logger: quietLogger)
        for _ in 0..<10 { _ = try await log.append(TestBatch.make(), epoch: 1) }
        // Truncations and rolls queued from other tasks race appends from this one, so appends go inline and
        // queued by turns: whatever order the log took them in, it must read back whole and contiguous.
        for round in 0..<50 {
            async let truncated = log.truncate(to: max(1, log.logEndOffset - 1))
            async let rolled: Void = log.roll()
            _ = try await log.append(TestBatch.make(), epoch: 1)
            _ = try await truncated
            try await rolled
            let headers = try TestBatch.headers(try readAll(log))
            #expect(headers.map(\.baseOffset) == Array(0..<log.logEndOffset), "round \(round)")
        }
        try await log.close()
    }
}
