import Glibc
import HadronCore
public import Logging
import Synchronization

/// The durable log of one partition replica (DESIGN §7): segments of record batches, their indexes, the leader
/// epoch cache and the checkpoints, in one directory.
///
/// Appends go to a dedicated writer thread that group-commits them (``LogWriter``), or, when the log does not sync
/// every append and the writer is idle, are written on the caller's thread; reads run on the caller's
/// thread with `pread` against what the writer has published, so they never wait for an append or a sync and only
/// ever see whole batches. Replication drives it through ``append(_:epoch:)`` (leader),
/// ``appendAsFollower(_:)``, ``read(from:maxBytes:upTo:)``, ``truncate(to:)`` and ``endOffset(forEpoch:)``; the
/// high watermark is the caller's, passed to reads as their bound.
public final class PartitionLog: Sendable {
    /// The marker a clean ``close()`` leaves; its absence at open means the active segment must be recovered.
    public static let cleanShutdownFileName = LogLoader.cleanShutdownFileName

    public let directory: String
    public let configuration: LogConfiguration
    private let shared: SharedLogState
    private let queue: JobQueue<WriterJob>
    private let writer: LogWriter

    private init(directory: String, configuration: LogConfiguration, shared: SharedLogState, writer: LogWriter) {
        self.directory = directory
        self.configuration = configuration
        self.shared = shared
        self.queue = writer.queue
        self.writer = writer
    }

    /// A log dropped without ``close()`` stops its writer thread and leaves no clean-shutdown marker, as a crash
    /// would: the next open recovers the active segment.
    deinit { queue.close() }

    /// Opens (creating if needed) the log in `directory`, recovering it after a crash. Recovery runs on a thread
    /// of its own, never on the cooperative pool.
    public static func open(
        directory: String, configuration: LogConfiguration = LogConfiguration(), logger: Logger
    ) async throws -> PartitionLog {
        let loaded: LogLoader.Loaded = try await withCheckedThrowingContinuation { continuation in
            let thread = startThread {
                continuation.resume(
                    with: Result { () throws(LogError) in
                        try LogLoader(configuration: configuration, logger: logger).load(path: directory)
                    })
            }
            pthread_detach(thread)
        }
        let shared = SharedLogState(
            LogState(segments: loaded.segments, logStartOffset: loaded.logStartOffset, epochs: loaded.epochs))
        let writer = LogWriter(loaded: loaded, configuration: configuration, logger: logger, shared: shared)
        let thread = startThread { writer.run() }
        pthread_detach(thread)
        return PartitionLog(directory: directory, configuration: configuration, shared: shared, writer: writer)
    }

    // MARK: - State

    /// One past the last offset in the log.
    public var logEndOffset: Int64 { shared.state.withLock { $0.logEndOffset } }
    /// The first offset the log still holds; reads below it fail with ``LogError/Code/offsetOutOfRange``.
    public var logStartOffset: Int64 { shared.state.withLock { $0.logStartOffset } }
    /// The newest leader epoch that wrote (or was assigned to) the log; nil for a log that never had one.
    public var latestEpoch: Int32? { shared.state.withLock { $0.epochs.latestEpoch } }
    /// Bytes in all segment files.
    public var sizeInBytes: Int64 { shared.state.withLock { $0.segments.reduce(0) { $0 + $1.size } } }
    /// Base offsets of the segments, oldest first; the last is the active segment.
    public var segmentBaseOffsets: [Int64] { shared.state.withLock { $0.segments.map(\.baseOffset) } }
    /// Each segment's base offset and size in bytes, oldest first, read together: enough to find where the newest
    /// N bytes of the log begin.
    public var segmentSizes: [(baseOffset: Int64, bytes: Int64)] {
        shared.state.withLock { $0.segments.map { ($0.baseOffset, $0.size) } }
    }

    /// Kafka's OffsetsForLeaderEpoch for follower truncation (KIP-101/279): the largest epoch at or below
    /// `epoch` and the start offset of the next larger epoch (the log end offset for the latest). Nil when the log
    /// knows no epoch at or above the requested one's predecessor (empty cache, or `epoch` above the latest).
    public func endOffset(forEpoch epoch: Int32) -> EpochEndOffset? {
        shared.state.withLock { $0.epochs.endOffset(for: epoch, logEndOffset: $0.logEndOffset) }
    }

    /// Completed interval syncs of the active segment (``LogDurability/interval(milliseconds:)``), for tests.
    var activeSegmentTailSyncs: Int { shared.state.withLock { $0.segments.last?.segment.completedTailSyncs ?? 0 } }

    // MARK: - Appends

