import HadronCore

/// The whole record batches that hold a range of offsets, cut from what the log returned.
///
/// Storage never decodes events: a consumer-group delivery counts events by the batch headers alone
/// (`recordCount`, offsets) and hands out whole batches, leaving the caller to drop events outside `first…last`.
struct BatchSpan: Sendable, Hashable {
    /// Whole batches, exactly as stored, the first holding ``first`` and the last holding ``last``.
    let bytes: [UInt8]
    let first: Int64
    let last: Int64

    /// Takes, from `batches` (whole batches in offset order, the first holding `first`), those needed for at most
    /// `maxEvents` events from `first` on and none past `limit`. Nil when `batches` hold nothing from `first` on.
    init?(batches: [UInt8], first: Int64, maxEvents: Int64, limit: Int64 = .max) throws(ReplicaError) {
        precondition(maxEvents > 0, "a span holds at least one event")
        let wanted = min(limit, first + (maxEvents - 1))
        var end = 0
        var last: Int64?
        while end < batches.count {
            let header: RecordBatchHeader
            do {
                header = try batches.withUnsafeBytes { raw in
                    try Result { () throws(RecordBatchError) in
                        try RecordBatchHeader(parsing: UnsafeRawBufferPointer(rebasing: raw[end...]))
                    }.get()
                }
            } catch {
                throw .storageFailure("the log returned a damaged batch at byte \(end): \(error)")
            }
            guard header.baseOffset <= wanted, end + header.totalSize <= batches.count else { break }
            end += header.totalSize
            if header.lastOffset >= first { last = min(header.lastOffset, wanted) }
            if header.lastOffset >= wanted { break }
        }
        guard let last, last >= first else { return nil }
        self.bytes = end == batches.count ? batches : Array(batches[..<end])
        self.first = first
        self.last = last
    }
}
