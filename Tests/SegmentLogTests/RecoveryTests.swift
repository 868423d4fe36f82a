import Foundation
import HadronCore
import SegmentLog
import Testing

@Suite("PartitionLog recovery")
struct RecoveryTests {
    /// Builds a log of `count` random batches (one segment unless `segmentBytes` is small), closes it cleanly and
    /// returns the stamped batches as stored.
    static func makeLog(
        at directory: TemporaryDirectory, count: Int, segmentBytes: Int64 = 1 << 20, random: inout SeededGenerator
    ) async throws -> [[UInt8]] {
        let log = try await PartitionLog.open(
            directory: directory.path,
            configuration: LogConfiguration(segmentBytes: segmentBytes, indexIntervalBytes: 256, durability: .none),
            logger: quietLogger)
        var stored: [[UInt8]] = []
        for index in 0..<count {
            let batch = TestBatch.make(
                records: Int.random(in: 1...3, using: &random), payloadSize: Int.random(in: 0...300, using: &random),
                fill: UInt8(truncatingIfNeeded: index), maxTimestamp: Int64(index))
            let result = try await log.append(batch, epoch: Int32(index / 10))
            stored.append(TestBatch.stamped(batch, baseOffset: result.firstOffset, epoch: Int32(index / 10)))
        }
        try await log.close()
        return stored
    }

    @Test(
        "cutting or garbling the tail at random positions keeps exactly the whole, valid batches before the damage",
        arguments: [UInt64(11), 12, 13, 14])
    func tornWrites(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        for trial in 0..<12 {
            let directory = TemporaryDirectory("segmentlog-torn")
            defer { directory.remove() }
            let multiSegment = trial % 3 == 2
            let batches = try await Self.makeLog(
                at: directory, count: 40, segmentBytes: multiSegment ? 4_000 : 1 << 20, random: &random)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
                $0.hasSuffix(".log")
            }
            let active = try #require(names.max())
            let activeBase = try #require(Int64(active.dropLast(4)))
            let activeBatches = batches.filter { batch in
                batch.withUnsafeBytes { (try? RecordBatchHeader(parsing: $0))!.baseOffset >= activeBase }
            }
            let before = batches.count - activeBatches.count
            let path = directory.file(active)
            let size = activeBatches.reduce(0) { $0 + $1.count }
            let damageAt = Int.random(in: 0..<size, using: &random)
            let garble = Bool.random(using: &random)
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            if garble {
                try handle.seek(toOffset: UInt64(damageAt))
                let original = try #require(try handle.read(upToCount: 1)?.first)
                try handle.seek(toOffset: UInt64(damageAt))
                try handle.write(contentsOf: [original ^ UInt8.random(in: 1...255, using: &random)])
            } else {
                try handle.truncate(atOffset: UInt64(damageAt))
            }
            try handle.close()
            // A crash, not a clean shutdown: the marker would skip the scan.
            try FileManager.default.removeItem(atPath: directory.file(PartitionLog.cleanShutdownFileName))

            var kept = before
            var end = 0
            for batch in activeBatches {
                guard end + batch.count <= damageAt else { break }
                end += batch.count
                kept += 1
            }
            let logs = CapturedLogs()
            let log = try await PartitionLog.open(directory: directory.path, logger: logs.logger)
            let context = "seed \(seed), trial \(trial): \(garble ? "garbled" : "cut") at \(damageAt) of \(size)"
            #expect(try readAll(log) == batches[0..<kept].flatMap { $0 }, "\(context)")
            let expectedEnd = kept == 0 ? 0 : try TestBatch.headers(batches[kept - 1])[0].lastOffset + 1
            #expect(log.logEndOffset == expectedEnd, "\(context)")
            let onDisk = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(onDisk == end, "\(context)")
            if end < size {
                #expect(logs.contains("Truncated a torn or damaged write"), "\(context)")
                #expect(logs.contains("segment.position=\(end)"), "\(context)")
            }
            // The recovered log takes appends again where the valid batches end.
            let next = try await log.append(TestBatch.make(), epoch: 10)
            #expect(next.firstOffset == expectedEnd, "\(context)")
            try await log.close()
        }
    }

    @Test("a missing or damaged index is rebuilt and lookups still find every batch")
    func rebuildsIndexes() async throws {
        var random = SeededGenerator(seed: 99)
        let directory = TemporaryDirectory("segmentlog-index")
        defer { directory.remove() }
        let batches = try await Self.makeLog(at: directory, count: 60, segmentBytes: 3_000, random: &random)
        try FileManager.default.removeItem(atPath: directory.file("00000000000000000000.index"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.file("00000000000000000000.timeindex")))
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(indexIntervalBytes: 256), logger: quietLogger)
        #expect(try readAll(log, chunk: 1) == batches.flatMap { $0 })
        for batch in batches {
            let header = try TestBatch.headers(batch)[0]
            #expect(try log.read(from: header.lastOffset, maxBytes: 1).bytes == batch)
            #expect(try log.offset(forTimestamp: header.maxTimestamp)?.offset == header.baseOffset)
        }
        try await log.close()
    }

    @Test("a clean open of 100 segments reads only index tails")
    func cleanOpenIsCheap() async throws {
        let directory = TemporaryDirectory("segmentlog-open")
        defer { directory.remove() }
        let configuration = LogConfiguration(segmentBytes: 2_000, indexIntervalBytes: 200, durability: .none)
        let log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        for index in 0..<1_000 {
            _ = try await log.append(TestBatch.make(payloadSize: 139, maxTimestamp: Int64(index)), epoch: 0)
        }
        #expect(log.segmentBaseOffsets.count == 100)
        try await log.close()
        let logs = CapturedLogs()
        let reopened = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: logs.logger)
        #expect(logs.contains("log.clean_shutdown=true"))
        #expect(!logs.contains("rebuilding"))
        #expect(reopened.logEndOffset == 1_000)
        #expect(try reopened.offset(forTimestamp: 555)?.offset == 555)
        try await reopened.close()
    }
}
