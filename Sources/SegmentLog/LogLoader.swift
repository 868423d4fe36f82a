import HadronCore
import Logging

/// Opens a partition directory and brings it to a consistent state (DESIGN §7 recovery).
///
/// After a clean shutdown (the marker file exists) each segment costs a handful of reads: the last index entries
/// and the batch headers after the last offset-index entry. After a crash the active segment is read in full,
/// every CRC checked, a torn or damaged tail truncated and its indexes rebuilt; closed segments, synced when they
/// rolled, still get the cheap check and a full rebuild only when their indexes do not fit the log file.
/// Damage inside a closed segment is an error naming the file and position, never skipped.
struct LogLoader {
    static let cleanShutdownFileName = "clean-shutdown"
    static let logStartFileName = "log-start-offset-checkpoint"

    struct Loaded {
        var directory: LogDirectory
        var segments: [SegmentEntry]
        var tail: SegmentTail
        var logStartOffset: Int64
        var epochs: LeaderEpochCache
    }

    let configuration: LogConfiguration
    let logger: Logger

    func load(path: String) throws(LogError) -> Loaded {
        let started = monotonicNanoseconds()
        try configuration.validate()
        let directory = try LogDirectory(creating: path)
        let names = try directory.names()
        for name in names where name.hasSuffix(".tmp") { try directory.remove(name) }
        var bases = names.compactMap(Segment.baseOffset(ofLogFile:)).sorted()
        let known = Set(bases.map(Segment.fileStem))
        for name in names where name.hasSuffix(".index") || name.hasSuffix(".timeindex") {
            if let stem = name.split(separator: ".").first, !known.contains(String(stem)) { try directory.remove(name) }
        }

        let clean = directory.exists(Self.cleanShutdownFileName)
        var epochs = LeaderEpochCache()
        if let bytes = try directory.contents(of: LeaderEpochCache.fileName) {
            epochs = try LeaderEpochCache(parsing: bytes, path: directory.path(of: LeaderEpochCache.fileName))
        }
        let checkpointedStart = try Self.readLogStart(in: directory)

        // Finish a retention pass that a crash interrupted: the checkpoint is written before segments are deleted.
        if let start = checkpointedStart {
            while bases.count > 1 && bases[1] <= start {
                for name in Segment.fileNames(bases[0]) { try directory.remove(name) }
                bases.removeFirst()
            }
        }

        var segments: [SegmentEntry] = []
        var tail: SegmentTail?
        for (index, base) in bases.enumerated() {
            let isActive = index == bases.count - 1
            let stem = Segment.fileStem(base)
            let indexesExist = directory.exists(stem + ".index") && directory.exists(stem + ".timeindex")
            let segment = try Segment.open(baseOffset: base, in: directory, fresh: false)
            if let previous = segments.last, previous.nextOffset != base {
                throw LogError(
                    .corruptBatch,
                    "\(segment.log.path) starts at offset \(base) but the segment before it ends at offset \(previous.nextOffset)",
                    path: segment.log.path, position: 0)
            }
            var loaded: SegmentTail
            if isActive && !clean {
                loaded = try recover(segment, epochs: &epochs)
            } else if indexesExist, let checked = try quickCheck(segment) {
                loaded = checked
            } else if isActive {
                logger.warning(
                    "Partition log indexes are missing or do not match the active segment; recovering it",
                    metadata: ["segment.path": "\(segment.log.path)"])
                loaded = try recover(segment, epochs: &epochs)
            } else {
                logger.warning(
                    "Partition log indexes are missing or do not match a closed segment; rebuilding them",
                    metadata: ["segment.path": "\(segment.log.path)"])
                loaded = try rebuild(segment, epochs: epochs)
            }
            segments.append(loaded.entry)
            if isActive { tail = loaded }
        }

        if tail == nil {
            let segment = try Segment.open(baseOffset: checkpointedStart ?? 0, in: directory, fresh: true)
            try directory.sync()
            tail = SegmentTail(empty: segment)
            segments.append(tail!.entry)
        }
        let logStartOffset = max(checkpointedStart ?? segments[0].baseOffset, segments[0].baseOffset)
        let logEndOffset = segments[segments.count - 1].nextOffset

        let truncatedEnd = epochs.truncate(fromEnd: logEndOffset, keepingEmptyLatest: true)
        let truncatedStart = epochs.truncate(fromStart: logStartOffset)
        if truncatedEnd || truncatedStart {
            try directory.writeAtomically(LeaderEpochCache.fileName, contents: epochs.serialized())
        }
        if clean {
            // Gone, durably, before anything is written: a crash from here on must not pass for a clean shutdown.
            try directory.remove(Self.cleanShutdownFileName)
            try directory.sync()
        }
        logger.info(
            "Opened partition log",
            metadata: [
                "log.directory": "\(path)", "log.segments": "\(segments.count)",
                "log.start_offset": "\(logStartOffset)", "log.end_offset": "\(logEndOffset)",
                "log.clean_shutdown": "\(clean)",
                "log.open_ms": "\((monotonicNanoseconds() - started) / 1_000_000)",
            ])
        return Loaded(
            directory: directory, segments: segments, tail: tail!, logStartOffset: logStartOffset, epochs: epochs)
    }

