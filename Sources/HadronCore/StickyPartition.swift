/// The partition that keyless events go to until the current batch is sent, then the next one.
///
/// Kafka's sticky partitioner showed that spreading keyless records one by one fragments batches and costs
/// latency; sticking to one partition per batch keeps each batch a single append on a single leader, and
/// rotating afterwards spreads load evenly over time. A value type: each gateway connection or batcher owns one,
/// so there is no shared state to lock.
public struct StickyPartition: Sendable, Hashable {
    /// A counter, not a partition: the partition count may change between batches (a stream can grow).
    private var position: UInt64

    /// Starts at `start`; give different gateways different starts (a random one) so they do not all pile onto
    /// partition 0 at once.
    public init(start: UInt64 = 0) {
        position = start
    }

    /// The partition for keyless events of the current batch.
    public func partition(partitions: Int) -> Int {
        precondition(partitions > 0, "a stream has at least one partition, got \(partitions)")
        return Int(position % UInt64(partitions))
    }

    /// Moves to the next partition; call once a batch has been sent.
    public mutating func rotate() {
        position &+= 1
    }
}
