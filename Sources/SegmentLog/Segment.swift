import HadronCore
import Synchronization

/// One segment: a log file of whole batches named by its base offset, a sparse offset index and a time index.
///
/// Immutable and shareable: the writer appends through the descriptors, readers `pread` them, and the sizes that
/// say how much of each file is valid live in ``SegmentEntry`` (published under the log's lock), never here.
/// Index lookups read entries with `pread` on demand, so a closed segment costs three descriptors and no memory
/// however large its indexes (resident memory must not grow with the log).
final class Segment: Sendable {
    /// `relativeOffset: UInt32, position: UInt32`, big-endian.
    static let offsetEntrySize = 8
    /// `maxTimestampSoFar: Int64, relativeOffset: UInt32`, big-endian.
    static let timeEntrySize = 12

    let baseOffset: Int64
    let log: DiskFile
    let offsetIndex: DiskFile
    let timeIndex: DiskFile
    /// Set once the background flusher (or the writer) has synced all three files after the segment rolled.
    private let durable = Atomic<Bool>(false)

    /// How many interval syncs of this segment, as the active one, have completed: what tests observe of the
    /// `interval` policy.
    private let tailSyncs = Atomic<Int>(0)

    var isDurable: Bool { durable.load(ordering: .acquiring) }
    func markDurable() { durable.store(true, ordering: .releasing) }

    var completedTailSyncs: Int { tailSyncs.load(ordering: .acquiring) }
    func countTailSync() { tailSyncs.add(1, ordering: .releasing) }

    init(baseOffset: Int64, log: DiskFile, offsetIndex: DiskFile, timeIndex: DiskFile) {
        self.baseOffset = baseOffset
        self.log = log
        self.offsetIndex = offsetIndex
        self.timeIndex = timeIndex
    }

    /// Opens (or creates) the three files of the segment at `baseOffset`.
    /// `fresh` creates a new, empty segment (emptying leftovers of the same name); otherwise the log file must
    /// exist and missing index files are created empty (and then rebuilt by recovery).
    static func open(baseOffset: Int64, in directory: LogDirectory, fresh: Bool) throws(LogError) -> Segment {
        let name = fileStem(baseOffset)
        return Segment(
            baseOffset: baseOffset,
            log: try DiskFile.open(name + ".log", in: directory, create: fresh, truncate: fresh),
            offsetIndex: try DiskFile.open(name + ".index", in: directory, create: true, truncate: fresh),
            timeIndex: try DiskFile.open(name + ".timeindex", in: directory, create: true, truncate: fresh))
    }

    /// The 20-digit, zero-padded base offset: names sort in offset order.
    static func fileStem(_ baseOffset: Int64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The base offset a segment file name stands for, or nil for any other file.
    static func baseOffset(ofLogFile name: String) -> Int64? {
        guard name.hasSuffix(".log") else { return nil }
        let stem = name.dropLast(4)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(stem)
    }

    static func fileNames(_ baseOffset: Int64) -> [String] {
        let stem = fileStem(baseOffset)
        return [stem + ".log", stem + ".index", stem + ".timeindex"]
    }

    // MARK: - Batch headers

    /// The header of the batch at `position`, which must lie wholly within the first `limit` bytes.
    func header(at position: Int64, limit: Int64) throws(LogError) -> RecordBatchHeader {
        guard position + Int64(RecordBatchHeader.size) <= limit else {
            throw corrupt(
                at: position, "a batch header needs \(RecordBatchHeader.size) bytes, \(limit - position) remain")
        }
        var storage = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return try withUnsafeMutableBytes(of: &storage) { raw in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: raw[0..<RecordBatchHeader.size])
            return Result { () throws(LogError) in
                try log.readExactly(into: buffer, at: position)
                return try parseHeader(UnsafeRawBufferPointer(buffer), at: position, limit: limit)
            }
        }.get()
    }

