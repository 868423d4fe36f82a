import Synchronization

/// The gateway's one ``PartitionWriter`` per partition, made on first use.
///
/// Coalescing only works if every request for a partition reaches the same writer, so they live here rather than
/// per connection; the lock is held for a dictionary lookup, never across an await.
final class PartitionWriters: Sendable {
    private struct Key: Hashable {
        var stream: String
        var partition: Int
    }

    private let writers = Mutex<[Key: PartitionWriter]>([:])
    private let make: @Sendable (String, Int) -> PartitionWriter

    init(make: @escaping @Sendable (_ stream: String, _ partition: Int) -> PartitionWriter) {
        self.make = make
    }

    func writer(stream: String, partition: Int) -> PartitionWriter {
        let key = Key(stream: stream, partition: partition)
        return writers.withLock { writers in
            if let writer = writers[key] { return writer }
            let writer = make(stream, partition)
            writers[key] = writer
            return writer
        }
    }
}
