import HadronCore
import HadronHTTP
import NIOCore

/// Decodes the whole record batches storage answers fetches and leases with (docs/internal-api.md) into the events
/// a client asked for.
///
/// Storage sends whole batches, so the first may start before the requested offset and the last may run past what
/// the client wants; the events outside the range are dropped here. Decoding stops once enough events are found.
enum StoredRecords {
    /// The records with offsets in `range`, at most `limit` of them, in offset order.
    static func decode(_ body: ByteBuffer, range: ClosedRange<Int64>, limit: Int) throws(ProblemDetails)
        -> [EventRecord]
    {
        let result = body.withUnsafeReadableBytes { raw in
            Result { () throws(RecordBatchError) -> [EventRecord] in
                var records: [EventRecord] = []
                var position = 0
                while position < raw.count, records.count < limit {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[position...])
                    let header = try RecordBatchHeader(parsing: rest)
                    guard header.totalSize <= rest.count else {
                        throw RecordBatchError(.truncated, "the answer ends inside a batch")
                    }
                    defer { position += header.totalSize }
                    guard header.lastOffset >= range.lowerBound, header.baseOffset <= range.upperBound else { continue }
                    let batch = UnsafeRawBufferPointer(rebasing: rest[..<header.totalSize])
                    for record in try RecordBatch.decodeRecords(batch) where range.contains(record.offset) {
                        records.append(record)
                        if records.count == limit { break }
                    }
                }
                return records
            }
        }
        do {
            return try result.get()
        } catch {
            throw ProblemDetails(.badGateway, "storage sent records that do not decode: \(error)")
        }
    }
}