    /// Parses a header read from `position` and checks that its batch ends within `limit`.
    func parseHeader(_ bytes: UnsafeRawBufferPointer, at position: Int64, limit: Int64) throws(LogError)
        -> RecordBatchHeader
    {
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader(parsing: bytes)
        } catch {
            throw corrupt(at: position, error.message)
        }
        guard position + Int64(header.totalSize) <= limit else {
            throw corrupt(at: position, "the batch is \(header.totalSize) bytes but only \(limit - position) remain")
        }
        return header
    }

    func corrupt(at position: Int64, _ reason: String) -> LogError {
        LogError(
            .corruptBatch, "\(log.path): no valid batch at position \(position): \(reason)", path: log.path,
            position: position)
    }

    // MARK: - Offset index

    func offsetEntry(_ index: Int) throws(LogError) -> (offset: Int64, position: Int64) {
        var raw: UInt64 = 0
        try withUnsafeMutableBytes(of: &raw) { buffer in
            Result { () throws(LogError) in
                try offsetIndex.readExactly(into: buffer, at: Int64(index * Self.offsetEntrySize))
            }
        }.get()
        return withUnsafeBytes(of: raw) { bytes in
            (
                baseOffset + Int64(bytes.bigEndian(at: 0, as: UInt32.self)),
                Int64(bytes.bigEndian(at: 4, as: UInt32.self))
            )
        }
    }

    /// The indexed batch start nearest below `offset`: a position from which a forward scan finds it. Segment start
    /// when no entry is at or below the offset.
    func lookup(offset: Int64, entries: Int) throws(LogError) -> (offset: Int64, position: Int64) {
        var low = 0
        var high = entries - 1
        var best: (offset: Int64, position: Int64) = (baseOffset, 0)
        while low <= high {
            let middle = (low + high) / 2
            let entry = try offsetEntry(middle)
            if entry.offset <= offset {
                best = entry
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return best
    }

    /// How many leading index entries point below `position`: the entries that survive truncating the log there.
    func offsetEntries(below position: Int64, entries: Int) throws(LogError) -> Int {
        var low = 0
        var high = entries
        while low < high {
            let middle = (low + high) / 2
            if try offsetEntry(middle).position < position { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The position of the first batch whose last offset is at or after `offset` (or `limit`), scanning forward
    /// from the index entry below it; also returns that batch's header.
    func position(of offset: Int64, entries: Int, limit: Int64) throws(LogError) -> (
        position: Int64, header: RecordBatchHeader?
    ) {
        var position = try lookup(offset: offset, entries: entries).position
        while position < limit {
            let header = try header(at: position, limit: limit)
            if header.lastOffset >= offset { return (position, header) }
            position += Int64(header.totalSize)
        }
        return (limit, nil)
    }

    // MARK: - Time index

    func timeEntry(_ index: Int) throws(LogError) -> (timestamp: Int64, offset: Int64) {
        var raw = (UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &raw) { buffer in
            Result { () throws(LogError) in
                try timeIndex.readExactly(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.timeEntrySize]),
                    at: Int64(index * Self.timeEntrySize))
            }
        }.get()
        return withUnsafeBytes(of: raw) { bytes in
            (bytes.bigEndian(at: 0, as: Int64.self), baseOffset + Int64(bytes.bigEndian(at: 8, as: UInt32.self)))
        }
    }

    /// The offset of the last time-index entry whose timestamp is below `timestamp`: every batch up to and
    /// including that offset has a smaller max timestamp. Entries' timestamps strictly increase.
    func lastOffset(before timestamp: Int64, entries: Int) throws(LogError) -> Int64? {
        var low = 0
        var high = entries - 1
        var best: Int64?
        while low <= high {
            let middle = (low + high) / 2
            let entry = try timeEntry(middle)
            if entry.timestamp < timestamp {
                best = entry.offset
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return best
    }

    /// How many leading time-index entries refer to offsets below `offset`.
    func timeEntries(below offset: Int64, entries: Int) throws(LogError) -> Int {
        var low = 0
        var high = entries
        while low < high {
            let middle = (low + high) / 2
            if try timeEntry(middle).offset < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
