import Synchronization

/// The gateway's one ``PartitionWriter`` per partition and one ``StickyCounter`` per stream, made on first use.
///
/// Coalescing only works if every request for a partition reaches the same writer, so they live here rather than
/// per connection; the lock is held for a dictionary lookup, never across an await.
final class PartitionWriters: Sendable {
    private struct Key: Hashable {
        var stream: String
        var partition: Int
    }

    private struct State {
        var writers: [Key: PartitionWriter] = [:]
        var stickies: [String: StickyCounter] = [:]

        mutating func sticky(_ stream: String) -> StickyCounter {
            if let sticky = stickies[stream] { return sticky }
            let sticky = StickyCounter()
            stickies[stream] = sticky
            return sticky
        }
    }

    private let state = Mutex(State())
    private let make: @Sendable (String, Int, StickyCounter) -> PartitionWriter

    /// - Parameter make: makes a partition's writer; it rotates the stream's sticky counter as it sends batches.
    init(
        make: @escaping @Sendable (_ stream: String, _ partition: Int, _ sticky: StickyCounter) -> PartitionWriter
    ) {
        self.make = make
    }

    func writer(stream: String, partition: Int) -> PartitionWriter {
        let key = Key(stream: stream, partition: partition)
        return state.withLock { state in
            if let writer = state.writers[key] { return writer }
            let writer = make(stream, partition, state.sticky(stream))
            state.writers[key] = writer
            return writer
        }
    }

    /// Where `stream`'s keyless events go now.
    func sticky(stream: String) -> StickyCounter {
        state.withLock { $0.sticky(stream) }
    }
}

/// The position of a stream's sticky partition in one gateway (Kafka's sticky partitioner, KIP-480).
///
/// Keyless single events go to the partition whose batch is forming, and the position moves on once that partition's
/// writer sends a batch holding them. Under load, concurrent single events then pile into one queued batch instead
/// of spreading one by one over every partition's queue: fewer, larger batches, so fewer storage round trips and
/// replication rounds per event. Sequential requests still take turns, since each one's batch is sent at once; a
/// request in batched mode takes the next position at once (see ``PublishHandler``). The counter starts at a random
/// position, so gateways started together do not all begin on partition 0.
///
/// It also keeps how many requests the stream's last record batch gathered: the sign of concurrent load that
/// ``PartitionWriter`` lingers on.
final class StickyCounter: Sendable {
    private let position = Atomic<UInt64>(UInt64.random(in: 0..<1024))
    private let lastBatchSubmissions = Atomic<Int>(0)

    /// A batch gathering this many requests or more means enough concurrent senders that waiting for more pays.
    /// At 4, four concurrent senders lingered at times and lost a tenth of their rate; at 8 they never linger,
    /// while 64 still do (their batches gather a dozen requests even without the wait).
    static let busyBatchSubmissions = 8

    /// Whether the stream's last batch gathered enough requests to show concurrent load.
    var isBusy: Bool { lastBatchSubmissions.load(ordering: .relaxed) >= Self.busyBatchSubmissions }

    /// Notes a batch of the stream being sent with `submissions` requests in it.
    func batchSent(submissions: Int) { lastBatchSubmissions.store(submissions, ordering: .relaxed) }

    /// The current position; its partition is `position % partitions` (``StickyPartition``).
    func current() -> UInt64 {
        position.load(ordering: .relaxed)
    }

    /// The current position, moving on at once: for a request that is a batch of its own.
    func next() -> UInt64 {
        position.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Moves on from `position`, once a batch routed by it is sent; a no-op when something else already did.
    func rotate(from position: UInt64) {
        _ = self.position.compareExchange(expected: position, desired: position &+ 1, ordering: .relaxed)
    }
}
