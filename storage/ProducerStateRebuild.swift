import HadronCore
import SegmentLog

extension ProducerStateTable {
    /// The table as the newest `maxScanBytes` (about) of `log` describe it, for a replica that opens its log or has
    /// just truncated it: the table must then describe exactly the batches the log holds.
    ///
    /// Scanning is bounded because it runs on every open and every follower truncation, and a log can hold
    /// gigabytes. Producers whose batches all lie before the scan are forgotten and ``admit(_:)`` accepts them
    /// anew; what matters for deduplication is the batches in flight when a leader failed, and those are the newest.
    /// Reads whole batches with ``PartitionLog/read(from:maxBytes:upTo:)`` and decodes their headers only; the
    /// caller must not append while it runs.
    static func rebuild(
        from log: PartitionLog, maxScanBytes: Int, maxProducers: Int = Self.defaultMaxProducers
    ) throws -> ProducerStateTable {
        var table = ProducerStateTable(maxProducers: maxProducers)
        let end = log.logEndOffset
        var next = scanStart(
            segments: log.segmentSizes, logStartOffset: log.logStartOffset, logEndOffset: end,
            maxScanBytes: maxScanBytes)
        let chunk = max(1, min(maxScanBytes, 1 << 20))
        while next < end {
            let read = try log.read(from: next, maxBytes: chunk, upTo: end)
            guard !read.bytes.isEmpty else { break }
            try table.record(batchesIn: read.bytes)
            next = read.nextOffset
        }
        return table
    }

    /// Records every batch in `bytes`, whole batches back to back as the log stores them: a follower's append, or
    /// one read of a rebuild.
    mutating func record(batchesIn bytes: some LogBytes) throws(RecordBatchError) {
        var position = 0
        while position < bytes.byteCount {
            let header = try bytes.withUnsafeBytes { raw in
                Result { () throws(RecordBatchError) in
                    try RecordBatchHeader(parsing: UnsafeRawBufferPointer(rebasing: raw[position...]))
                }
            }.get()
            record(header)
            position += header.totalSize
        }
    }

    /// The offset from which the last `maxScanBytes` of the log begin (about: inside a segment, its bytes are taken
    /// to be spread evenly over its offsets), given each segment's base offset and size, oldest first.
    static func scanStart(
        segments: [(baseOffset: Int64, bytes: Int64)], logStartOffset: Int64, logEndOffset: Int64, maxScanBytes: Int
    ) -> Int64 {
        var budget = Int64(max(0, maxScanBytes))
        var segmentEnd = logEndOffset
        for segment in segments.reversed() {
            let first = min(max(segment.baseOffset, logStartOffset), segmentEnd)
            guard segment.bytes > budget else {
                budget -= segment.bytes
                segmentEnd = first
                continue
            }
            let skipped = Double(segmentEnd - first) * Double(segment.bytes - budget) / Double(segment.bytes)
            return min(segmentEnd, first + Int64(skipped.rounded(.up)))
        }
        return segmentEnd
    }
}
