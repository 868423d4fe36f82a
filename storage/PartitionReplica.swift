import HadronCore
import Logging
import SegmentLog

/// One partition replica on this node: its segment log, its role at the newest epoch, its high watermark and, while
/// it leads, the partition's consumer groups.
///
/// An actor so role changes, appends and group leases are ordered against each other; the awaits inside (the log's
/// group-committed append, the durable offset write) release it, so concurrent appends reach the log's writer
/// together and share one write and one fdatasync. Reads wait on the ``HighWatermark``, not on the actor.
actor PartitionReplica {
    /// Node-wide settings every replica shares.
    struct Configuration: Sendable {
        /// Segment size for new segments.
        var segmentBytes: Int64 = 128 * 1024 * 1024
        /// How long a nacked delivery waits when the nack names no backoff; doubles with each consecutive nack.
        var defaultNackBackoff: Duration = .seconds(1)
        /// The most bytes one consumer-group delivery reads (at least one whole batch is always delivered).
        var deliveryReadBytes = 1024 * 1024
    }

    nonisolated let stream: String
    nonisolated let partition: Int
    nonisolated let directory: String
    nonisolated let highWatermark: HighWatermark

    private let configuration: Configuration
    private let offsets: GroupOffsetStore
    private let now: @Sendable () -> ContinuousClock.Instant
    private var logger: Logger

    private var log: PartitionLog
    private var settings: StreamSettings
    private(set) var role: ReplicaRole
    /// Groups used since this replica last became leader; committed offsets load from disk on first use.
    private var groups: [String: GroupCursor] = [:]

    private init(
        stream: String, partition: Int, directory: String, log: PartitionLog, settings: StreamSettings,
        configuration: Configuration, logger: Logger, now: @escaping @Sendable () -> ContinuousClock.Instant
    ) {
        self.stream = stream
        self.partition = partition
        self.directory = directory
        self.log = log
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.offsets = GroupOffsetStore(directory: DataDirectory.groupsPath(replica: directory))
        // Until a topology says otherwise nobody may read: the high watermark starts at the log start.
        self.highWatermark = HighWatermark(log.logStartOffset)
        self.role = .recovered(epoch: log.latestEpoch ?? 0)
    }

    /// Opens the replica in `directory`, creating it or recovering its log (SegmentLog validates the tail and cuts a
    /// torn write). It starts ``ReplicaRole/Kind/unassigned``: only ``apply(_:)`` lets it serve.
    static func open(
        stream: String, partition: Int, directory: String, settings: StreamSettings, configuration: Configuration,
        logger: Logger, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
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
        return PartitionReplica(
            stream: stream, partition: partition, directory: directory, log: log, settings: settings,
            configuration: configuration, logger: logger, now: now)
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

    /// Takes the role and settings the topology gives this replica. An assignment from an older epoch is ignored
    /// (epochs only grow); a settings change reopens the log with them. Returns whether the role changed.
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
        guard assignment.role != previous else { return false }
        role = assignment.role
        if role.isLeader, !(previous.isLeader && previous.epoch == role.epoch) {
            // At replicationFactor 1 the leader's log holds only what it stored under the stream's policy, so all
            // of it is committed. Replication bounds this by the in-sync replicas instead.
            highWatermark.advance(to: log.logEndOffset)
        }
        if previous.isLeader != role.isLeader || previous.epoch != role.epoch {
            // Leases are the leader's memory; a new term starts from the committed offsets on disk.
            groups.removeAll()
        }
        highWatermark.wakeAll()
        logger.info(
            "Partition role changed",
            metadata: [
                "epoch": "\(role.epoch)", "role": "\(role.kind.rawValue)", "leader": "\(role.leader ?? "none")",
                "previous": "\(previous)", "high.watermark": "\(highWatermark.offset)",
            ])
        return true
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
        } catch {
            // The log stays closed (requests answer 503) and the next topology tries again.
            logger.error("Reopening the log failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Appends and reads

    /// Appends one producer batch as leader at `callerEpoch` and returns its offsets once it is committed: stored
    /// under the stream's durability policy and below the high watermark. The log verifies the batch (header,
    /// length, CRC) before writing anything, so a bad batch is refused whole.
    func append(_ batch: [UInt8], callerEpoch: Int32) async throws(ReplicaError) -> AppendResult {
        try role.admitLeaderRequest(callerEpoch: callerEpoch)
        let epoch = role.epoch
        let result: AppendResult
        do {
            result = try await log.append(batch, epoch: epoch)
        } catch {
            throw refusal(error, epoch: epoch)
        }
        // The log completes appends in offset order, each after everything before it is stored: its end is the
        // leader's durable end. With one replica that is the high watermark.
        highWatermark.advance(to: result.nextOffset)
        return result
    }

    /// What a fetch returns: whole committed batches and the offsets the response headers report.
    struct FetchResult: Sendable {
        var bytes: [UInt8]
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
                bytes: [], highWatermark: bound, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset)
        }
        let read = try readCommitted(from: offset, maxBytes: maxBytes, bound: bound) { _ in false }
        return FetchResult(
            bytes: read.bytes, highWatermark: bound, logStartOffset: read.logStartOffset,
            logEndOffset: read.logEndOffset)
    }

    /// Whole batches from the one holding `offset`, below `bound`, at most `maxBytes` (at least one batch when one
    /// is there), continuing across segment boundaries — one log read stops at the end of its segment — until the
    /// budget is spent or `enough(nextOffset)` says so.
    private func readCommitted(
        from offset: Int64, maxBytes: Int, bound: Int64, enough: (Int64) -> Bool
    ) throws(ReplicaError) -> ReadResult {
        var bytes: [UInt8] = []
        var next = offset
        var start = log.logStartOffset
        var end = log.logEndOffset
        do {
            while next < bound, !enough(next) {
                let remaining = maxBytes - bytes.count
                guard remaining > 0 else { break }
                let read = try log.read(from: next, maxBytes: remaining, upTo: bound)
                start = read.logStartOffset
                end = read.logEndOffset
                // Only the first read may exceed the budget (a batch larger than maxBytes is still delivered).
                guard !read.bytes.isEmpty, bytes.isEmpty || read.bytes.count <= remaining else { break }
                bytes += read.bytes
                next = read.nextOffset
            }
        } catch {
            throw refusal(error, epoch: role.epoch)
        }
        return ReadResult(bytes: bytes, nextOffset: next, logStartOffset: start, logEndOffset: end)
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
        let read = try readCommitted(from: offset, maxBytes: configuration.deliveryReadBytes, bound: bound) {
            $0 >= wanted
        }
        return try BatchSpan(batches: read.bytes, first: offset, maxEvents: maxEvents, limit: bound - 1)
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

    /// Syncs and closes the log, leaving the clean-shutdown marker so the next open skips recovery.
    func close() async {
        highWatermark.wakeAll()
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
