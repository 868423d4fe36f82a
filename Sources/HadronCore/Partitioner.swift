public import CloudEvents

/// Chooses the partition of a stream that an event goes to (DESIGN §4).
///
/// Keyed events go where Kafka's default partitioner would put the same key, so ordering per key holds and
/// Kafka users find their keys where they expect; keyless events go to a sticky partition that the caller
/// rotates once per batch, so a batch stays one append on one leader.
public enum Partitioner {
    /// The partition for a key: `toPositive(murmur2(utf8(key))) % partitions`, as Kafka computes it.
    public static func partition(forKey key: String, partitions: Int) -> Int {
        precondition(partitions > 0, "a stream has at least one partition, got \(partitions)")
        return Int(Murmur2.toPositive(Murmur2.hash(key))) % partitions
    }

    /// The partition for `event`: by its ``PartitionKey`` when it has one, otherwise the sticky partition.
    public static func partition(for event: CloudEvent, partitions: Int, sticky: StickyPartition) -> Int {
        if let key = PartitionKey.from(event: event) {
            return partition(forKey: key, partitions: partitions)
        }
        return sticky.partition(partitions: partitions)
    }
}