    static func readLogStart(in directory: LogDirectory) throws(LogError) -> Int64? {
        guard let bytes = try directory.contents(of: logStartFileName) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard text.count == 2, text[0] == "0", let offset = Int64(text[1]), offset >= 0 else {
            let path = directory.path(of: logStartFileName)
            throw LogError(.corruptCheckpoint, "\(path): expected version 0 and one offset", path: path)
        }
        return offset
    }

    static func writeLogStart(_ offset: Int64, in directory: LogDirectory) throws(LogError) {
        try directory.writeAtomically(logStartFileName, contents: Array("0\n\(offset)\n".utf8))
    }

    // MARK: - Cheap check

    /// Trusts the indexes if their last entries agree with the log file and the headers after the last offset-index
    /// entry lead exactly to the end of the file; nil when anything disagrees.
    private func quickCheck(_ segment: Segment) throws(LogError) -> SegmentTail? {
        do {
            return try quickCheckThrowing(segment)
        } catch  where error.code == .corruptBatch {
            return nil
        }
    }

    private func quickCheckThrowing(_ segment: Segment) throws(LogError) -> SegmentTail? {
        let size = try segment.log.size()
        let offsetBytes = try segment.offsetIndex.size()
        let timeBytes = try segment.timeIndex.size()
        guard size <= Int64(UInt32.max), offsetBytes % Int64(Segment.offsetEntrySize) == 0,
            timeBytes % Int64(Segment.timeEntrySize) == 0
        else { return nil }
        let offsetEntries = Int(offsetBytes) / Segment.offsetEntrySize
        let timeEntries = Int(timeBytes) / Segment.timeEntrySize

        var position: Int64 = 0
        var nextOffset = segment.baseOffset
        if offsetEntries > 0 {
            let last = try segment.offsetEntry(offsetEntries - 1)
            guard last.position > 0, last.position < size, last.offset >= segment.baseOffset else { return nil }
            if offsetEntries > 1 {
                let previous = try segment.offsetEntry(offsetEntries - 2)
                guard previous.position < last.position, previous.offset < last.offset else { return nil }
            }
            position = last.position
            nextOffset = last.offset
        }
        let walkStart = position
        var maxTimestamp = Int64.min
        var lastTimeEntryTimestamp = Int64.min
        var lastTimeEntryOffset = Int64.min
        if timeEntries > 0 {
            let last = try segment.timeEntry(timeEntries - 1)
            if timeEntries > 1 {
                let previous = try segment.timeEntry(timeEntries - 2)
                guard previous.timestamp < last.timestamp, previous.offset <= last.offset else { return nil }
            }
            maxTimestamp = last.timestamp
            lastTimeEntryTimestamp = last.timestamp
            lastTimeEntryOffset = last.offset
        }
        while position < size {
            // The writer indexes a batch once `interval` bytes precede it: a longer unindexed run means entries
            // are missing (or the interval changed), so the index is rebuilt rather than trusted.
            guard position - walkStart < Int64(configuration.indexIntervalBytes) || position == walkStart else {
                return nil
            }
            let header = try segment.header(at: position, limit: size)
            guard header.baseOffset == nextOffset else { return nil }
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
            nextOffset = header.lastOffset + 1
            position += Int64(header.totalSize)
        }
        guard lastTimeEntryOffset < nextOffset, nextOffset - segment.baseOffset <= Int64(UInt32.max) + 1 else {
            return nil
        }
        let firstBatchTimestamp = size > 0 ? try segment.header(at: 0, limit: size).maxTimestamp : nil
        let entry = SegmentEntry(
            segment: segment, size: size, nextOffset: nextOffset, maxTimestamp: maxTimestamp,
            offsetEntries: offsetEntries, timeEntries: timeEntries)
        return SegmentTail(
            entry: entry, bytesSinceOffsetEntry: size - walkStart, lastTimeEntryTimestamp: lastTimeEntryTimestamp,
            firstBatchTimestamp: firstBatchTimestamp)
    }

