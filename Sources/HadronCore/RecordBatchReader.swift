public import CloudEvents

/// Decodes the events of one record batch lazily, one record per ``next()``.
///
/// A reader serving a fetch often needs only the records from some offset on, or stops at a byte budget; decoding
/// lazily spares the events it never hands out. Errors are typed and precise, and a damaged batch can never crash
/// the reader: it checks the CRC up front (unless told the caller already did) and every length as it goes.
public struct RecordBatchReader: Sendable {
    /// The batch's header, already checked.
    public let header: RecordBatchHeader
    private let bytes: [UInt8]
    private let batchStart: Int
    private var position: Int
    private var index = 0

    /// Prepares to read the batch that starts at `start` in `bytes` (which may hold more after it).
    ///
    /// - Parameter verifyingChecksum: pass `false` only when the bytes were verified since they last left memory
    ///   you control; decoding stays safe without it, but damage may then surface as wrong events.
    public init(_ bytes: [UInt8], startingAt start: Int = 0, verifyingChecksum: Bool = true) throws(RecordBatchError) {
        precondition(start >= 0 && start <= bytes.count, "start \(start) is outside the buffer")
        let parsed = bytes.withUnsafeBytes { all in
            Result { () throws(RecordBatchError) in
                let batch = UnsafeRawBufferPointer(rebasing: all[start...])
                return verifyingChecksum ? try RecordBatch.verify(batch) : try RecordBatch.checkedHeader(batch)
            }
        }
        header = try parsed.get()
        guard header.attributes == 0 else {
            throw RecordBatchError(
                .unsupportedAttributes, "attributes are \(header.attributes); this version understands only 0")
        }
        self.bytes = bytes
        batchStart = start
        position = start + RecordBatchHeader.size
    }

    /// The next record, or `nil` after the last one (having checked that nothing follows it within the batch).
    public mutating func next() throws(RecordBatchError) -> EventRecord? {
        let end = batchStart + header.totalSize
        guard index < Int(header.recordCount) else {
            guard position == end else {
                throw RecordBatchError(
                    .countMismatch,
                    "\(end - position) bytes follow the last of the \(header.recordCount) records the header counts")
            }
            return nil
        }
        let result = bytes.withUnsafeBytes { all in
            Result { () throws(RecordBatchError) in
                var cursor = RecordCursor(all, from: position, to: end)
                if cursor.remaining == 0 {
                    throw RecordBatchError(
                        .countMismatch, "the header counts \(header.recordCount) records but the batch holds \(index)")
                }
                let record = try cursor.record(index: index, header: header)
                return (record, cursor.position)
            }
        }
        let (record, next) = try result.get()
        position = next
        index += 1
        return record
    }

    /// Every remaining record.
    public mutating func readAll() throws(RecordBatchError) -> [EventRecord] {
        var records: [EventRecord] = []
        records.reserveCapacity(Int(header.recordCount) - index)
        while let record = try next() { records.append(record) }
        return records
    }
}

extension RecordBatch {
    /// Decodes every event of the batch at the start of `batch`, with its offset.
    public static func decode(
        _ batch: [UInt8], verifyingChecksum: Bool = true
    ) throws(RecordBatchError) -> [(offset: Int64, event: CloudEvent)] {
        try batch.withUnsafeBytes { raw in
            Result { () throws(RecordBatchError) in
                var events: [(offset: Int64, event: CloudEvent)] = []
                try forEachRecord(raw, verifyingChecksum: verifyingChecksum) { events.append(($0.offset, $0.event)) }
                return events
            }
        }.get()
    }

    /// Decodes every record of the batch at the start of `batch`, without copying the batch first.
    public static func decodeRecords(
        _ batch: UnsafeRawBufferPointer, verifyingChecksum: Bool = true
    ) throws(RecordBatchError) -> [EventRecord] {
        var records: [EventRecord] = []
        try forEachRecord(batch, verifyingChecksum: verifyingChecksum) { records.append($0) }
        return records
    }

    /// Checks the batch, then decodes its records in order into `body`; the one loop behind the eager decoders.
    static func forEachRecord(
        _ batch: UnsafeRawBufferPointer, verifyingChecksum: Bool, _ body: (EventRecord) -> Void
    ) throws(RecordBatchError) {
        let header = verifyingChecksum ? try verify(batch) : try checkedHeader(batch)
        guard header.attributes == 0 else {
            throw RecordBatchError(
                .unsupportedAttributes, "attributes are \(header.attributes); this version understands only 0")
        }
        let count = Int(header.recordCount)
        var cursor = RecordCursor(batch, from: RecordBatchHeader.size, to: header.totalSize)
        for index in 0..<count {
            if cursor.remaining == 0 {
                throw RecordBatchError(
                    .countMismatch, "the header counts \(count) records but the batch holds \(index)")
            }
            body(try cursor.record(index: index, header: header))
        }
        guard cursor.remaining == 0 else {
            throw RecordBatchError(
                .countMismatch, "\(cursor.remaining) bytes follow the last of the \(count) records the header counts")
        }
    }

    /// The header, checked to describe a batch wholly inside `batch`, without checking the CRC.
    static func checkedHeader(_ batch: UnsafeRawBufferPointer) throws(RecordBatchError) -> RecordBatchHeader {
        let header = try RecordBatchHeader(parsing: batch)
        guard header.totalSize <= batch.count else {
            throw RecordBatchError(
                .truncated, "the batch is \(header.totalSize) bytes but only \(batch.count) are present")
        }
        return header
    }
}
