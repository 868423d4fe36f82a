import CloudEvents
import HadronCore
import HadronTestSupport
import SegmentLog
import Testing

@testable import HadronStorage

/// Rebuilding the table from a real partition log: what a replica does on open and after truncating.
@Suite struct ProducerStateRebuildTests {
    /// A batch as a gateway's idempotent producer encodes it.
    static func batch(_ producerId: Int64, epoch: Int16 = 0, sequence: Int32, count: Int) -> [UInt8] {
        let events = (0..<count).map { index in
            CloudEvent(
                id: "\(producerId)-\(epoch)-\(sequence)-\(index)", source: URIReference(unchecked: "/producer-tests"),
                type: "com.example.test", datacontenttype: "application/octet-stream",
                data: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 64))
        }
        return RecordBatchEncoder(producerId: producerId, producerEpoch: epoch, baseSequence: sequence)
            .encode(events, receiveTime: 1_700_000_000_000)
    }

    static func open(_ directory: TemporaryDirectory, segmentBytes: Int64 = 1 << 20) async throws -> PartitionLog {
        try await PartitionLog.open(
            directory: directory.path, configuration: LogConfiguration(segmentBytes: segmentBytes, durability: .none),
            logger: quietLogger)
    }

    @Test func retriesAreRecognisedWithTheirOffsetsAfterTheLogIsReopened() async throws {
        let directory = TemporaryDirectory("producer-state")
        defer { directory.remove() }
        var log = try await Self.open(directory)
        var sevens: [AppendResult] = []
        for sequence in stride(from: Int32(0), to: 12, by: 3) {
            sevens.append(try await log.append(Self.batch(7, epoch: 2, sequence: sequence, count: 3), epoch: 1))
            _ = try await log.append(Self.batch(-1, epoch: -1, sequence: -1, count: 1), epoch: 1)
        }
        let eight = try await log.append(Self.batch(8, sequence: 40, count: 2), epoch: 1)
        try await log.close()

        log = try await Self.open(directory)
        var table = try ProducerStateTable.rebuild(from: log, maxScanBytes: 1 << 20)
        try await log.close()
        #expect(table.producerCount == 2)
        for (index, sequence) in stride(from: Int32(0), to: 12, by: 3).enumerated() {
            #expect(
                table.admit(producerBatch(7, epoch: 2, sequence: sequence, count: 3))
                    == .duplicate(firstOffset: sevens[index].firstOffset, lastOffset: sevens[index].lastOffset))
        }
        #expect(
            table.admit(producerBatch(8, sequence: 40, count: 2))
                == .duplicate(firstOffset: eight.firstOffset, lastOffset: eight.lastOffset))
        #expect(table.admit(producerBatch(7, epoch: 1, sequence: 12)) == .staleProducerEpoch(current: 2))
        #expect(table.admit(producerBatch(8, sequence: 43)) == .outOfOrder(expected: 42))
        #expect(table.admit(producerBatch(7, epoch: 2, sequence: 12)) == .append)
    }

    @Test func batchesRemovedByTruncationAreNoLongerDuplicates() async throws {
        let directory = TemporaryDirectory("producer-state")
        defer { directory.remove() }
        let log = try await Self.open(directory)
        for sequence in stride(from: Int32(0), to: 8, by: 2) {
            _ = try await log.append(Self.batch(7, sequence: sequence, count: 2), epoch: 1)
        }
        var before = try ProducerStateTable.rebuild(from: log, maxScanBytes: 1 << 20)
        #expect(before.admit(producerBatch(7, sequence: 4, count: 2)) == .duplicate(firstOffset: 4, lastOffset: 5))

        #expect(try await log.truncate(to: 4) == 4)
        var table = try ProducerStateTable.rebuild(from: log, maxScanBytes: 1 << 20)
        try await log.close()
        #expect(table.admit(producerBatch(7, sequence: 2, count: 2)) == .duplicate(firstOffset: 2, lastOffset: 3))
        #expect(table.admit(producerBatch(7, sequence: 6, count: 2)) == .outOfOrder(expected: 4))
        #expect(table.admit(producerBatch(7, sequence: 4, count: 2)) == .append)
    }

    @Test func aBoundedScanForgetsProducersOnlyOlderSegmentsMention() async throws {
        let directory = TemporaryDirectory("producer-state")
        defer { directory.remove() }
        let log = try await Self.open(directory, segmentBytes: 2_048)
        for sequence in stride(from: Int32(0), to: 9, by: 3) {
            _ = try await log.append(Self.batch(1, sequence: sequence, count: 3), epoch: 1)
        }
        var lastOfTwo = AppendResult(firstOffset: -1, lastOffset: -1)
        for sequence in stride(from: Int32(0), to: 90, by: 3) {
            lastOfTwo = try await log.append(Self.batch(2, sequence: sequence, count: 3), epoch: 1)
        }
        #expect(log.segmentBaseOffsets.count > 5)

        var bounded = try ProducerStateTable.rebuild(from: log, maxScanBytes: 4_096)
        var whole = try ProducerStateTable.rebuild(from: log, maxScanBytes: .max)
        try await log.close()
        #expect(bounded.producerCount == 1)
        #expect(bounded.admit(producerBatch(1, sequence: 100)) == .append)
        #expect(
            bounded.admit(producerBatch(2, sequence: 87, count: 3))
                == .duplicate(firstOffset: lastOfTwo.firstOffset, lastOffset: lastOfTwo.lastOffset))
        #expect(bounded.admit(producerBatch(2, sequence: 100)) == .outOfOrder(expected: 90))
        #expect(whole.producerCount == 2)
        #expect(whole.admit(producerBatch(1, sequence: 100)) == .outOfOrder(expected: 9))
    }

    @Test func aFollowerRecordsTheBatchesItCopies() async throws {
        let directory = TemporaryDirectory("producer-state")
        defer { directory.remove() }
        let log = try await Self.open(directory)
        _ = try await log.append(Self.batch(5, sequence: 0, count: 2), epoch: 1)
        _ = try await log.append(Self.batch(6, sequence: 9, count: 1), epoch: 1)
        let fetched = try log.read(from: 0, maxBytes: 1 << 20)
        try await log.close()

        var table = ProducerStateTable()
        try table.record(batchesIn: fetched.bytes)
        #expect(table.admit(producerBatch(5, sequence: 0, count: 2)) == .duplicate(firstOffset: 0, lastOffset: 1))
        #expect(table.admit(producerBatch(6, sequence: 9)) == .duplicate(firstOffset: 2, lastOffset: 2))
        #expect(table.admit(producerBatch(6, sequence: 11)) == .outOfOrder(expected: 10))
    }
}