    /// Appends one producer batch as leader: validates it (header, length, CRC) before anything is written,
    /// assigns offsets from the log end and stamps `epoch` in its header. Fails with
    /// ``LogError/Code/staleEpoch`` when `epoch` is older than the log's latest (a deposed leader).
    /// Completes when the batch is written (and synced, under ``LogDurability/always``).
    public func append(_ batch: some LogBytes, epoch: Int32) async throws -> AppendResult {
        let header = try Self.validate(batch, exactlyOne: true)
        let kind = PendingAppend.Kind.leader(
            epoch: epoch, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: header.maxTimestamp)
        return try await submit(kind, bytes: batch)
    }

    /// Appends batches fetched from the leader as they are, keeping the leader's offsets and epochs: they must be
    /// whole, valid, follow each other, and start at this log's end offset (``LogError/Code/nonContiguous``).
    public func appendAsFollower(_ batches: some LogBytes) async throws -> AppendResult {
        let count = batches.byteCount
        guard count > 0 else { throw LogError(.invalidBatch, "no batches to append") }
        guard count <= Int(Int32.max) else {
            throw LogError(.invalidBatch, "\(count) bytes in one follower append; at most \(Int32.max)")
        }
        var stamped: [StampedBatch] = []
        var position = 0
        while position < count {
            let header = try batches.withUnsafeBytes { raw in
                Result { () throws(LogError) in
                    try Self.validate(
                        UnsafeRawBufferPointer(rebasing: raw[position...]), exactlyOne: false, at: position)
                }
            }.get()
            if let previous = stamped.last {
                guard header.baseOffset == previous.lastOffset + 1 else {
                    throw LogError(
                        .nonContiguous,
                        "batch at byte \(position) starts at offset \(header.baseOffset), expected \(previous.lastOffset + 1)"
                    )
                }
                guard header.partitionLeaderEpoch >= previous.epoch else {
                    throw LogError(
                        .invalidBatch,
                        "batch at byte \(position) has epoch \(header.partitionLeaderEpoch), lower than the batch before it (\(previous.epoch))"
                    )
                }
            }
            stamped.append(
                StampedBatch(
                    byteOffset: position, size: header.totalSize, baseOffset: header.baseOffset,
                    lastOffset: header.lastOffset, epoch: header.partitionLeaderEpoch, maxTimestamp: header.maxTimestamp
                ))
            position += header.totalSize
        }
        return try await submit(.follower(stamped), bytes: batches)
    }

