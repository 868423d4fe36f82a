import HadronCore

/// A record batch as its idempotent producer numbered it: who sent it, in which producer epoch, and which sequence
/// numbers its records carry. The leader judges a batch by this alone, before the log gives it offsets.
struct ProducerBatch: Sendable, Hashable {
    var producerId: Int64
    var producerEpoch: Int16
    var baseSequence: Int32
    var recordCount: Int32

    init(producerId: Int64, producerEpoch: Int16, baseSequence: Int32, recordCount: Int32) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    init(_ header: RecordBatchHeader) {
        self.init(
            producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
            recordCount: header.recordCount)
    }

    /// Kafka's "no producer id" (-1) marks a batch from a producer that does not ask for deduplication.
    var isIdempotent: Bool { producerId >= 0 }

    /// The sequence the producer gives the record after this batch.
    var nextSequence: Int32 { Self.sequence(after: baseSequence, adding: recordCount) }

    /// The sequence `count` records after `sequence`, wrapping past `Int32.max` to 0 as Kafka (and the gateway's
    /// `PartitionWriter`) do.
    static func sequence(after sequence: Int32, adding count: Int32) -> Int32 {
        let next = Int64(sequence) + Int64(count)
        return next > Int64(Int32.max) ? Int32(next - Int64(Int32.max) - 1) : Int32(next)
    }
}
