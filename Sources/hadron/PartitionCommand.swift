import ArgumentParser
import HadronCore

/// Shows which partition a `partitionkey` lands on: the same answer a Kafka client's default partitioner gives.
struct PartitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Print the partition a partition key maps to (Kafka-compatible murmur2).")

    @Option(help: "The number of partitions of the stream.")
    var partitions: Int

    @Argument(help: "The partition key.")
    var key: String

    func validate() throws {
        guard partitions > 0 else { throw ValidationError("--partitions must be at least 1") }
    }

    func run() {
        print(Partitioner.partition(forKey: key, partitions: partitions))
    }
}
