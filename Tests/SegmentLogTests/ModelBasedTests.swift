import Foundation
import HadronCore
import SegmentLog
import Testing

/// Random sequences of operations checked against a plain in-memory model after every step.
///
/// The model is a list of stamped batches plus a log start offset and the epoch list; segment boundaries are the
/// log's business, so retention is predicted from the segment base offsets the log reports (and those are checked
/// to be batch boundaries). Every failure message carries the seed and step, and the seeds are fixed.
@Suite("PartitionLog model")
struct ModelBasedTests {
    struct Model {
        struct Batch {
            var bytes: [UInt8]
            var baseOffset: Int64
            var lastOffset: Int64
            var epoch: Int32
            var maxTimestamp: Int64
        }
        var batches: [Batch] = []
        var logStartOffset: Int64 = 0
        var epochs: [(epoch: Int32, start: Int64)] = []

        var logEndOffset: Int64 { batches.last.map { $0.lastOffset + 1 } ?? logStartOffset }
        var latestEpoch: Int32? { epochs.last?.epoch }

        mutating func append(_ batch: [UInt8], records: Int, epoch: Int32, maxTimestamp: Int64) -> AppendResult {
            let base = logEndOffset
            if epoch > latestEpoch ?? .min { epochs.append((epoch, base)) }
            batches.append(
                Batch(
                    bytes: TestBatch.stamped(batch, baseOffset: base, epoch: epoch), baseOffset: base,
                    lastOffset: base + Int64(records) - 1, epoch: epoch, maxTimestamp: maxTimestamp))
            return AppendResult(firstOffset: base, lastOffset: base + Int64(records) - 1)
        }

        mutating func truncate(to offset: Int64) -> Int64 {
            guard offset < logEndOffset else { return logEndOffset }
            if offset < logStartOffset {
                batches = []
                logStartOffset = offset
                epochs = []
                return offset
            }
            batches.removeAll { $0.lastOffset >= offset }
            let end = logEndOffset
            epochs.removeAll { $0.start >= end }
            return end
        }

        func endOffset(forEpoch requested: Int32) -> EpochEndOffset? {
            guard let latest = epochs.last else { return nil }
            if requested == latest.epoch { return EpochEndOffset(epoch: requested, endOffset: logEndOffset) }
            guard let higher = epochs.first(where: { $0.epoch > requested }) else { return nil }
            let floor = epochs.last { $0.epoch <= requested }
            return EpochEndOffset(epoch: floor?.epoch ?? requested, endOffset: higher.start)
        }

