import HadronCore
import Testing

@testable import HadronStorage

/// A leader's use of the table without a log: admit, and on `.append` record the batch at the next offsets.
struct ProducerStateLeader {
    var table: ProducerStateTable
    var logEndOffset: Int64 = 0

    init(maxProducers: Int = ProducerStateTable.defaultMaxProducers) {
        table = ProducerStateTable(maxProducers: maxProducers)
    }

    /// Admits the batch and, if it is to be appended, stores it; returns the verdict.
    mutating func append(
        _ producerId: Int64, epoch: Int16 = 0, sequence: Int32, count: Int32 = 1
    ) -> ProducerStateTable.Admission {
        let batch = ProducerBatch(
            producerId: producerId, producerEpoch: epoch, baseSequence: sequence, recordCount: count)
        let verdict = table.admit(batch)
        if verdict == .append {
            table.record(Self.header(batch, at: logEndOffset))
            logEndOffset += Int64(count)
        }
        return verdict
    }

    /// The header the log would hold for `batch` stored at `offset`.
    static func header(_ batch: ProducerBatch, at offset: Int64) -> RecordBatchHeader {
        RecordBatchHeader(
            baseOffset: offset, batchLength: RecordBatchHeader.minimumBatchLength,
            lastOffsetDelta: batch.recordCount - 1, firstTimestamp: 0, maxTimestamp: 0, producerId: batch.producerId,
            producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence, recordCount: batch.recordCount)
    }
}

func producerBatch(_ producerId: Int64, epoch: Int16 = 0, sequence: Int32, count: Int32 = 1) -> ProducerBatch {
    ProducerBatch(producerId: producerId, producerEpoch: epoch, baseSequence: sequence, recordCount: count)
}

