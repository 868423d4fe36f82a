import HadronCore
import Logging
import NIOCore
import SegmentLog

/// One partition replica on this node: its segment log, its role at the newest epoch, its high watermark and, while
/// it leads, its followers' progress (``ReplicationState``) and the partition's consumer groups; while it follows,
/// the ``FollowerFetcher`` that copies the leader's log.
///
/// An actor so role changes, appends, follower fetches and group leases are ordered against each other; the awaits
/// inside (the log's group-committed append, the durable offset write, waiting for a commit) release it, so
/// concurrent appends reach the log's writer together and share one write and one fdatasync. Long polls wait on an
/// ``OffsetWatch``, not on the actor.
actor PartitionReplica {
    /// Node-wide settings every replica shares.
    struct Configuration: Sendable {
        /// Segment size for new segments.
        var segmentBytes: Int64 = 128 * 1024 * 1024
        /// How long a nacked delivery waits when the nack names no backoff; doubles with each consecutive nack.
        var defaultNackBackoff: Duration = .seconds(1)
        /// The most bytes one consumer-group delivery reads (at least one whole batch is always delivered).
        var deliveryReadBytes = 1024 * 1024
        /// A follower not caught up for this long leaves the ISR (DESIGN.md §6).
        var replicaLagLimit: Duration = .seconds(10)
        /// The longest an append waits for the in-sync replicas before it answers 503 (the batch may still commit).
        var commitTimeout: Duration = .seconds(10)
    }

    nonisolated let stream: String
    nonisolated let partition: Int
    nonisolated let directory: String
    /// The first offset not committed yet: consumers read below it, appends are answered once it passes them.
    nonisolated let highWatermark: OffsetWatch
    /// The leader's stored log end: followers' fetches park on it until an append passes their offset.
    nonisolated let storedEnd: OffsetWatch

    private let configuration: Configuration
    private let link: ReplicaLink
    private let offsets: GroupOffsetStore
    private let now: @Sendable () -> ContinuousClock.Instant
    private var logger: Logger

    private var log: PartitionLog
    private var settings: StreamSettings
    private(set) var role: ReplicaRole
    /// Groups used since this replica last became leader; committed offsets load from disk on first use.
    private var groups: [String: GroupCursor] = [:]
    /// The followers' progress while this replica leads; nil otherwise.
    private var replication: ReplicationState?
    /// Copies the leader's log while this replica follows one; nil otherwise.
    private var fetcher: Task<Void, Never>?
    /// The leader address the running fetcher uses, to restart it when the leader moves.
    private var fetcherAddress: String?
    /// The high watermark last written to the checkpoint file.
    private var checkpointedHighWatermark: Int64
    /// Idempotent producers' recent batches, so a retried batch is committed once (Kafka's idempotent producer).
    /// Rebuilt from the log's tail whenever the log changes under it (open, reopen, truncation).
    private var producers: ProducerStateTable
    /// Bumped with every rebuild: an append that was in flight across one must not record into the new table.
    private var producersGeneration = 0
    /// How much of a log's tail a rebuild of ``producers`` reads.
    private static let producerScanBytes = 16 * 1024 * 1024

    private init(
        stream: String, partition: Int, directory: String, log: PartitionLog, settings: StreamSettings,
        configuration: Configuration, link: ReplicaLink, highWatermark checkpoint: Int64?,
        producers: ProducerStateTable, logger: Logger, now: @escaping @Sendable () -> ContinuousClock.Instant
    ) {
        self.stream = stream
        self.partition = partition
        self.directory = directory
        self.log = log
        self.settings = settings
        self.configuration = configuration
        self.link = link
        self.logger = logger
        self.now = now
        self.offsets = GroupOffsetStore(directory: DataDirectory.groupsPath(replica: directory))
        // Reads are served only by a leader, which takes its high watermark from the replication state; the
        // checkpoint keeps what was known committed across a restart.
        let start = min(max(checkpoint ?? log.logStartOffset, log.logStartOffset), log.logEndOffset)
        self.highWatermark = OffsetWatch(start)
        self.checkpointedHighWatermark = start
        self.storedEnd = OffsetWatch(log.logEndOffset)
        self.role = .recovered(epoch: log.latestEpoch ?? 0)
        self.producers = producers
    }

    /// Opens the replica in `directory`, creating it or recovering its log (SegmentLog validates the tail and cuts a
    /// torn write). It starts ``ReplicaRole/Kind/unassigned``: only ``apply(_:)`` lets it serve.
    static func open(
        stream: String, partition: Int, directory: String, settings: StreamSettings, configuration: Configuration,
        link: ReplicaLink, logger: Logger, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) async throws(ReplicaError) -> PartitionReplica {
        var logger = logger
        logger[metadataKey: "stream"] = "\(stream)"
        logger[metadataKey: "partition.id"] = "\(partition)"
        try DataDirectory.createDurably(directory)
        let log = try await openLog(
            directory: directory, settings: settings, configuration: configuration, logger: logger)
        logger.info(
            "Opened partition replica",
            metadata: [
                "log.start": "\(log.logStartOffset)", "log.end": "\(log.logEndOffset)",
                "epoch": "\(log.latestEpoch.map(String.init) ?? "none")",
            ])
        let checkpoint = HighWatermarkCheckpoint(path: DataDirectory.highWatermarkPath(replica: directory))
        let producers = try rebuildProducers(from: log)
        return PartitionReplica(
            stream: stream, partition: partition, directory: directory, log: log, settings: settings,
            configuration: configuration, link: link, highWatermark: checkpoint.read(), producers: producers,
            logger: logger, now: now)
    }

    private static func rebuildProducers(from log: PartitionLog) throws(ReplicaError) -> ProducerStateTable {
        do {
            return try ProducerStateTable.rebuild(from: log, maxScanBytes: producerScanBytes)
        } catch {
            throw refusal(error, epoch: log.latestEpoch ?? 0)
        }
    }

    /// Rebuilds ``producers`` after the log changed under it; a failure leaves an empty table, which accepts any
    /// producer (deduplication is lost for batches older than the failure, nothing is refused).
    private func resetProducers() {
        producersGeneration += 1
        do {
            producers = try Self.rebuildProducers(from: log)
        } catch {
            producers = ProducerStateTable()
            logger.warning("Rebuilding the producer state failed", metadata: ["error": "\(error)"])
        }
    }

    private static func openLog(
        directory: String, settings: StreamSettings, configuration: Configuration, logger: Logger
    ) async throws(ReplicaError) -> PartitionLog {
        do {
            return try await PartitionLog.open(
                directory: DataDirectory.logPath(replica: directory),
                configuration: settings.logConfiguration(segmentBytes: configuration.segmentBytes), logger: logger)
        } catch {
            throw refusal(error, epoch: 0)
        }
    }

    // MARK: - Topology

    /// Takes the role, settings and replication record the topology gives this replica. An assignment from an older
    /// epoch is ignored (epochs only grow); a settings change reopens the log with them. Returns whether the role
    /// changed.
    @discardableResult
    func apply(_ assignment: ReplicaAssignment) async -> Bool {
        guard assignment.role.epoch >= role.epoch else {
            logger.warning(
                "Ignoring an assignment from an older epoch",
                metadata: ["epoch": "\(role.epoch)", "assignment.epoch": "\(assignment.role.epoch)"])
            return false
        }
        if let wanted = assignment.settings, wanted != settings { await reopen(with: wanted) }
        let previous = role
        role = assignment.role
        switch role.kind {
        case .leader:
            stopFetching()
            lead(assignment, newTerm: !(previous.isLeader && previous.epoch == role.epoch))
        case .follower:
            replication = nil
            follow(assignment, newTerm: previous.kind != .follower || previous.epoch != role.epoch)
        case .unassigned:
            replication = nil
            stopFetching()
        }
        guard role != previous else { return false }
        if previous.isLeader != role.isLeader || previous.epoch != role.epoch {
            // Leases are the leader's memory; a new term starts from the committed offsets on disk.
            groups.removeAll()
        }
        // Appends waiting for a commit and long polls re-check whether they may still be answered.
        highWatermark.wakeAll()
        storedEnd.wakeAll()
        logger.info(
            "Partition role changed",
            metadata: [
                "epoch": "\(role.epoch)", "role": "\(role.kind.rawValue)", "leader": "\(role.leader ?? "none")",
                "previous": "\(previous)", "high.watermark": "\(highWatermark.offset)",
                "log.end": "\(log.logEndOffset)",
            ])
        return true
    }

    /// Leads at the assignment's epoch: a new term starts the followers' progress afresh, giving each the lag limit
    /// to show up; the same term only takes the controller's new record (ISR, replicas, minimum).
    private func lead(_ assignment: ReplicaAssignment, newTerm: Bool) {
        let instant = now()
        if newTerm || replication == nil {
            let end = log.logEndOffset
            storedEnd.reset(to: end)
            replication = ReplicationState(
                leader: role.leader ?? "", epoch: role.epoch, replicas: assignment.replicas, isr: assignment.isr,
                minInSyncReplicas: assignment.minInSyncReplicas, leaderLogEnd: end,
                highWatermark: highWatermark.offset, lagLimit: configuration.replicaLagLimit, now: instant)
        } else {
            replication!.record(
                replicas: assignment.replicas, isr: assignment.isr, minInSyncReplicas: assignment.minInSyncReplicas,
                at: instant)
        }
        highWatermark.advance(to: replication!.highWatermark)
    }

    /// Follows the assignment's leader: (re)starts the fetcher for a new term or a leader that moved.
    private func follow(_ assignment: ReplicaAssignment, newTerm: Bool) {
        guard newTerm || assignment.leaderAddress != fetcherAddress || fetcher == nil else { return }
        stopFetching()
        guard let leader = role.leader, let address = assignment.leaderAddress else {
            logger.info("Following a partition with no reachable leader yet; waiting for the topology")
            return
        }
        fetcherAddress = address
        let fetcher = FollowerFetcher(
            replica: self, stream: stream, partition: partition, epoch: role.epoch, leader: leader,
            address: address, link: link, logger: logger)
        self.fetcher = Task { await fetcher.run() }
    }

    private func stopFetching() {
        fetcher?.cancel()
        fetcher = nil
        fetcherAddress = nil
    }

    private func reopen(with newSettings: StreamSettings) async {
        logger.info(
            "Reopening the log with the stream's settings",
            metadata: ["durability": "\(newSettings.durability.rawValue)", "retention": "\(newSettings.retention)"])
        do {
            try await log.close()
        } catch let error as LogError where error.code == .closed {
            // A reopen that failed earlier left it closed; open it below.
        } catch {
            logger.error("Closing the log to reopen it failed", metadata: ["error": "\(error)"])
            return
        }
        do {
            log = try await Self.openLog(
                directory: directory, settings: newSettings, configuration: configuration, logger: logger)
            settings = newSettings
            resetProducers()
        } catch {
            // The log stays closed (requests answer 503) and the next topology tries again.
            logger.error("Reopening the log failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Appends and reads

    /// Appends one producer batch as leader at `callerEpoch` and returns its offsets once it is committed: stored
    /// under the stream's durability policy on the leader and every in-sync replica (the high watermark passed it).
    /// The log verifies the batch (header, length, CRC) before writing anything, so a bad batch is refused whole.
    /// Refused with 503 while fewer than `minInSyncReplicas` replicas are in sync.
    func append(_ batch: some LogBytes, callerEpoch: Int32) async throws(ReplicaError) -> AppendResult {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        let epoch = role.epoch
        try checkMinimumInSync()
        let header: RecordBatchHeader
        do {
            header = try batch.withUnsafeBytes { raw throws(RecordBatchError) in try RecordBatchHeader(parsing: raw) }
        } catch {
            throw .invalidRequest("the record batch header: \(error)")
        }
        let producerBatch = ProducerBatch(header)
        switch producers.admit(producerBatch) {
        case .append:
            break
        case .duplicate(let first, let last):
            // A retry of a batch already in the log (the answer to the first attempt was lost, or it was sent to
            // the previous leader and replicated here): answer with its offsets once it is committed.
            let result = AppendResult(firstOffset: first, lastOffset: last)
            try await waitForCommit(of: result, epoch: epoch)
            return result
        case .inFlight:
            throw .unavailable(
                "producer \(header.producerId) has a batch being written to partition \(partition); retry when it is")
        case .outOfOrder(let expected):
            throw .outOfSequence(
                "producer \(header.producerId) sent sequence \(header.baseSequence), expected \(expected): "
                    + "an earlier batch is missing; nothing was stored")
        case .staleProducerEpoch(let current):
            throw .outOfSequence(
                "producer \(header.producerId) epoch \(header.producerEpoch) is older than its epoch \(current) here")
        }
        let generation = producersGeneration
        let result: AppendResult
        do {
            result = try await log.append(batch, epoch: epoch)
        } catch {
            if generation == producersGeneration { producers.abandon(producerBatch) }
            throw refusal(error, epoch: epoch)
        }
        if generation == producersGeneration {
            var stored = header
            stored.baseOffset = result.firstOffset
            producers.record(stored)
        }
        // The log completes appends in offset order, each after everything before it is stored: its end is the
        // leader's stored end, which followers may now fetch up to.
        leaderStored(upTo: result.nextOffset, epoch: epoch)
        try await waitForCommit(of: result, epoch: epoch)
        return result
    }

    private func checkMinimumInSync() throws(ReplicaError) {
        guard let replication, !replication.hasMinimumInSync else { return }
        throw .unavailable(
            "partition \(partition) of stream \(stream) has \(replication.highWatermarkSet.count) in-sync "
                + "replica\(replication.highWatermarkSet.count == 1 ? "" : "s") and needs minInSyncReplicas "
                + "\(replication.minInSyncReplicas) to commit")
    }

    private func leaderStored(upTo end: Int64, epoch: Int32) {
        guard role.isLeader, role.epoch == epoch, replication != nil else { return }
        storedEnd.advance(to: end)
        if replication!.leaderStored(upTo: end) { highWatermark.advance(to: replication!.highWatermark) }
    }

    /// Waits until the high watermark passes `result`, while this replica still leads at `epoch`. A leader that
    /// was deposed meanwhile answers 421 (its successor may or may not hold the batch: the gateway retries there
    /// under the same producer sequence, and the successor deduplicates); one that waited `commitTimeout` answers
    /// 503 — the batch may still commit once enough replicas catch up.
    private func waitForCommit(of result: AppendResult, epoch: Int32) async throws(ReplicaError) {
        let deadline = now() + configuration.commitTimeout
        while highWatermark.offset <= result.lastOffset {
            guard role.isLeader, role.epoch == epoch else {
                throw .notLeader(
                    epoch: role.epoch, leader: role.leader,
                    "leadership moved to epoch \(role.epoch) before offsets \(result.firstOffset)–\(result.lastOffset) "
                        + "were committed")
            }
            let remaining = deadline - now()
            guard remaining > .zero else {
                throw .unavailable(
                    "offsets \(result.firstOffset)–\(result.lastOffset) are stored on the leader but not yet on "
                        + "enough in-sync replicas; they may still commit")
            }
            _ = await highWatermark.wait(untilAbove: result.lastOffset, timeout: min(remaining, .seconds(1)))
        }
    }

    /// What a fetch returns: whole committed batches and the offsets the response headers report.
    struct FetchResult: Sendable {
        /// Read straight into the buffer the answer goes out in.
        var bytes: ByteBuffer
        var highWatermark: Int64
        var logStartOffset: Int64
        var logEndOffset: Int64
    }

    /// Whole committed batches from the one holding `offset`, about `maxBytes` (at least one batch when there is
    /// one). When nothing at or after `offset` is committed yet, waits up to `wait` for the high watermark to pass
    /// it, then answers with what there is — possibly nothing.
    func fetch(from offset: Int64, maxBytes: Int, wait: Duration, callerEpoch: Int32?) async throws(ReplicaError)
        -> FetchResult
    {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        try checkNotBelowStart(offset)
        if offset >= highWatermark.offset, wait > .zero {
            _ = await highWatermark.wait(untilAbove: offset, timeout: wait)
        }
        let bound = highWatermark.offset
        guard offset < bound else {
            return FetchResult(
                bytes: ByteBuffer(), highWatermark: bound, logStartOffset: log.logStartOffset,
                logEndOffset: log.logEndOffset)
        }
        var bytes = ByteBuffer()
        let read = try readCommitted(from: offset, maxBytes: maxBytes, bound: bound, into: &bytes) { _ in false }
        return FetchResult(
            bytes: bytes, highWatermark: bound, logStartOffset: read.logStartOffset, logEndOffset: read.logEndOffset)
    }

    // MARK: - Replication, leader side

    /// A follower's fetch: records that `follower` holds everything below `offset` (which may commit batches), then
    /// returns the leader's stored batches from `offset` — past the high watermark, up to the stored end — waiting
    /// up to `wait` when there are none yet. The caller must be a replica of the partition at the leader's epoch.
    func replicate(
        to follower: String, from offset: Int64, maxBytes: Int, wait: Duration, callerEpoch: Int32
    ) async throws(ReplicaError) -> FetchResult {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        let epoch = role.epoch
        guard replication?.followers[follower] != nil else {
            throw .invalidRequest("\(follower) is not a follower of partition \(partition) of stream \(stream)")
        }
        try checkNotBelowStart(offset)
        let end = storedEnd.offset
        guard offset <= end else {
            throw .divergent(
                logEndOffset: end,
                "offset \(offset) is past the leader's log end \(end): truncate to the leader's epoch end offsets first")
        }
        if replication!.followerFetched(follower, offset: offset, leaderLogEnd: end, at: now()) {
            highWatermark.advance(to: replication!.highWatermark)
        }
        if offset >= end, wait > .zero {
            _ = await storedEnd.wait(untilAbove: offset, timeout: wait)
            guard role.isLeader, role.epoch == epoch else {
                throw .notLeader(epoch: role.epoch, leader: role.leader, "leadership moved during the fetch")
            }
        }
        let bound = storedEnd.offset
        var bytes = ByteBuffer()
        let read = try readCommitted(from: offset, maxBytes: maxBytes, bound: bound, into: &bytes) { _ in false }
        return FetchResult(
            bytes: bytes, highWatermark: highWatermark.offset, logStartOffset: read.logStartOffset, logEndOffset: bound)
    }

    /// Kafka's OffsetsForLeaderEpoch (KIP-101/279), answered by the leader: the largest epoch at or below `epoch`
    /// in its log and where that epoch ends. Epoch -1 with the log start when the log has no such epoch: everything
    /// the asking follower holds diverges.
    func epochEnd(for epoch: Int32, callerEpoch: Int32) throws(ReplicaError) -> EpochEndOffset {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        return log.endOffset(forEpoch: epoch) ?? EpochEndOffset(epoch: -1, endOffset: log.logStartOffset)
    }

    /// Checks the followers' lag and returns the ISR change the controller should record, if any. Called every
    /// heartbeat by the node, which sends the change and applies the topology it gets back.
    func proposedISRChange() -> ISRChange? {
        guard role.isLeader, let leader = role.leader, replication != nil else { return nil }
        if replication!.checkLag(at: now()) { highWatermark.advance(to: replication!.highWatermark) }
        guard let isr = replication!.proposedISR else { return nil }
        return ISRChange(stream: stream, partition: partition, leader: leader, epoch: role.epoch, isr: isr)
    }

    // MARK: - Replication, follower side

    /// The follower's log as the fetcher of `epoch` needs it for truncation: its newest epoch and end.
    func followerLog(epoch: Int32) throws(FollowerStop) -> (latestEpoch: Int32?, logStartOffset: Int64, logEndOffset: Int64) {
        try checkFollowing(epoch)
        return (log.latestEpoch, log.logStartOffset, log.logEndOffset)
    }

    /// The follower's own OffsetsForLeaderEpoch answer, to compare with the leader's.
    func followerEpochEnd(for requested: Int32, epoch: Int32) throws(FollowerStop) -> EpochEndOffset? {
        try checkFollowing(epoch)
        return log.endOffset(forEpoch: requested)
    }

    /// Truncates the follower's log to `offset` (a divergence found with the leader's epoch end offsets), or, when
    /// `restart` is set, empties it and restarts it at `offset` (the leader's log start lies past all of it).
    func truncateAsFollower(to offset: Int64, restart: Bool = false, epoch: Int32) async throws(FollowerStop) {
        try checkFollowing(epoch)
        let before = log.logEndOffset
        do {
            if restart {
                try await log.truncateFully(startingAt: offset)
            } else {
                try await log.truncate(to: offset)
            }
        } catch {
            throw FollowerStop.failed("truncating the log to \(offset): \(error)")
        }
        resetProducers()
        let end = log.logEndOffset
        if highWatermark.offset > end || restart { highWatermark.reset(to: restart ? offset : end) }
        storedEnd.reset(to: end)
        logger.info(
            "Follower truncated its log to the leader's",
            metadata: ["from": "\(before)", "to": "\(end)", "restart": "\(restart)", "epoch": "\(epoch)"])
    }

    /// Appends batches fetched from the leader as they are and moves the follower's high watermark to the
    /// leader's, bounded by what it holds.
    func appendAsFollower(_ batches: some LogBytes, leaderHighWatermark: Int64, epoch: Int32) async throws(FollowerStop)
    {
        try checkFollowing(epoch)
        if batches.byteCount > 0 {
            do {
                _ = try await log.appendAsFollower(batches)
            } catch let error as LogError where error.code == .nonContiguous {
                throw FollowerStop.diverged(error.message)
            } catch {
                throw FollowerStop.failed("appending fetched batches: \(error)")
            }
            do {
                try producers.record(batchesIn: batches)
            } catch {
                // The log verified these batches just now, so this cannot fail; start the table over if it does.
                resetProducers()
            }
            storedEnd.advance(to: log.logEndOffset)
            // Elected while this append was being written: the new term's stored end includes it.
            if role.isLeader { leaderStored(upTo: log.logEndOffset, epoch: role.epoch) }
        }
        highWatermark.advance(to: min(leaderHighWatermark, log.logEndOffset))
    }

    private func checkFollowing(_ epoch: Int32) throws(FollowerStop) {
        guard role.kind == .follower, role.epoch == epoch else { throw .roleChanged }
    }

    /// Writes the high watermark to its checkpoint file when it moved since the last write, so a restarted replica
    /// knows what was committed. Called every heartbeat and on close.
    func checkpointHighWatermark() async {
        let offset = highWatermark.offset
        guard offset != checkpointedHighWatermark else { return }
        let checkpoint = HighWatermarkCheckpoint(path: DataDirectory.highWatermarkPath(replica: directory))
        do {
            try await checkpoint.write(offset)
            checkpointedHighWatermark = offset
        } catch {
            logger.warning("Writing the high-watermark checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    /// Appends to `bytes` whole batches from the one holding `offset`, below `bound`, at most `maxBytes` (at least
    /// one batch when one is there), continuing across segment boundaries — one log read stops at the end of its
    /// segment — until the budget is spent or `enough(nextOffset)` says so.
    private func readCommitted(
        from offset: Int64, maxBytes: Int, bound: Int64, into bytes: inout some LogReadBuffer,
        enough: (Int64) -> Bool
    ) throws(ReplicaError) -> ReadPosition {
        let initial = bytes.byteCount
        var next = offset
        var start = log.logStartOffset
        var end = log.logEndOffset
        do {
            while next < bound, !enough(next) {
                let before = bytes.byteCount
                let remaining = maxBytes - (before - initial)
                guard remaining > 0 else { break }
                let read = try log.read(from: next, maxBytes: remaining, upTo: bound, appendingTo: &bytes)
                start = read.logStartOffset
                end = read.logEndOffset
                // Only the first read may exceed the budget (a batch larger than maxBytes is still delivered).
                let added = bytes.byteCount - before
                guard added > 0, before == initial || added <= remaining else {
                    bytes.truncate(toByteCount: before)
                    break
                }
                next = read.nextOffset
            }
        } catch {
            throw refusal(error, epoch: role.epoch)
        }
        return ReadPosition(nextOffset: next, logStartOffset: start, logEndOffset: end)
    }

    private func checkNotBelowStart(_ offset: Int64) throws(ReplicaError) {
        let start = log.logStartOffset
        guard offset >= start else {
            throw .offsetBelowStart(
                firstOffset: start, "offset \(offset) is below the log start; the first available offset is \(start)")
        }
    }

    // MARK: - Consumer groups

    /// A leased range of a group's events and the whole batches that hold it.
    struct GroupDelivery: Sendable {
        var id: String
        var first: Int64
        var last: Int64
        var bytes: [UInt8]
    }

    /// Leases the group's next unacknowledged events (at most `maxEvents`) for `duration`, or returns nil when the
    /// group has a delivery in flight, is backing off after a nack, or has nothing new. An expired or backed-off
    /// delivery comes back as the same range under a new id.
    func lease(group: String, maxEvents: Int64, duration: Duration, callerEpoch: Int32?) async throws(ReplicaError)
        -> GroupDelivery?
    {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        guard maxEvents > 0 else { throw .invalidRequest("max must be at least 1, got \(maxEvents)") }
        guard duration > .zero else { throw .invalidRequest("leaseMs must be positive") }
        try await loadCursor(group)
        let instant = now()
        let start = log.logStartOffset
        var span: BatchSpan?
        switch groups[group]!.offer(at: instant) {
        case .busy:
            return nil
        case .redeliver(let first, let last):
            if first >= start {
                span = try readSpan(from: first, maxEvents: last - first + 1)
            }
            if span == nil {
                // Retention deleted the range while it was out: those events are gone, move on from the log start.
                groups[group]!.abandonOutstanding()
                logger.warning(
                    "A redelivery's events were deleted by retention",
                    metadata: ["group": "\(group)", "first": "\(first)", "last": "\(last)", "log.start": "\(start)"])
                span = try readSpan(from: start, maxEvents: maxEvents)
            }
        case .next(let from):
            span = try readSpan(from: max(from, start), maxEvents: maxEvents)
        }
        guard let span else { return nil }
        let delivery = GroupCursor.Delivery(
            id: "\(role.epoch)-\(String(UInt64.random(in: 1...UInt64.max), radix: 16))", first: span.first,
            last: span.last)
        groups[group]!.lease(delivery, until: instant + duration)
        return GroupDelivery(id: delivery.id, first: span.first, last: span.last, bytes: span.bytes)
    }

    private func readSpan(from offset: Int64, maxEvents: Int64) throws(ReplicaError) -> BatchSpan? {
        let bound = highWatermark.offset
        guard offset < bound else { return nil }
        let wanted = offset + maxEvents
        var bytes: [UInt8] = []
        _ = try readCommitted(from: offset, maxBytes: configuration.deliveryReadBytes, bound: bound, into: &bytes) {
            $0 >= wanted
        }
        return try BatchSpan(batches: bytes, first: offset, maxEvents: maxEvents, limit: bound - 1)
    }

    /// Acknowledges the group's current delivery: its committed offset moves past it, durably, before this returns.
    func acknowledge(group: String, delivery: String, callerEpoch: Int32?) async throws(ReplicaError) {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        try await loadCursor(group)
        let committed = try groups[group]!.beginAcknowledging(delivery, at: now())
        do {
            try await offsets.store(committed, for: group)
        } catch {
            groups[group]?.abortAcknowledging(delivery)
            throw error
        }
        groups[group]?.finishAcknowledging(delivery)
        logger.debug("Group acknowledged", metadata: ["group": "\(group)", "committed.offset": "\(committed)"])
    }

    /// Rejects the group's current delivery: the same events are offered again after `backoff` (nil: the default
    /// backoff, doubled per consecutive nack).
    func reject(group: String, delivery: String, backoff: Duration?, callerEpoch: Int32?) async throws(ReplicaError) {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        try await loadCursor(group)
        try groups[group]!.reject(
            delivery, at: now(), backoff: backoff, defaultBackoff: configuration.defaultNackBackoff)
    }

    /// The group's durable committed offset (0 for a group that never acknowledged anything here).
    func committedOffset(group: String, callerEpoch: Int32?) async throws(ReplicaError) -> Int64 {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        try await loadCursor(group)
        return groups[group]!.committedOffset
    }

    /// Every group's durable committed offset, for followers that keep a copy (leader only).
    func committedOffsets(callerEpoch: Int32) async throws(ReplicaError) -> [String: Int64] {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        return try await offsets.all()
    }

    /// Takes the leader's committed group offsets where they are ahead of this follower's, durably, so that a
    /// follower elected leader resumes every group close to where it was instead of from its own stale offsets.
    func adoptCommittedOffsets(_ leaders: [String: Int64], epoch: Int32) async throws(FollowerStop) {
        try checkFollowing(epoch)
        let mine: [String: Int64]
        do {
            mine = try await offsets.all()
        } catch {
            throw FollowerStop.failed("reading the group offsets: \(error)")
        }
        for (group, offset) in leaders where offset > (mine[group] ?? -1) {
            do {
                try await offsets.store(offset, for: group)
            } catch {
                throw FollowerStop.failed("storing the offset of group \(group): \(error)")
            }
        }
    }

    /// Makes sure `groups[group]` exists, reading the committed offset from disk the first time.
    private func loadCursor(_ group: String) async throws(ReplicaError) {
        if groups[group] != nil { return }
        let stored = try await offsets.committedOffset(of: group)
        // Another request for the same group may have loaded it while this one waited for the disk.
        if groups[group] == nil { groups[group] = GroupCursor(committedOffset: stored ?? 0) }
    }

    // MARK: - Maintenance and reporting

    /// Deletes whole old segments under the stream's retention settings.
    func applyRetention() async {
        do {
            let result = try await log.applyRetention()
            if !result.deletedSegments.isEmpty {
                logger.info(
                    "Retention deleted segments",
                    metadata: [
                        "segments": "\(result.deletedSegments.count)", "bytes": "\(result.deletedBytes)",
                        "log.start": "\(result.logStartOffset)",
                    ])
            }
        } catch {
            logger.warning("Retention failed", metadata: ["error": "\(error)"])
        }
    }

    /// Answers every parked long poll (consumers' and followers') now, and later ones at once: the node is shutting
    /// down gracefully.
    nonisolated func drainLongPolls() {
        highWatermark.drain()
        storedEnd.drain()
    }

    /// Syncs and closes the log, leaving the clean-shutdown marker so the next open skips recovery.
    func close() async {
        stopFetching()
        replication = nil
        highWatermark.wakeAll()
        storedEnd.wakeAll()
        await checkpointHighWatermark()
        do {
            try await log.close()
        } catch let error as LogError where error.code == .closed {
            return
        } catch {
            logger.error("Closing the log failed", metadata: ["error": "\(error)"])
        }
    }

    /// The offsets the controller hears about in the heartbeat.
    func report() -> ReplicaReport {
        ReplicaReport(
            stream: stream, partition: partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset,
            highWatermark: highWatermark.offset, leaderEpoch: log.latestEpoch)
    }

    /// The `GET …/state` answer.
    struct Status: Codable, Sendable, Hashable {
        var stream: String
        var partition: Int
        var epoch: Int32
        var role: String
        var logStartOffset: Int64
        var logEndOffset: Int64
        var highWatermark: Int64
    }

    func status() -> Status {
        Status(
            stream: stream, partition: partition, epoch: role.epoch,
            role: role.isLeader ? ReplicaRole.Kind.leader.rawValue : ReplicaRole.Kind.follower.rawValue,
            logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, highWatermark: highWatermark.offset)
    }

    // MARK: - Errors

    /// A log failure in the internal API's terms.
    private func refusal(_ error: any Error, epoch: Int32) -> ReplicaError {
        Self.refusal(error, epoch: epoch, latestEpoch: log.latestEpoch)
    }

    private static func refusal(_ error: any Error, epoch: Int32, latestEpoch: Int32? = nil) -> ReplicaError {
        if let error = error as? ReplicaError { return error }
        guard let error = error as? LogError else { return .storageFailure("\(error)") }
        switch error.code {
        case .invalidBatch: return .invalidRequest(error.message)
        case .staleEpoch: return .fenced(epoch: max(latestEpoch ?? epoch, epoch), error.message)
        case .offsetOutOfRange:
            return .offsetBelowStart(firstOffset: error.firstAvailableOffset ?? 0, error.message)
        case .diskFull, .closed: return .unavailable(error.message)
        default: return .storageFailure(error.description)
        }
    }
}
