import HadronCore

/// What a partition leader remembers of its idempotent producers, so that a batch a gateway retries — after a lost
/// answer, or on a new leader after failover (DESIGN §8) — is stored once and answered with its original offsets.
///
/// Kafka's idempotent producer, reduced to what Hadron's gateways do: each producer (one id per gateway process)
/// numbers its records per partition with a sequence that grows by the record count and wraps at `Int32.max`, and
/// when it cannot know a batch's outcome it moves to a newer producer epoch and restarts the sequence at 0. Per
/// producer the table keeps the newest epoch and the offsets of the last ``cachedBatchesPerProducer`` batches
/// stored in it; that is enough to tell a new batch (the next sequence) from a retry (one of the cached batches)
/// from a batch that can be neither (a gap or a step back: out of order).
///
/// The state is derived from the log and only ever describes batches the log holds: a leader records a batch once
/// the log has given it offsets, a follower records what it copied, and after a truncation or a restart the table
/// is rebuilt from the newest part of the log (``rebuild(from:maxScanBytes:maxProducers:)``). A value type: the
/// partition replica, an actor, owns one and orders every call.
struct ProducerStateTable: Sendable {
    /// How many of a producer's newest batches are remembered for answering retries. Kafka keeps 5 because a
    /// producer may have up to 5 batches in flight per partition, and any of them may be retried. Hadron's gateways
    /// keep one in flight, so one would do today; 5 costs a few dozen bytes per producer and keeps the door open to
    /// pipelining as Kafka does.
    static let cachedBatchesPerProducer = 5
    /// The most producers remembered by default. Gateways are few, but each restart brings a new producer id and
    /// nothing tells the leader that the old one is gone; least recently used producers are forgotten beyond this.
    static let defaultMaxProducers = 10_000

    /// The verdict on a batch a leader is asked to append.
    enum Admission: Sendable, Hashable {
        /// Write it: the next batch in sequence, the first batch of a producer the table does not know, or a batch
        /// without a producer id. The batch is now in flight until ``record(_:)`` or ``abandon(_:)``.
        case append
        /// Already stored at these offsets: answer exactly as the first time, without writing it again.
        case duplicate(firstOffset: Int64, lastOffset: Int64)
        /// A batch of this producer is being written and its outcome is not known yet: answer "retry" (503).
        case inFlight
        /// Neither the next batch nor a remembered one; `expected` is the sequence the table waits for.
        case outOfOrder(expected: Int32)
        /// The producer has since moved to a newer epoch, so this batch belongs to a sender that gave up on it.
        case staleProducerEpoch(current: Int16)
    }

    /// One stored batch of the producer's current epoch, with the offsets to answer a retry of it.
    private struct StoredBatch: Sendable {
        var baseSequence: Int32
        var recordCount: Int32
        var firstOffset: Int64
        var lastOffset: Int64

        var nextSequence: Int32 { ProducerBatch.sequence(after: baseSequence, adding: recordCount) }
    }

    private struct Producer: Sendable {
        /// The newest epoch stored; the cached batches are all of it (a newer epoch starts afresh).
        var epoch: Int16
        /// Oldest first, at most ``cachedBatchesPerProducer``, never empty.
        var batches: [StoredBatch]
        /// The table's clock when the producer was last admitted or recorded, for evicting the least recently used.
        var lastUsed: UInt64
    }

    let maxProducers: Int
    private var producers: [Int64: Producer] = [:]
    /// Batches admitted for appending whose offsets are not known yet, at most one per producer.
    private var inFlight: [Int64: ProducerBatch] = [:]
    private var clock: UInt64 = 0

    init(maxProducers: Int = Self.defaultMaxProducers) {
        precondition(maxProducers > 0, "the table must remember at least one producer")
        self.maxProducers = maxProducers
    }

    /// How many producers the table remembers.
    var producerCount: Int { producers.count }