        func offset(forTimestamp timestamp: Int64) -> TimestampOffset? {
            batches.first { $0.maxTimestamp >= timestamp }.map {
                TimestampOffset(offset: $0.baseOffset, timestamp: $0.maxTimestamp)
            }
        }
    }

    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    static let seeds: [UInt64] = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233]

    @Test("random operation sequences match the model", arguments: seeds)
    func randomOperations(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory("segmentlog-model")
        defer { directory.remove() }
        let durability: LogDurability = [.none, .none, .interval(milliseconds: 2), .always].randomElement(
            using: &random)!
        let configuration = LogConfiguration(
            segmentBytes: [300, 700, 2_000].randomElement(using: &random)!,
            indexIntervalBytes: [1, 64, 250].randomElement(using: &random)!, durability: durability,
            retention: RetentionPolicy(
                maxAge: .milliseconds(500), maxBytes: [800, 3_000].randomElement(using: &random)!))
        var log = try await PartitionLog.open(
            directory: directory.path, configuration: configuration, logger: quietLogger)
        var model = Model()
        var epoch: Int32 = 0
        var clock: Int64 = 10_000
        var history: [String] = []

        func fail(_ step: Int, _ message: String) -> Mismatch {
            Mismatch(
                description:
                    "seed \(seed), step \(step): \(message)\nconfiguration: \(configuration)\nlast operations: \(history.suffix(8).joined(separator: "; "))"
            )
        }

        for step in 0..<120 {
            let choice = Int.random(in: 0..<100, using: &random)
            switch choice {
            case 0..<45:
                if Int.random(in: 0..<10, using: &random) == 0 { epoch += 1 }
                let records = Int.random(in: 1...4, using: &random)
                clock += Int64.random(in: -50...200, using: &random)
                let batch = TestBatch.make(
                    records: records, payloadSize: Int.random(in: 0...180, using: &random),
                    fill: UInt8.random(in: 0...255, using: &random), maxTimestamp: clock)
                let stale = model.latestEpoch.map { epoch < $0 } ?? false
                history.append("append(\(records) records, epoch \(epoch))")
                if stale {
                    do {
                        _ = try await log.append(batch, epoch: epoch)
                        throw fail(step, "an append with a stale epoch succeeded")
                    } catch let error as LogError where error.code == .staleEpoch {}
                } else {
                    let result = try await log.append(batch, epoch: epoch)
                    let expected = model.append(batch, records: records, epoch: epoch, maxTimestamp: clock)
                    guard result == expected else { throw fail(step, "append returned \(result), model \(expected)") }
                }
            case 45..<55:
                // A follower fetch of one to three batches continuing the log.
                var bytes: [UInt8] = []
                var next = model.logEndOffset
                var followerEpoch = max(epoch, model.latestEpoch ?? 0)
                var pieces: [([UInt8], Int, Int32, Int64)] = []
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    if Bool.random(using: &random) { followerEpoch += 1 }
                    let records = Int.random(in: 1...3, using: &random)
                    clock += Int64.random(in: -20...100, using: &random)
                    let batch = TestBatch.make(
                        records: records, payloadSize: Int.random(in: 0...100, using: &random),
                        fill: UInt8.random(in: 0...255, using: &random), maxTimestamp: clock, baseOffset: next,
                        epoch: followerEpoch)
                    bytes += batch
                    pieces.append((batch, records, followerEpoch, clock))
                    next += Int64(records)
                }
                epoch = followerEpoch
                history.append("appendAsFollower(\(pieces.count) batches, epoch up to \(followerEpoch))")
                let result = try await log.appendAsFollower(bytes)
                let first = model.logEndOffset
                for piece in pieces {
                    _ = model.append(piece.0, records: piece.1, epoch: piece.2, maxTimestamp: piece.3)
                }
                guard result == AppendResult(firstOffset: first, lastOffset: model.logEndOffset - 1) else {
                    throw fail(step, "follower append returned \(result)")
                }
            case 55..<63:
                history.append("roll")
                let before = log.segmentBaseOffsets
                try await log.roll()
                let after = log.segmentBaseOffsets
                guard after.last == model.logEndOffset || after == before else {
                    throw fail(step, "after a roll the segments are \(after), log end \(model.logEndOffset)")
                }
            case 63..<73:
                let low = max(0, model.logStartOffset - 2)
                let target = Int64.random(in: low...(model.logEndOffset + 1), using: &random)
                history.append("truncate(to: \(target))")
                let end = try await log.truncate(to: target)
                let expected = model.truncate(to: target)
                guard end == expected else { throw fail(step, "truncate returned \(end), model \(expected)") }
            case 73..<81:
                let now = clock + Int64.random(in: 0...900, using: &random)
                history.append("retention(now: \(now))")
                let predicted = predictRetention(log: log, model: model, configuration: configuration, now: now)
                let result = try await log.applyRetention(now: now)
                guard result.deletedSegments == predicted else {
                    throw fail(step, "retention deleted \(result.deletedSegments), predicted \(predicted)")
                }
                if let firstKept = log.segmentBaseOffsets.first, !predicted.isEmpty {
                    model.batches.removeAll { $0.baseOffset < firstKept }
                    model.logStartOffset = max(model.logStartOffset, firstKept)
                    if let covering = model.epochs.lastIndex(where: { $0.start <= model.logStartOffset }) {
                        model.epochs.removeFirst(covering)
                        model.epochs[0].start = model.logStartOffset
                    }
                }
            case 81..<91:
                history.append("close and reopen")
                try await log.close()
                log = try await PartitionLog.open(
                    directory: directory.path, configuration: configuration, logger: quietLogger)
            default:
                // A crash: the log is dropped without close (no clean-shutdown marker) and recovered on open.
                history.append("drop and recover")
                log = try await PartitionLog.open(
                    directory: directory.path, configuration: configuration, logger: quietLogger)
            }
            try check(log, model, step: step, random: &random, fail: fail)
        }
        try await log.close()
    }

    /// Kafka's rule on the log's own segment layout: from the oldest closed segment, delete while its max timestamp
    /// is older than maxAge or the log without it keeps maxBytes; stop at the first that stays.
    func predictRetention(log: PartitionLog, model: Model, configuration: LogConfiguration, now: Int64) -> [Int64] {
        let bases = log.segmentBaseOffsets
        var segments: [(base: Int64, size: Int64, maxTimestamp: Int64)] = []
        for (index, base) in bases.enumerated() {
            let end = index + 1 < bases.count ? bases[index + 1] : .max
            let batches = model.batches.filter { $0.baseOffset >= base && $0.baseOffset < end }
            segments.append(
                (base, batches.reduce(0) { $0 + Int64($1.bytes.count) }, batches.map(\.maxTimestamp).max() ?? .min))
        }
        var total = segments.reduce(Int64(0)) { $0 + $1.size }
        var deleted: [Int64] = []
        for segment in segments.dropLast() {
            let expired = segment.maxTimestamp < now - 500
            let oversize = total - segment.size >= configuration.retention.maxBytes!
            guard expired || oversize else { break }
            total -= segment.size
            deleted.append(segment.base)
        }
        return deleted
    }

    func check(
        _ log: PartitionLog, _ model: Model, step: Int, random: inout SeededGenerator, fail: (Int, String) -> Mismatch
    ) throws {
        guard log.logStartOffset == model.logStartOffset, log.logEndOffset == model.logEndOffset else {
            throw fail(
                step,
                "offsets [\(log.logStartOffset), \(log.logEndOffset)), model [\(model.logStartOffset), \(model.logEndOffset))"
            )
        }
        guard log.latestEpoch == model.latestEpoch else {
            throw fail(
                step,
                "latest epoch \(String(describing: log.latestEpoch)), model \(String(describing: model.latestEpoch))")
        }
        let starts = Set(model.batches.map(\.baseOffset) + [model.logEndOffset, model.logStartOffset])
        guard log.segmentBaseOffsets.allSatisfy(starts.contains) else {
            throw fail(step, "segment bases \(log.segmentBaseOffsets) are not batch boundaries")
        }
        let expected = model.batches.flatMap(\.bytes)
        let actual = try readAll(log, chunk: Int.random(in: 1...600, using: &random))
        guard actual == expected else {
            throw fail(step, "read \(actual.count) bytes, model holds \(expected.count) (or they differ)")
        }
        if !model.batches.isEmpty {
            let batch = model.batches.randomElement(using: &random)!
            let offset = Int64.random(in: batch.baseOffset...batch.lastOffset, using: &random)
            let bound = Int64.random(in: model.logStartOffset...(model.logEndOffset + 1), using: &random)
            let result = try log.read(from: offset, maxBytes: Int.random(in: 1...400, using: &random), upTo: bound)
            let visible = model.batches.filter { $0.lastOffset >= offset && $0.lastOffset < bound }
            guard result.bytes.isEmpty == visible.isEmpty,
                result.bytes.isEmpty || result.bytes.starts(with: visible[0].bytes)
            else { throw fail(step, "read(from: \(offset), upTo: \(bound)) returned the wrong first batch") }
            let headers = try TestBatch.headers(result.bytes)
            guard headers.allSatisfy({ $0.lastOffset < bound }) else {
                throw fail(step, "read(from: \(offset), upTo: \(bound)) returned a batch at or past the bound")
            }
        }
        if model.logStartOffset > 0 {
            do {
                _ = try log.read(from: model.logStartOffset - 1, maxBytes: 100)
                throw fail(step, "a read below the log start succeeded")
            } catch let error as LogError where error.code == .offsetOutOfRange {
                guard error.firstAvailableOffset == model.logStartOffset else {
                    throw fail(step, "out-of-range error names \(String(describing: error.firstAvailableOffset))")
                }
            }
        }
        for requested in Int32(-1)...((model.latestEpoch ?? 0) + 1) {
            guard log.endOffset(forEpoch: requested) == model.endOffset(forEpoch: requested) else {
                throw fail(
                    step,
                    "endOffset(forEpoch: \(requested)) = \(String(describing: log.endOffset(forEpoch: requested))), model \(String(describing: model.endOffset(forEpoch: requested)))"
                )
            }
        }
        for _ in 0..<3 {
            let timestamp = Int64.random(in: 9_000...(12_000 + Int64(step) * 100), using: &random)
            let found = try log.offset(forTimestamp: timestamp)
            guard found == model.offset(forTimestamp: timestamp) else {
                throw fail(
                    step,
                    "offset(forTimestamp: \(timestamp)) = \(String(describing: found)), model \(String(describing: model.offset(forTimestamp: timestamp)))"
                )
            }
        }
    }
}
