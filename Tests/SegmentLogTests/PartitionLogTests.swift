import Foundation
import HadronCore
import Logging
import SegmentLog
import Testing

@Suite("PartitionLog")
struct PartitionLogTests {
    @Test("appends get consecutive offsets, are stamped with the epoch, and read back byte for byte")
    func appendAndRead() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, first, second) = try await Self.openLog(in: directory)
        let a = try await log.append(first, epoch: 4)
        let b = try await log.append(second, epoch: 4)
        #expect(a == AppendResult(firstOffset: 0, lastOffset: 2))
        #expect(b == AppendResult(firstOffset: 3, lastOffset: 4))
        #expect(log.logEndOffset == 5)
        #expect(log.latestEpoch == 4)
        let all = try log.read(from: 0, maxBytes: 1 << 20)
        #expect(
            all.bytes
                == TestBatch.stamped(first, baseOffset: 0, epoch: 4)
                + TestBatch.stamped(second, baseOffset: 3, epoch: 4))
        #expect(all.nextOffset == 5)
        // From an offset inside the first batch: the whole batch holding it comes back.
        #expect(try log.read(from: 1, maxBytes: 1).bytes == TestBatch.stamped(first, baseOffset: 0, epoch: 4))
        // The bound (high watermark) hides batches that reach it.
        let bounded = try log.read(from: 0, maxBytes: 1 << 20, upTo: 4)
        #expect(bounded.bytes == TestBatch.stamped(first, baseOffset: 0, epoch: 4))
        #expect(bounded.nextOffset == 3)
        #expect(try log.read(from: 5, maxBytes: 100).bytes.isEmpty)
        try await log.close()
    }

    @Test("a damaged or partial batch is rejected before anything is written")
    func rejectsInvalidBatches() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(directory: directory.path, logger: quietLogger)
        var damaged = TestBatch.make(payloadSize: 40)
        damaged[damaged.count - 1] ^= 0xFF
        await #expect(throws: LogError.self) { try await log.append(damaged, epoch: 0) }
        let twoBatches = TestBatch.make() + TestBatch.make()
        let error = await #expect(throws: LogError.self) { try await log.append(twoBatches, epoch: 0) }
        #expect(error?.code == .invalidBatch)
        await #expect(throws: LogError.self) { try await log.append(Array(TestBatch.make().prefix(40)), epoch: 0) }
        #expect(log.logEndOffset == 0)
        #expect(log.sizeInBytes == 0)
        try await log.close()
    }

    @Test("an append from an older epoch is fenced off")
    func fencesStaleEpochs() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(directory: directory.path, logger: quietLogger)
        _ = try await log.append(TestBatch.make(), epoch: 5)
        let error = await #expect(throws: LogError.self) { try await log.append(TestBatch.make(), epoch: 4) }
        #expect(error?.code == .staleEpoch)
        #expect(log.logEndOffset == 1)
        try await log.close()
    }

    @Test("endOffset(forEpoch:) answers like Kafka's OffsetsForLeaderEpoch")
    func epochEndOffsets() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(durability: .none), logger: quietLogger)
        #expect(log.endOffset(forEpoch: 0) == nil)
        _ = try await log.append(TestBatch.make(records: 2), epoch: 1)  // 0...1
        _ = try await log.append(TestBatch.make(records: 3), epoch: 3)  // 2...4
        _ = try await log.append(TestBatch.make(records: 1), epoch: 6)  // 5
        #expect(log.endOffset(forEpoch: 0) == EpochEndOffset(epoch: 0, endOffset: 0))
        #expect(log.endOffset(forEpoch: 1) == EpochEndOffset(epoch: 1, endOffset: 2))
        #expect(log.endOffset(forEpoch: 2) == EpochEndOffset(epoch: 1, endOffset: 2))
        #expect(log.endOffset(forEpoch: 3) == EpochEndOffset(epoch: 3, endOffset: 5))
        #expect(log.endOffset(forEpoch: 5) == EpochEndOffset(epoch: 3, endOffset: 5))
        #expect(log.endOffset(forEpoch: 6) == EpochEndOffset(epoch: 6, endOffset: 6))
        #expect(log.endOffset(forEpoch: 7) == nil)
        // Truncation drops the epochs that started at or after the new end, and the checkpoint follows.
        #expect(try await log.truncate(to: 3) == 2)
        #expect(log.latestEpoch == 1)
        #expect(log.endOffset(forEpoch: 1) == EpochEndOffset(epoch: 1, endOffset: 2))
        try await log.close()
        let reopened = try await PartitionLog.open(directory: directory.path, logger: quietLogger)
        #expect(reopened.latestEpoch == 1)
        #expect(reopened.logEndOffset == 2)
        let checkpoint = try String(contentsOfFile: directory.file("leader-epoch-checkpoint"), encoding: .utf8)
        #expect(checkpoint == "0\n1\n1 0\n")
        try await reopened.close()
    }

    @Test("a follower append keeps the leader's offsets and epochs and must continue the log")
    func followerAppend() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(durability: .none), logger: quietLogger)
        let fetched =
            TestBatch.make(records: 2, baseOffset: 0, epoch: 2) + TestBatch.make(records: 1, baseOffset: 2, epoch: 3)
        #expect(try await log.appendAsFollower(fetched) == AppendResult(firstOffset: 0, lastOffset: 2))
        #expect(try log.read(from: 0, maxBytes: 1 << 20).bytes == fetched)
        #expect(log.endOffset(forEpoch: 2) == EpochEndOffset(epoch: 2, endOffset: 2))
        let gap = TestBatch.make(baseOffset: 7, epoch: 3)
        let error = await #expect(throws: LogError.self) { try await log.appendAsFollower(gap) }
        #expect(error?.code == .nonContiguous)
        let notFollowing = TestBatch.make(baseOffset: 3, epoch: 3) + TestBatch.make(baseOffset: 9, epoch: 3)
        await #expect(throws: LogError.self) { try await log.appendAsFollower(notFollowing) }
        let stale = TestBatch.make(baseOffset: 3, epoch: 1)
        let staleError = await #expect(throws: LogError.self) { try await log.appendAsFollower(stale) }
        #expect(staleError?.code == .staleEpoch)
        #expect(log.logEndOffset == 3)
        try await log.close()
    }

    @Test("segments roll at the size limit, reads cross them, and a clean reopen sees the same log")
    func rollsAndReopens() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(segmentBytes: 1_000, indexIntervalBytes: 100, durability: .none)
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        var expected: [UInt8] = []
        for index in 0..<40 {
            let batch = TestBatch.make(
                records: 2, payloadSize: 150, fill: UInt8(index), maxTimestamp: Int64(index * 10))
            let result = try await log.append(batch, epoch: 1)
            expected += TestBatch.stamped(batch, baseOffset: result.firstOffset, epoch: 1)
        }
        #expect(log.segmentBaseOffsets.count > 5)
        #expect(try readAll(log, chunk: 300) == expected)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.contains("00000000000000000000.log"))
        #expect(names.contains("00000000000000000000.index"))
        #expect(names.contains("00000000000000000000.timeindex"))
        try await log.close()
        #expect(FileManager.default.fileExists(atPath: directory.file(PartitionLog.cleanShutdownFileName)))

        let logs = CapturedLogs()
        let reopened = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: logs.logger)
        #expect(!FileManager.default.fileExists(atPath: directory.file(PartitionLog.cleanShutdownFileName)))
        #expect(logs.contains("log.clean_shutdown=true"))
        #expect(reopened.logEndOffset == 80)
        #expect(try readAll(reopened, chunk: 500) == expected)
        #expect(try reopened.offset(forTimestamp: 195) == TimestampOffset(offset: 40, timestamp: 200))
        #expect(try reopened.offset(forTimestamp: 0) == TimestampOffset(offset: 0, timestamp: 0))
        #expect(try reopened.offset(forTimestamp: 391) == nil)
        try await reopened.close()
    }

    @Test("a reader going batch by batch reads what one read returns, before and after a truncation rewrites the tail")
    func sequentialReadsFollowTheLog() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(segmentBytes: 700, durability: .none),
            logger: quietLogger)
        /// Reads from `offset` one batch at a time, each read continuing where the last ended (where reads find
        /// their next batch without the index).
        func readBatchByBatch(from offset: Int64) throws -> [UInt8] {
            var bytes: [UInt8] = []
            var next = offset
            while next < log.logEndOffset {
                let read = try log.read(from: next, maxBytes: 1)
                bytes += read.bytes
                next = read.nextOffset
            }
            return bytes
        }
        var stored: [[UInt8]] = []
        for index in 0..<12 {
            let batch = TestBatch.make(records: 1 + index % 3, payloadSize: 100, fill: UInt8(index))
            let appended = try await log.append(batch, epoch: 1)
            stored.append(TestBatch.stamped(batch, baseOffset: appended.firstOffset, epoch: 1))
        }
        #expect(log.segmentBaseOffsets.count > 1, "the reads cross segments")
        #expect(try readBatchByBatch(from: 0) == stored.flatMap { $0 })
        #expect(try readBatchByBatch(from: 0) == stored.flatMap { $0 }, "again, now from where earlier reads ended")
        // Segments of 700 bytes hold four 161-byte batches: offsets 0–6, then 7–8, 9–11, 12 and 13–14 (at bytes 0,
        // 161, 322 and 483). Rewrite the second segment's tail with three-record batches: where the batch of
        // offset 13 began, where a read ended, now begins the batch of offset 15.
        _ = try await log.truncate(to: 9)
        stored.removeLast(7)
        for index in 0..<6 {
            let batch = TestBatch.make(records: 3, payloadSize: 100, fill: UInt8(100 + index))
            let appended = try await log.append(batch, epoch: 2)
            stored.append(TestBatch.stamped(batch, baseOffset: appended.firstOffset, epoch: 2))
        }
        #expect(try log.read(from: 13, maxBytes: 1).bytes == stored[6], "the batch of offsets 12–14")
        #expect(try readBatchByBatch(from: 0) == stored.flatMap { $0 })
        try await log.close()
    }

    /// An empty log without durability in `directory`, and two batches to append: 3 records, then 2.
    private static func openLog(in directory: TemporaryDirectory) async throws -> (PartitionLog, [UInt8], [UInt8]) {
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(durability: .none), logger: quietLogger)
        return (
            log, TestBatch.make(records: 3, payloadSize: 100, fill: 1), TestBatch.make(records: 2, payloadSize: 10, fill: 2)
        )
    }

    @Test("a read appends whole batches to the caller's buffer, and leaves it as it was when the read fails")
    func readAppendingToABuffer() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, first, second) = try await Self.openLog(in: directory)
        _ = try await log.append(first, epoch: 4)
        _ = try await log.append(second, epoch: 4)
        let stamped = [
            TestBatch.stamped(first, baseOffset: 0, epoch: 4), TestBatch.stamped(second, baseOffset: 3, epoch: 4),
        ]

        var buffer: [UInt8] = [7, 7, 7]
        let all = try log.read(from: 0, maxBytes: 1 << 20, appendingTo: &buffer)
        #expect(buffer == [7, 7, 7] + stamped[0] + stamped[1])
        #expect(all == ReadPosition(nextOffset: 5, logStartOffset: 0, logEndOffset: 5))
        // A bound inside the second batch: the bytes read past the first batch are dropped again.
        var bounded: [UInt8] = [7]
        let position = try log.read(from: 0, maxBytes: 1 << 20, upTo: 4, appendingTo: &bounded)
        #expect(bounded == [7] + stamped[0])
        #expect(position.nextOffset == 3)
        // Past the log end: an error, and the buffer keeps exactly what it held.
        let before = buffer
        #expect(throws: LogError.self) { try log.read(from: 9, maxBytes: 100, appendingTo: &buffer) }
        #expect(buffer == before)
        try await log.close()
    }

    @Test("retention deletes whole old segments, never the active one, and reads below the start name the first offset")
    func retention() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(
            segmentBytes: 500, durability: .none, retention: RetentionPolicy(maxAge: .seconds(10)))
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        for index in 0..<10 {
            _ = try await log.append(TestBatch.make(payloadSize: 180, maxTimestamp: Int64(index) * 1_000), epoch: 0)
        }
        // Two batches per segment: segments hold timestamps (0,1000), (2000,3000), ... (8000,9000).
        #expect(log.segmentBaseOffsets == [0, 2, 4, 6, 8])
        let result = try await log.applyRetention(now: 14_500)
        #expect(result.deletedSegments == [0, 2])
        #expect(result.logStartOffset == 4)
        #expect(log.logStartOffset == 4)
        let error = #expect(throws: LogError.self) { try log.read(from: 1, maxBytes: 100) }
        #expect(error?.code == .offsetOutOfRange)
        #expect(error?.firstAvailableOffset == 4)
        #expect(error?.message.contains("first available offset is 4") == true)
        // Everything expired: only the active segment stays.
        let all = try await log.applyRetention(now: 1_000_000)
        #expect(all.deletedSegments == [4, 6])
        #expect(log.segmentBaseOffsets == [8])
        try await log.close()
        let reopened = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        #expect(reopened.logStartOffset == 8)
        #expect(try reopened.read(from: 8, maxBytes: 1 << 20).nextOffset == 10)
        try await reopened.close()
    }

    @Test("retention by size keeps at least maxBytes")
    func retentionBySize() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(
            segmentBytes: 300, durability: .none, retention: RetentionPolicy(maxBytes: 600))
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        for _ in 0..<6 { _ = try await log.append(TestBatch.make(payloadSize: 239), epoch: 0) }  // 300 bytes each
        #expect(log.segmentBaseOffsets.count == 6)
        let result = try await log.applyRetention()
        #expect(result.deletedSegments == [0, 1, 2, 3])
        #expect(log.sizeInBytes == 600)
        try await log.close()
    }

    /// Every durability policy, with flushes and rolls queued between the appends.
    @Test(
        "64 concurrent appenders all complete with distinct, contiguous offsets",
        arguments: [LogDurability.always, .interval(milliseconds: 1), .none])
    func groupCommit(durability: LogDurability) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(segmentBytes: 20_000, durability: durability),
            logger: quietLogger)
        let housekeeping = Task {
            for _ in 0..<20 {
                try await log.flush(upTo: log.logEndOffset)
                try await log.roll()
            }
        }
        let results = try await withThrowingTaskGroup(of: [AppendResult].self) { group in
            for appender in 0..<64 {
                group.addTask {
                    var results: [AppendResult] = []
                    for _ in 0..<5 {
                        results.append(try await log.append(TestBatch.make(fill: UInt8(appender)), epoch: 0))
                    }
                    return results
                }
            }
            return try await group.reduce(into: [AppendResult]()) { $0 += $1 }
        }
        try await housekeeping.value
        #expect(results.map(\.firstOffset).sorted() == Array(0..<320))
        let headers = try TestBatch.headers(try readAll(log))
        #expect(headers.map(\.baseOffset) == Array(0..<320))
        try await log.close()
    }

    @Test("flush(upTo:) and the interval policy complete; close refuses later work")
    func flushAndClose() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path,
            configuration: LogConfiguration(segmentBytes: 400, durability: .interval(milliseconds: 5)),
            logger: quietLogger)
        for _ in 0..<10 { _ = try await log.append(TestBatch.make(payloadSize: 100), epoch: 0) }
        try await log.flush(upTo: 10)
        try await log.roll()
        try await log.close()
        let error = await #expect(throws: LogError.self) { try await log.append(TestBatch.make(), epoch: 0) }
        #expect(error?.code == .closed)
        #expect(throws: LogError.self) { try log.read(from: 0, maxBytes: 10) }
    }

    @Test("truncation below the log start empties the log and restarts it at that offset")
    func truncateFully() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(durability: .none), logger: quietLogger)
        for _ in 0..<5 { _ = try await log.append(TestBatch.make(), epoch: 2) }
        try await log.truncateFully(startingAt: 100)
        #expect(log.logStartOffset == 100)
        #expect(log.logEndOffset == 100)
        #expect(log.latestEpoch == nil)
        #expect(try await log.append(TestBatch.make(), epoch: 3) == AppendResult(firstOffset: 100, lastOffset: 100))
        try await log.close()
        let reopened = try await PartitionLog.open(directory: directory.path, logger: quietLogger)
        #expect(reopened.logStartOffset == 100)
        #expect(reopened.logEndOffset == 101)
        try await reopened.close()
    }

    @Test("a corrupt batch inside a closed segment is an error naming the file and position")
    func corruptClosedSegment() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(segmentBytes: 1_000, indexIntervalBytes: 100, durability: .none)
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        for _ in 0..<20 { _ = try await log.append(TestBatch.make(payloadSize: 139), epoch: 0) }  // 200 bytes each
        try await log.close()
        // Damage the payload of the third batch of the first (closed) segment and drop its index: the rebuild
        // must refuse to open rather than skip the batch.
        let path = directory.file("00000000000000000000.log")
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 400 + 100)
        try handle.write(contentsOf: [0xAB, 0xCD])
        try handle.close()
        try FileManager.default.removeItem(atPath: directory.file("00000000000000000000.index"))
        let error = await #expect(throws: LogError.self) {
            try await PartitionLog.open(directory: directory.path, configuration: configuration, logger: quietLogger)
        }
        #expect(error?.code == .corruptBatch)
        #expect(error?.path == path)
        #expect(error?.position == 400)

        // A damaged header found by a read is reported the same way.
        let other = TemporaryDirectory()
        defer { other.remove() }
        let second = try await PartitionLog.open(
            directory: other.path, configuration: configuration, logger: quietLogger)
        for _ in 0..<20 { _ = try await second.append(TestBatch.make(payloadSize: 139), epoch: 0) }
        let secondPath = other.file("00000000000000000000.log")
        let writer = try #require(FileHandle(forUpdatingAtPath: secondPath))
        try writer.seek(toOffset: 200 + 16)  // the magic byte of the second batch
        try writer.write(contentsOf: [0x09])
        try writer.close()
        let readError = #expect(throws: LogError.self) { try second.read(from: 0, maxBytes: 1 << 20) }
        #expect(readError?.code == .corruptBatch)
        #expect(readError?.path == secondPath)
        #expect(readError?.position == 200)
        try await second.close()
    }
}