    /// Judges a batch a leader is asked to append, before it is written; on ``Admission/append`` the batch is in
    /// flight, and the caller must follow up with ``record(_:)`` once the log has stored it or ``abandon(_:)`` if
    /// the append failed.
    ///
    /// A producer the table does not know may start at any sequence, as Kafka accepts an unknown producer id: the
    /// table forgets producers (eviction, batches older than a rebuild's scan), and refusing them would leave a
    /// gateway unable to write until it restarted. The cost is that a retry of a forgotten batch is stored twice,
    /// which needs the retry to be older than the newest part of the log a rebuild scans.
    ///
    /// While a batch of the producer is in flight, every other batch of it (except a stale or remembered one) is
    /// answered ``Admission/inFlight``, not only an identical retry. A gateway sends one batch per partition at a
    /// time, so a second one is either a retry racing the first or the next epoch's first batch after the gateway
    /// gave up on the first; judging it once the first is recorded or abandoned means sequences are only ever
    /// checked against batches the log holds, never against one that may yet fail.
    mutating func admit(_ batch: ProducerBatch) -> Admission {
        guard batch.isIdempotent else { return .append }
        clock += 1
        let known = producers[batch.producerId]
        if let known {
            producers[batch.producerId]?.lastUsed = clock
            if batch.producerEpoch < known.epoch { return .staleProducerEpoch(current: known.epoch) }
            if batch.producerEpoch == known.epoch,
                let stored = known.batches.last(where: {
                    $0.baseSequence == batch.baseSequence && $0.recordCount == batch.recordCount
                })
            {
                return .duplicate(firstOffset: stored.firstOffset, lastOffset: stored.lastOffset)
            }
        }
        guard inFlight[batch.producerId] == nil else { return .inFlight }
        if let known {
            // Kafka's rule: a producer that bumped its epoch restarts its sequence at 0.
            let expected = batch.producerEpoch > known.epoch ? 0 : known.batches[known.batches.count - 1].nextSequence
            guard batch.baseSequence == expected else { return .outOfOrder(expected: expected) }
        }
        inFlight[batch.producerId] = batch
        return .append
    }

    /// Forgets a batch admitted with ``Admission/append`` whose append failed, so that its retry is admitted again.
    mutating func abandon(_ batch: ProducerBatch) {
        if inFlight[batch.producerId] == batch { inFlight[batch.producerId] = nil }
    }

    /// Takes note of a batch the log now holds, with offsets: a leader's append once the log has stored it, a
    /// follower's copy of the leader's batch, or a batch read while rebuilding. Batches must be recorded in log
    /// order per producer. Never refuses: the log is the truth, and a batch written without ``admit(_:)`` (a
    /// follower's) is recorded all the same.
    mutating func record(_ header: RecordBatchHeader) {
        let batch = ProducerBatch(header)
        guard batch.isIdempotent else { return }
        abandon(batch)
        clock += 1
        let stored = StoredBatch(
            baseSequence: batch.baseSequence, recordCount: batch.recordCount, firstOffset: header.baseOffset,
            lastOffset: header.lastOffset)
        guard var producer = producers[batch.producerId] else {
            producers[batch.producerId] = Producer(epoch: batch.producerEpoch, batches: [stored], lastUsed: clock)
            evictLeastRecentlyUsed()
            return
        }
        producer.lastUsed = clock
        if batch.producerEpoch > producer.epoch {
            producer.epoch = batch.producerEpoch
            producer.batches = []
        }
        if batch.producerEpoch == producer.epoch {
            producer.batches.append(stored)
            if producer.batches.count > Self.cachedBatchesPerProducer { producer.batches.removeFirst() }
        }
        producers[batch.producerId] = producer
    }

    /// Beyond ``maxProducers``, forgets the least recently used tenth at once, so that a table kept full by a
    /// stream of new producers sorts once per many insertions rather than scanning on each.
    private mutating func evictLeastRecentlyUsed() {
        guard producers.count > maxProducers else { return }
        let keep = maxProducers - maxProducers / 10
        let victims = producers.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(producers.count - keep)
        for (id, _) in victims { producers[id] = nil }
    }
}