/// Kafka's idempotent-producer rules, checked verdict by verdict.
@Suite struct ProducerStateTableTests {
    @Test func batchesInSequenceAreAppendedAndAGapIsOutOfOrder() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, sequence: 0, count: 3) == .append)
        #expect(leader.append(1, sequence: 3, count: 2) == .append)
        #expect(leader.append(1, sequence: 5) == .append)
        #expect(leader.append(1, sequence: 7) == .outOfOrder(expected: 6))
        #expect(leader.append(1, sequence: 6) == .append)
        #expect(leader.logEndOffset == 7)
    }

    @Test func anUnknownProducerMayStartAtAnySequence() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, epoch: 4, sequence: 1_000, count: 10) == .append)
        #expect(leader.append(1, epoch: 4, sequence: 1_010) == .append)
        #expect(leader.append(2, sequence: 77) == .append)
    }

    @Test func aRetryOfEachOfTheLastFiveBatchesGetsItsOriginalOffsets() {
        var leader = ProducerStateLeader()
        #expect(leader.append(9, sequence: 0, count: 4) == .append)  // another producer's batch moves the offsets
        for index in Int32(0)..<6 {
            #expect(leader.append(1, sequence: index * 2, count: 2) == .append)
        }
        for index in Int64(1)..<6 {
            let firstOffset = 4 + index * 2
            #expect(
                leader.append(1, sequence: Int32(index) * 2, count: 2)
                    == .duplicate(firstOffset: firstOffset, lastOffset: firstOffset + 1))
        }
        // The sixth newest is forgotten: going back to it is out of order, and nothing was written twice.
        #expect(leader.append(1, sequence: 0, count: 2) == .outOfOrder(expected: 12))
        #expect(leader.logEndOffset == 16)
    }

    @Test func aBatchAtARememberedSequenceWithAnotherCountIsOutOfOrder() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, sequence: 0, count: 3) == .append)
        #expect(leader.append(1, sequence: 0, count: 2) == .outOfOrder(expected: 3))
    }

    @Test func anOlderProducerEpochIsStaleEvenForARememberedBatch() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, epoch: 2, sequence: 0) == .append)
        #expect(leader.append(1, epoch: 3, sequence: 0) == .append)
        #expect(leader.append(1, epoch: 2, sequence: 0) == .staleProducerEpoch(current: 3))
        #expect(leader.append(1, epoch: 2, sequence: 1) == .staleProducerEpoch(current: 3))
        #expect(leader.logEndOffset == 2)
    }

    @Test func aNewProducerEpochMustStartAtZeroAndStartsAFreshCache() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, sequence: 0, count: 5) == .append)
        #expect(leader.append(1, epoch: 1, sequence: 5) == .outOfOrder(expected: 0))
        #expect(leader.append(1, epoch: 1, sequence: 0, count: 2) == .append)
        #expect(leader.append(1, epoch: 1, sequence: 0, count: 2) == .duplicate(firstOffset: 5, lastOffset: 6))
        #expect(leader.append(1, epoch: 1, sequence: 2) == .append)
        // A rejected new epoch changed nothing: the old epoch went on accepting its next batch before it.
        var other = ProducerStateLeader()
        #expect(other.append(2, sequence: 0) == .append)
        #expect(other.append(2, epoch: 1, sequence: 3) == .outOfOrder(expected: 0))
        #expect(other.append(2, sequence: 1) == .append)
    }

    @Test func sequencesWrapFromInt32MaxToZero() {
        var leader = ProducerStateLeader()
        #expect(leader.append(1, sequence: Int32.max - 1, count: 3) == .append)  // max-1, max, 0
        #expect(leader.append(1, sequence: 0) == .outOfOrder(expected: 1))
        #expect(leader.append(1, sequence: 1, count: 2) == .append)
        #expect(
            leader.append(1, sequence: Int32.max - 1, count: 3) == .duplicate(firstOffset: 0, lastOffset: 2))
        #expect(leader.append(1, sequence: 3) == .append)
        #expect(ProducerBatch.sequence(after: Int32.max, adding: 1) == 0)
        #expect(ProducerBatch.sequence(after: Int32.max - 2, adding: 2) == Int32.max)
    }

    @Test func aBatchWhoseAppendIsUnderWayIsInFlightUntilRecorded() {
        var table = ProducerStateTable()
        let first = producerBatch(1, sequence: 0, count: 2)
        #expect(table.admit(first) == .append)
        #expect(table.admit(first) == .inFlight)
        // Anything else from the producer waits for the outcome too; other producers do not.
        #expect(table.admit(producerBatch(1, sequence: 2)) == .inFlight)
        #expect(table.admit(producerBatch(1, epoch: 1, sequence: 0)) == .inFlight)
        #expect(table.admit(producerBatch(2, sequence: 0)) == .append)
        table.record(ProducerStateLeader.header(first, at: 40))
        #expect(table.admit(first) == .duplicate(firstOffset: 40, lastOffset: 41))
        #expect(table.admit(producerBatch(1, sequence: 2)) == .append)
    }

    @Test func aRememberedBatchIsADuplicateWhileTheNextIsInFlight() {
        var table = ProducerStateTable()
        let first = producerBatch(1, sequence: 0)
        #expect(table.admit(first) == .append)
        table.record(ProducerStateLeader.header(first, at: 0))
        #expect(table.admit(producerBatch(1, sequence: 1)) == .append)
        #expect(table.admit(first) == .duplicate(firstOffset: 0, lastOffset: 0))
    }

    @Test func anAbandonedBatchIsAdmittedAgain() {
        var table = ProducerStateTable()
        let unknown = producerBatch(1, sequence: 5)
        #expect(table.admit(unknown) == .append)
        table.abandon(unknown)
        #expect(table.admit(unknown) == .append)
        table.record(ProducerStateLeader.header(unknown, at: 0))

        let next = producerBatch(1, sequence: 6, count: 3)
        #expect(table.admit(next) == .append)
        table.abandon(producerBatch(1, sequence: 6, count: 2))  // not the batch in flight: no effect
        #expect(table.admit(next) == .inFlight)
        table.abandon(next)
        #expect(table.admit(next) == .append)
    }

    @Test func batchesWithoutAProducerIdAreAlwaysAppendedAndNeverRemembered() {
        var leader = ProducerStateLeader()
        for _ in 0..<3 {
            #expect(leader.append(-1, epoch: -1, sequence: -1, count: 2) == .append)
        }
        #expect(leader.logEndOffset == 6)
        #expect(leader.table.producerCount == 0)
    }

    @Test func theLeastRecentlyUsedProducerIsForgottenBeyondTheBound() {
        var leader = ProducerStateLeader(maxProducers: 3)
        for producer in Int64(1)...3 {
            #expect(leader.append(producer, sequence: 0) == .append)
        }
        #expect(leader.append(1, sequence: 0) == .duplicate(firstOffset: 0, lastOffset: 0))  // 1 is used again
        #expect(leader.append(4, sequence: 0) == .append)
        #expect(leader.table.producerCount == 3)
        // Producer 2 is unknown again, so any sequence is accepted (and 3 makes room for it); 1 and 4 are still
        // held to theirs.
        #expect(leader.append(2, sequence: 50) == .append)
        #expect(leader.append(1, sequence: 50) == .outOfOrder(expected: 1))
        #expect(leader.append(4, sequence: 50) == .outOfOrder(expected: 1))
    }

    @Test func manyProducersNeverExceedTheBound() {
        var leader = ProducerStateLeader(maxProducers: 100)
        for producer in Int64(0)..<1_000 {
            #expect(leader.append(producer, sequence: 0) == .append)
            #expect(leader.table.producerCount <= 100)
        }
        #expect(leader.append(999, sequence: 0) == .duplicate(firstOffset: 999, lastOffset: 999))
        #expect(leader.append(0, sequence: 5) == .append)  // long forgotten
    }

    @Test func recordingAFollowersBatchesNeedsNoAdmission() throws {
        var table = ProducerStateTable()
        table.record(ProducerStateLeader.header(producerBatch(1, sequence: 0, count: 2), at: 10))
        table.record(ProducerStateLeader.header(producerBatch(1, epoch: 1, sequence: 0), at: 12))
        // After promotion the table answers as the leader that wrote them would.
        #expect(table.admit(producerBatch(1, epoch: 1, sequence: 0)) == .duplicate(firstOffset: 12, lastOffset: 12))
        #expect(table.admit(producerBatch(1, sequence: 0, count: 2)) == .staleProducerEpoch(current: 1))
        #expect(table.admit(producerBatch(1, epoch: 1, sequence: 2)) == .outOfOrder(expected: 1))
    }

    @Test func theScanStartsWhereTheNewestBytesBegin() {
        let segments: [(baseOffset: Int64, bytes: Int64)] = [(0, 1_000), (100, 1_000), (200, 500)]
        func start(_ budget: Int, logStart: Int64 = 0) -> Int64 {
            ProducerStateTable.scanStart(
                segments: segments, logStartOffset: logStart, logEndOffset: 250, maxScanBytes: budget)
        }
        #expect(start(0) == 250)
        #expect(start(250) == 225)
        #expect(start(500) == 200)
        #expect(start(1_000) == 150)
        #expect(start(1_500) == 100)
        #expect(start(2_000) == 50)
        #expect(start(10_000) == 0)
        #expect(start(10_000, logStart: 30) == 30)
    }
}
