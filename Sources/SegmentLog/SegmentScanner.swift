import HadronCore

/// Walks a segment file from a position batch by batch, reading it in large chunks and verifying each batch's
/// CRC, for recovery and index rebuilds: the only code paths that read every byte of a segment.
struct SegmentScanner {
    enum Step {
        /// A whole, valid batch at `position` (the scanner has moved past it).
        case batch(RecordBatchHeader, position: Int64)
        /// The bytes at `position` are not a whole, valid batch.
        case damage(position: Int64, reason: String)
        case end
    }

    private let segment: Segment
    private let fileSize: Int64
    private(set) var position: Int64
    private var buffer: [UInt8]
    private var bufferStart: Int64 = 0
    private var bufferCount = 0

    init(segment: Segment, fileSize: Int64, from position: Int64 = 0, chunkSize: Int = 1 << 20) {
        self.segment = segment
        self.fileSize = fileSize
        self.position = position
        buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    mutating func next() throws(LogError) -> Step {
        guard position < fileSize else { return .end }
        let remaining = fileSize - position
        guard remaining >= Int64(RecordBatchHeader.size) else {
            return .damage(position: position, reason: "\(remaining) bytes remain, less than a batch header")
        }
        try load(count: RecordBatchHeader.size)
        let start = Int(position - bufferStart)
        let header: RecordBatchHeader
        do {
            header = try buffer.withUnsafeBytes { raw in
                Result { () throws(RecordBatchError) in
                    try RecordBatchHeader(
                        parsing: UnsafeRawBufferPointer(rebasing: raw[start..<(start + RecordBatchHeader.size)]))
                }
            }.get()
        } catch {
            return .damage(position: position, reason: error.message)
        }
        guard Int64(header.totalSize) <= remaining else {
            return .damage(
                position: position, reason: "the batch is \(header.totalSize) bytes but only \(remaining) remain")
        }
        try load(count: header.totalSize)
        let batchStart = Int(position - bufferStart)
        do {
            try buffer.withUnsafeBytes { raw in
                Result { () throws(RecordBatchError) in
                    _ = try RecordBatch.verify(
                        UnsafeRawBufferPointer(rebasing: raw[batchStart..<(batchStart + header.totalSize)]))
                }
            }.get()
        } catch {
            return .damage(position: position, reason: error.message)
        }
        let at = position
        position += Int64(header.totalSize)
        return .batch(header, position: at)
    }

    /// Makes `count` bytes from `position` available in the buffer, refilling (and growing it for a large batch).
    private mutating func load(count: Int) throws(LogError) {
        if position >= bufferStart && position + Int64(count) <= bufferStart + Int64(bufferCount) { return }
        if count > buffer.count { buffer = [UInt8](repeating: 0, count: count) }
        let want = Int(min(Int64(buffer.count), fileSize - position))
        let segment = self.segment
        let at = position
        let read = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(LogError) in
                try segment.log.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: at)
            }
        }.get()
        bufferStart = position
        bufferCount = read
        guard read >= count else {
            throw LogError(
                .io, "\(segment.log.path): the file shrank while it was being scanned at position \(position)",
                path: segment.log.path, position: position)
        }
    }
}
