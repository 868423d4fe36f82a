/// The part of a segment readers may see: how many bytes and index entries are whole, and what they hold.
///
/// Published under the log's lock after each write, so a reader that copies an entry never sees a partly written
/// batch or index entry.
struct SegmentEntry: Sendable {
    let segment: Segment
    var size: Int64
    var nextOffset: Int64
    /// The largest batch max timestamp in the segment; `Int64.min` while empty.
    var maxTimestamp: Int64
    var offsetEntries: Int
    var timeEntries: Int

    var baseOffset: Int64 { segment.baseOffset }
}

/// The writer's running state for the active segment: its published entry plus what deciding the next index
/// entries and the next roll needs.
///
/// The same rules serve appends, recovery scans and index rebuilds, so a rebuilt index equals the written one.
struct SegmentTail: Sendable {
    var entry: SegmentEntry
    /// Log bytes since the last offset-index entry; the next batch is indexed once this reaches the interval.
    var bytesSinceOffsetEntry: Int64
    /// The timestamp of the last time-index entry; entries are only added when the max timestamp grows.
    var lastTimeEntryTimestamp: Int64
    /// The first batch's max timestamp: a segment's age for rolling (Kafka's rule), `nil` while empty.
    var firstBatchTimestamp: Int64?

    init(empty segment: Segment) {
        entry = SegmentEntry(
            segment: segment, size: 0, nextOffset: segment.baseOffset, maxTimestamp: .min, offsetEntries: 0,
            timeEntries: 0)
        bytesSinceOffsetEntry = 0
        lastTimeEntryTimestamp = .min
        firstBatchTimestamp = nil
    }

    init(entry: SegmentEntry, bytesSinceOffsetEntry: Int64, lastTimeEntryTimestamp: Int64, firstBatchTimestamp: Int64?)
    {
        self.entry = entry
        self.bytesSinceOffsetEntry = bytesSinceOffsetEntry
        self.lastTimeEntryTimestamp = lastTimeEntryTimestamp
        self.firstBatchTimestamp = firstBatchTimestamp
    }

    /// Accounts for a batch written at the current end, appending any index entries it earns to the buffers.
    ///
    /// A batch is indexed when at least `interval` bytes precede it since the last entry (the first batch never:
    /// a lookup starts at position 0 anyway). At each indexed batch the time index gets `(max timestamp so far,
    /// this batch's last offset)` if the max grew: every batch up to that offset has a max timestamp at most that.
    mutating func append(
        baseOffset: Int64, lastOffset: Int64, maxTimestamp: Int64, size: Int, interval: Int,
        offsetEntries offsetBuffer: inout [UInt8], timeEntries timeBuffer: inout [UInt8]
    ) {
        let segmentBase = entry.segment.baseOffset
        let indexed = bytesSinceOffsetEntry >= Int64(interval)
        if indexed {
            offsetBuffer.appendBigEndian(UInt32(truncatingIfNeeded: baseOffset - segmentBase))
            offsetBuffer.appendBigEndian(UInt32(truncatingIfNeeded: entry.size))
            entry.offsetEntries += 1
            bytesSinceOffsetEntry = 0
        }
        entry.maxTimestamp = max(entry.maxTimestamp, maxTimestamp)
        if indexed && entry.maxTimestamp > lastTimeEntryTimestamp {
            timeBuffer.appendBigEndian(entry.maxTimestamp)
            timeBuffer.appendBigEndian(UInt32(truncatingIfNeeded: lastOffset - segmentBase))
            entry.timeEntries += 1
            lastTimeEntryTimestamp = entry.maxTimestamp
        }
        if firstBatchTimestamp == nil { firstBatchTimestamp = maxTimestamp }
        bytesSinceOffsetEntry += Int64(size)
        entry.size += Int64(size)
        entry.nextOffset = lastOffset + 1
    }

    /// The time-index entry that closes a segment (on roll or clean close), so the segment's max timestamp can
    /// be read from its last entry when it is opened again.
    mutating func appendFinalTimeEntry(into timeBuffer: inout [UInt8]) {
        guard entry.size > 0, entry.maxTimestamp > lastTimeEntryTimestamp else { return }
        timeBuffer.appendBigEndian(entry.maxTimestamp)
        timeBuffer.appendBigEndian(UInt32(truncatingIfNeeded: entry.nextOffset - 1 - entry.segment.baseOffset))
        entry.timeEntries += 1
        lastTimeEntryTimestamp = entry.maxTimestamp
    }
}