    private func submit(_ kind: PendingAppend.Kind, bytes: some LogBytes) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            let append = PendingAppend(kind: kind, bytes: bytes, continuation: continuation)
            if writer.appendInline(append) { return }
            if !queue.push(.append(append)) { continuation.resume(throwing: closedError) }
        }
    }

    private static func validate(_ batch: some LogBytes, exactlyOne: Bool) throws(LogError) -> RecordBatchHeader {
        try batch.withUnsafeBytes { raw in
            Result { () throws(LogError) in try validate(raw, exactlyOne: exactlyOne, at: 0) }
        }.get()
    }

    private static func validate(_ bytes: UnsafeRawBufferPointer, exactlyOne: Bool, at position: Int) throws(LogError)
        -> RecordBatchHeader
    {
        let header: RecordBatchHeader
        do {
            header = try RecordBatch.verify(bytes)
        } catch {
            throw LogError(.invalidBatch, "batch at byte \(position): \(error.description)", position: Int64(position))
        }
        if exactlyOne && header.totalSize != bytes.count {
            throw LogError(
                .invalidBatch,
                "the batch header says \(header.totalSize) bytes but \(bytes.count) were given; append one batch at a time"
            )
        }
        return header
    }

    // MARK: - Reads

    /// Whole batches from the one holding `offset`, exactly as stored, up to about `maxBytes` (at least one batch
    /// when one is readable, however large, so a reader always makes progress), stopping before the first batch
    /// whose last offset reaches `bound` (the high watermark for consumers, the log end for followers).
    ///
    /// Reads from the caller's thread with `pread` (page-cache hits take microseconds; a caller that serves cold
    /// data should read off the cooperative pool). Throws ``LogError/Code/offsetOutOfRange`` naming the first
    /// available offset below the log start, or past the log end.
    public func read(from offset: Int64, maxBytes: Int, upTo bound: Int64 = .max) throws -> ReadResult {
        var bytes: [UInt8] = []
        let position = try read(from: offset, maxBytes: maxBytes, upTo: bound, appendingTo: &bytes)
        return ReadResult(
            bytes: bytes, nextOffset: position.nextOffset, logStartOffset: position.logStartOffset,
            logEndOffset: position.logEndOffset)
    }

    /// The same read, appending the batches to `buffer` (left as it was when the read throws).
    public func read(
        from offset: Int64, maxBytes: Int, upTo bound: Int64 = .max, appendingTo buffer: inout some LogReadBuffer
    ) throws -> ReadPosition {
        let start = buffer.byteCount
        while true {
            let snapshot = try snapshot(for: offset, bound: bound)
            guard let entry = snapshot.entry else {
                return ReadPosition(
                    nextOffset: offset, logStartOffset: snapshot.logStartOffset, logEndOffset: snapshot.logEndOffset)
            }
            let attempt = Result { () throws(LogError) in
                try read(
                    entry, from: offset, maxBytes: maxBytes, bound: bound, generation: snapshot.generation,
                    appendingTo: &buffer)
            }
            let unchanged = shared.generation.load(ordering: .sequentiallyConsistent) == snapshot.generation
            if case .success(let next) = attempt, unchanged {
                return ReadPosition(
                    nextOffset: next, logStartOffset: snapshot.logStartOffset, logEndOffset: snapshot.logEndOffset)
            }
            buffer.truncate(toByteCount: start)
            // Damage is real only if no truncation rewrote the bytes under this read; otherwise read again.
            if case .failure(let error) = attempt, unchanged || error.code != .corruptBatch { throw error }
        }
    }

    private struct ReadSnapshot {
        var entry: SegmentEntry?
        var logStartOffset: Int64
        var logEndOffset: Int64
        var generation: UInt64
    }

    private func snapshot(for offset: Int64, bound: Int64) throws(LogError) -> ReadSnapshot {
        try shared.state.withLock { state throws(LogError) in
            guard !state.isClosed else { throw closedError }
            let end = state.logEndOffset
            guard offset >= state.logStartOffset, offset <= end else {
                throw LogError(
                    .offsetOutOfRange,
                    offset < state.logStartOffset
                        ? "offset \(offset) is below the log start; the first available offset is \(state.logStartOffset)"
                        : "offset \(offset) is past the log end offset \(end); the first available offset is \(state.logStartOffset)",
                    firstAvailableOffset: state.logStartOffset)
            }
            let generation = shared.generation.load(ordering: .sequentiallyConsistent)
            let entry = offset == end || offset >= bound ? nil : state.segments[state.segmentIndex(containing: offset)]
            return ReadSnapshot(
                entry: entry, logStartOffset: state.logStartOffset, logEndOffset: end, generation: generation)
        }
    }

    /// Appends whole batches from `entry` to `buffer` and returns the offset after the last one.
    private func read(
        _ entry: SegmentEntry, from offset: Int64, maxBytes: Int, bound: Int64, generation: UInt64,
        appendingTo buffer: inout some LogReadBuffer
    ) throws(LogError) -> Int64 {
        let segment = entry.segment
        let (start, found) = try position(of: offset, in: entry, generation: generation)
        guard let first = found, first.lastOffset < bound else { return offset }
        let length = Int(min(entry.size - start, max(Int64(first.totalSize), Int64(maxBytes))))
        let base = buffer.byteCount
        var readError: LogError?
        buffer.appendBytes(count: length) { destination in
            switch Result(catching: { () throws(LogError) in try segment.log.read(into: destination, at: start) }) {
            case .success(let count): return count
            case .failure(let error):
                readError = error
                return 0
            }
        }
        if let readError { throw readError }
        var count = 0
        var next = offset
        var expected = first.baseOffset
        try buffer.withUnsafeBytes { all in
            Result { () throws(LogError) in
                let raw = UnsafeRawBufferPointer(rebasing: all[base...])
                while count + RecordBatchHeader.size <= raw.count {
                    let position = start + Int64(count)
                    let header = try segment.parseHeader(
                        UnsafeRawBufferPointer(rebasing: raw[count...]), at: position, limit: entry.size)
                    guard header.baseOffset == expected else {
                        throw segment.corrupt(at: position, "base offset \(header.baseOffset), expected \(expected)")
                    }
                    guard header.lastOffset < bound, count + header.totalSize <= raw.count else { break }
                    count += header.totalSize
                    expected = header.lastOffset + 1
                    next = expected
                }
            }
        }.get()
        buffer.truncate(toByteCount: base + count)
        if count > 0 {
            shared.readHints.withLock {
                $0.record(
                    offset: next, in: ObjectIdentifier(segment), at: start + Int64(count), generation: generation)
            }
        }
        return next
    }

    /// Where the batch holding `offset` starts in `entry` and its header: where a recent read ended, when a batch
    /// starting at `offset` is there, else found through the offset index.
    private func position(of offset: Int64, in entry: SegmentEntry, generation: UInt64) throws(LogError) -> (
        position: Int64, header: RecordBatchHeader?
    ) {
        let segment = entry.segment
        let hinted = shared.readHints.withLock {
            $0.position(of: offset, in: ObjectIdentifier(segment), generation: generation)
        }
        if let hinted, hinted < entry.size, let header = try? segment.header(at: hinted, limit: entry.size),
            header.baseOffset == offset
        {
            return (hinted, header)
        }
        return try segment.position(of: offset, entries: entry.offsetEntries, limit: entry.size)
    }

    /// The first batch whose max timestamp is at or after `timestamp` (ms), below `bound`; nil when there is none.
    /// Uses the segments' max timestamps, then the time index, then a short scan.
    public func offset(forTimestamp timestamp: Int64, upTo bound: Int64 = .max) throws -> TimestampOffset? {
        while true {
            let (candidates, generation) = try shared.state.withLock { state throws(LogError) in
                guard !state.isClosed else { throw closedError }
                return (
                    state.segments.filter { $0.maxTimestamp >= timestamp && $0.baseOffset < bound },
                    shared.generation.load(ordering: .sequentiallyConsistent)
                )
            }
            let attempt = Result { () throws(LogError) -> TimestampOffset? in
                var found: TimestampOffset?
                search: for entry in candidates {
                    let segment = entry.segment
                    var position: Int64 = 0
                    if let below = try segment.lastOffset(before: timestamp, entries: entry.timeEntries) {
                        position = try segment.lookup(offset: below + 1, entries: entry.offsetEntries).position
                    }
                    while position < entry.size {
                        let header = try segment.header(at: position, limit: entry.size)
                        if header.lastOffset >= bound { break search }
                        if header.maxTimestamp >= timestamp {
                            found = TimestampOffset(offset: header.baseOffset, timestamp: header.maxTimestamp)
                            break search
                        }
                        position += Int64(header.totalSize)
                    }
                }
                return found
            }
            let unchanged = shared.generation.load(ordering: .sequentiallyConsistent) == generation
            switch attempt {
            case .success(let found):
                if unchanged { return found }
            case .failure(let error):
                if unchanged || error.code != .corruptBatch { throw error }
            }
        }
    }

    // MARK: - Maintenance

    /// Removes every batch whose last offset is at or after `offset` (whole batches only), as a follower does
    /// before fetching from a new leader; returns the new log end offset (at or below `offset`). Below the log
    /// start, empties the log and restarts it at `offset`.
    @discardableResult
    public func truncate(to offset: Int64) async throws -> Int64 {
        guard offset >= 0 else { throw LogError(.invalidArgument, "cannot truncate to negative offset \(offset)") }
        return try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.truncate(to: offset, continuation)) { continuation.resume(throwing: closedError) }
        }
    }

    /// Deletes everything and restarts the log empty at `offset`, for a follower whose log lies wholly below the
    /// leader's log start.
    public func truncateFully(startingAt offset: Int64) async throws {
        guard offset >= 0 else { throw LogError(.invalidArgument, "cannot start the log at negative offset \(offset)") }
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.truncateFully(startingAt: offset, continuation)) {
                continuation.resume(throwing: closedError)
            }
        }
    }

    /// Closes the active segment and starts a new one at the log end offset (no-op when the active one is empty).
    public func roll() async throws {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.roll(continuation)) { continuation.resume(throwing: closedError) }
        }
    }

    /// Returns once every batch below `offset` is on stable storage, whatever the durability policy.
    public func flush(upTo offset: Int64 = .max) async throws {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.flush(upTo: offset, continuation)) { continuation.resume(throwing: closedError) }
        }
    }

    /// Applies the configured retention at time `now` (ms since the Unix epoch): deletes whole closed segments
    /// from the oldest while their max timestamp is older than `maxAge` or the log without them still holds
    /// `maxBytes`. Never deletes the active segment.
    @discardableResult
    public func applyRetention(now: Int64? = nil) async throws -> RetentionResult {
        let now = now ?? wallClockMilliseconds()
        return try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.retention(now: now, continuation)) { continuation.resume(throwing: closedError) }
        }
    }

    /// Completes queued work, syncs everything, writes the clean-shutdown marker and stops the writer thread.
    /// Later calls fail with ``LogError/Code/closed``.
    public func close() async throws {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(.close(continuation)) { continuation.resume(throwing: closedError) }
        }
    }

    private var closedError: LogError { LogError(.closed, "the partition log at \(directory) is closed") }
}