    // MARK: - Full scans

    private struct ScanResult {
        var tail: SegmentTail
        var offsetEntries: [UInt8] = []
        var timeEntries: [UInt8] = []
        var damage: (position: Int64, reason: String)?
    }

    /// Reads every batch, checking its CRC, that offsets follow on, and that its epoch is the one the epoch cache
    /// has for its offset (the epoch lies outside the CRC); computes the indexes as the writer would have.
    private func scan(_ segment: Segment, epochs: inout LeaderEpochCache, assignEpochs: Bool) throws(LogError)
        -> ScanResult
    {
        let size = try segment.log.size()
        var result = ScanResult(tail: SegmentTail(empty: segment))
        var scanner = SegmentScanner(segment: segment, fileSize: size)
        scanning: while true {
            switch try scanner.next() {
            case .end:
                break scanning
            case .damage(let position, let reason):
                result.damage = (position, reason)
                break scanning
            case .batch(let header, let position):
                if header.baseOffset != result.tail.entry.nextOffset {
                    result.damage = (
                        position, "base offset \(header.baseOffset), expected \(result.tail.entry.nextOffset)"
                    )
                    break scanning
                }
                if header.lastOffset - segment.baseOffset > Int64(UInt32.max) {
                    result.damage = (position, "offset \(header.lastOffset) is too far from the segment's base")
                    break scanning
                }
                if let expected = epochs.epoch(at: header.baseOffset), header.partitionLeaderEpoch != expected {
                    result.damage = (
                        position,
                        "epoch \(header.partitionLeaderEpoch), but the leader-epoch checkpoint has epoch \(expected) at offset \(header.baseOffset)"
                    )
                    break scanning
                }
                if assignEpochs, header.partitionLeaderEpoch > (epochs.latestEpoch ?? -1) {
                    epochs.assign(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset)
                }
                result.tail.append(
                    baseOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp,
                    size: header.totalSize, interval: configuration.indexIntervalBytes,
                    offsetEntries: &result.offsetEntries, timeEntries: &result.timeEntries)
            }
        }
        return result
    }

    /// Recovers the active segment after a crash: keeps exactly the whole, valid batches before the first damage.
    private func recover(_ segment: Segment, epochs: inout LeaderEpochCache) throws(LogError) -> SegmentTail {
        let size = try segment.log.size()
        let result = try scan(segment, epochs: &epochs, assignEpochs: true)
        if let damage = result.damage {
            logger.warning(
                "Truncated a torn or damaged write at the end of the partition log",
                metadata: [
                    "segment.path": "\(segment.log.path)", "segment.position": "\(damage.position)",
                    "truncated.bytes": "\(size - damage.position)", "reason": "\(damage.reason)",
                    "log.end_offset": "\(result.tail.entry.nextOffset)",
                ])
            try segment.log.truncate(to: damage.position)
            try segment.log.syncData()
        }
        try writeIndexes(result, of: segment)
        return result.tail
    }

    /// Rebuilds the indexes of a closed segment; any damage is an error, since a closed segment was complete.
    private func rebuild(_ segment: Segment, epochs: LeaderEpochCache) throws(LogError) -> SegmentTail {
        var unchanged = epochs
        var result = try scan(segment, epochs: &unchanged, assignEpochs: false)
        if let damage = result.damage {
            throw LogError(
                .corruptBatch,
                "\(segment.log.path): corrupt batch at position \(damage.position) inside a closed segment: \(damage.reason)",
                path: segment.log.path, position: damage.position)
        }
        result.tail.appendFinalTimeEntry(into: &result.timeEntries)
        try writeIndexes(result, of: segment)
        return result.tail
    }

    private func writeIndexes(_ result: ScanResult, of segment: Segment) throws(LogError) {
        try segment.offsetIndex.truncate(to: 0)
        try segment.offsetIndex.write(result.offsetEntries, at: 0)
        try segment.timeIndex.truncate(to: 0)
        try segment.timeIndex.write(result.timeEntries, at: 0)
    }
}
