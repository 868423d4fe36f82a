import Glibc
import HadronCore
import Logging
import Synchronization

/// The one thread that changes a partition log's files: appends (group commit), syncs, rolls, truncation,
/// retention and close.
///
/// Each turn of the loop takes every queued job. Consecutive appends become one chunk per segment: one `pwritev`
/// of all their bytes, one `pwrite` per index, and with ``LogDurability/always`` one `fdatasync`, after which they
/// are published to readers and completed together. Appends that arrive meanwhile wait in the queue and share the
/// next write and sync, so the sync cost is spread over everything that arrived during the previous one.
final class LogWriter: @unchecked Sendable {
    // @unchecked: every `var` below belongs to whoever holds `turn`: the writer thread while it performs queued
    // jobs, or a caller appending inline (``appendInline(_:)``). The thread is started after the initializer has
    // returned; other threads reach the log only through `shared` (a Mutex and an Atomic) and `queue` (its own lock).

    /// The right to change the log's files and the state below.
    private let turn = Mutex(())
    /// Set once the log is closed (or dropped): inline appends are refused from then on.
    private var isClosed = false

    /// At most this many appends per `pwritev` (two vectors each, within IOV_MAX = 1024).
    private static let maxChunkAppends = 256
    /// Bytes of a batch the leader stamps: base offset, batch length, epoch. Written from a scratch copy so the
    /// caller's array is never copied or mutated.
    private static let prefixSize = 16

    let shared: SharedLogState
    let queue: JobQueue<WriterJob>
    private let directory: LogDirectory
    private let configuration: LogConfiguration
    private let logger: Logger

    private var tail: SegmentTail
    private var epochs: LeaderEpochCache
    private var logStartOffset: Int64
    private var hasUnsyncedData = false
    /// Data written since the last interval sync was handed to the background (the interval's own flag:
    /// `hasUnsyncedData` stays set until a sync on this thread, so close and explicit flushes still sync).
    private var writtenSinceIntervalSync = false
    private var directoryNeedsSync = false
    /// When an `interval` policy next syncs (monotonic ns); nil while everything written is synced.
    private var syncDeadline: UInt64?
    /// Rolled segments the background flusher may not have synced yet.
    private var rolledNotDurable: [Segment] = []
    /// How many appends the last synced group completed and how long its sync took: with `always`, the writer
    /// waits up to half a sync for that many appends to queue again before writing the next group.
    private var lastSyncedGroupSize = 0
    private var lastSyncNanoseconds: UInt64 = 0
    /// Set when rolling back a failed write failed too: the files no longer match what was published, so every
    /// later write is refused until the log is reopened (and recovered).
    private var failure: LogError?

    private struct ChunkItem {
        let append: PendingAppend
        let result: AppendResult
        let stamped: Bool
    }
    private var chunk: [ChunkItem] = []
    private var offsetEntries: [UInt8] = []
    private var timeEntries: [UInt8] = []
    private let vectors: UnsafeMutableBufferPointer<iovec>
    private let prefixes: UnsafeMutableRawBufferPointer

    init(loaded: LogLoader.Loaded, configuration: LogConfiguration, logger: Logger, shared: SharedLogState) {
        self.shared = shared
        self.queue = JobQueue()
        self.directory = loaded.directory
        self.configuration = configuration
        self.logger = logger
        self.tail = loaded.tail
        self.epochs = loaded.epochs
        self.logStartOffset = loaded.logStartOffset
        vectors = .allocate(capacity: Self.maxChunkAppends * 2)
        prefixes = .allocate(byteCount: Self.maxChunkAppends * Self.prefixSize, alignment: 8)
        chunk.reserveCapacity(Self.maxChunkAppends)
    }

    deinit {
        vectors.deallocate()
        prefixes.deallocate()
    }

    // MARK: - Loop

    func run() {
        var jobs: [WriterJob] = []
        while queue.waitForWork(deadline: turn.withLock { _ in syncDeadline }) {
            let closed = turn.withLock { _ in takeTurn(&jobs) }
            if closed { return }
        }
        // The PartitionLog went away without close(): stop, leaving no clean-shutdown marker.
        turn.withLock { _ in isClosed = true }
        shared.state.withLock { $0.isClosed = true }
    }

    /// Takes every queued job and performs it, in order, holding the turn. Returns true once the log is closed.
    private func takeTurn(_ jobs: inout [WriterJob]) -> Bool {
        queue.takeAllNow(into: &jobs)
        defer { jobs.removeAll(keepingCapacity: true) }
        // Checked whatever woke the loop: under steady appends the queue is never empty when the deadline passes,
        // and the interval promise (synced within it) must hold then too.
        defer { if let deadline = syncDeadline, monotonicNanoseconds() >= deadline { syncForInterval() } }
        if jobs.isEmpty { return false }
        if configuration.durability == .always, jobs.count < lastSyncedGroupSize, case .append = jobs[0] {
            let wait = min(lastSyncNanoseconds / 2, 2_000_000)
            queue.takeMore(into: &jobs, atLeast: lastSyncedGroupSize, deadline: monotonicNanoseconds() + wait)
        }
        var index = 0
        while index < jobs.count {
            if case .append = jobs[index] {
                var end = index + 1
                while end < jobs.count, case .append = jobs[end] { end += 1 }
                writeGroup(jobs[index..<end])
                index = end
                continue
            }
            if case .close(let continuation) = jobs[index] {
                finish(closing: continuation, remaining: jobs[(index + 1)...])
                return true
            }
            perform(jobs[index])
            index += 1
        }
        return false
    }

    /// Writes `append` on the calling thread, when the log syncs on an interval or not at all, nothing is queued
    /// ahead of it and no other thread holds the turn; false when it must be queued for the writer thread instead.
    ///
    /// Under those policies a write only copies into the page cache. Handing it to the writer thread and back cost
    /// two thread wake-ups per append, on every replica of every replicated batch; a `fsync: always` log keeps its
    /// writer thread, which groups appends under one sync and keeps the sync off the caller's thread.
    func appendInline(_ append: PendingAppend) -> Bool {
        guard configuration.durability != .always else { return false }
        return turn.withLockIfAvailable { _ -> Bool in
            guard !isClosed, queue.isEmpty else { return false }
            let hadDeadline = syncDeadline != nil
            writeGroup(CollectionOfOne(WriterJob.append(append)))
            // The writer thread waits with the deadline it last saw: a first unsynced write sets one.
            if !hadDeadline, syncDeadline != nil { queue.poke() }
            return true
        } ?? false
    }

    private func perform(_ job: WriterJob) {
        switch job {
        case .append, .close:
            preconditionFailure("handled by run()")
        case .flush(let upTo, let continuation):
            continuation.resume(with: Result { () throws(LogError) in try flush(upTo: upTo) })
        case .roll(let continuation):
            continuation.resume(
                with: Result { () throws(LogError) in
                    if let failure { throw failure }
                    guard tail.entry.size > 0 else { return }
                    try roll()
                })
        case .truncate(let offset, let continuation):
            continuation.resume(with: Result { () throws(LogError) in try truncate(to: offset) })
        case .truncateFully(let offset, let continuation):
            continuation.resume(with: Result { () throws(LogError) in try truncateFully(startingAt: offset) })
        case .retention(let now, let continuation):
            continuation.resume(with: Result { () throws(LogError) in try applyRetention(now: now) })
        }
    }

    // MARK: - Group commit

    private func writeGroup(_ jobs: some Collection<WriterJob>) {
        var pending = tail
        var groupError: (any Error)? = failure
        for job in jobs {
            guard case .append(let append) = job else { continue }
            if let groupError {
                append.continuation.resume(throwing: groupError)
                continue
            }
            do {
                if let rejection = try admit(append, pending: &pending) {
                    append.continuation.resume(throwing: rejection)
                }
            } catch {
                // A write, sync, roll or checkpoint failed: the chunk was rolled back and failed; the rest of this
                // group fails with the same error rather than hitting a full disk again one by one.
                append.continuation.resume(throwing: error)
                groupError = error
            }
        }
        // Appends admitted before a failure that did not involve them (an epoch checkpoint) are still written.
        try? commitChunk(&pending)
    }

    /// Adds `append` to the chunk. Returns an error that rejects this append alone (a stale epoch, a follower
    /// batch that does not continue the log); throws when I/O failed.
    private func admit(_ append: PendingAppend, pending: inout SegmentTail) throws(LogError) -> LogError? {
        let firstOffset = pending.entry.nextOffset
        switch append.kind {
        case .leader(let epoch, let lastOffsetDelta, let maxTimestamp):
            if let latest = epochs.latestEpoch, epoch < latest {
                return LogError(
                    .staleEpoch, "append with leader epoch \(epoch), but the log is at epoch \(latest)")
            }
            let lastOffset = firstOffset + Int64(lastOffsetDelta)
            try prepareSpace(for: append.bytes.byteCount, lastOffset: lastOffset, pending: &pending)
            if epoch > epochs.latestEpoch ?? .min {
                try updateEpochs { $0.assign(epoch: epoch, startOffset: firstOffset) }
            }
            let slot = prefixes.baseAddress! + chunk.count * Self.prefixSize
            append.bytes.withUnsafeBytes { source in
                slot.copyMemory(from: source.baseAddress!, byteCount: Self.prefixSize)
            }
            // RecordBatch.stamp's fields, written into the prefix copy (it wants a whole batch).
            let prefix = UnsafeMutableRawBufferPointer(start: slot, count: Self.prefixSize)
            prefix.storeBigEndian(firstOffset, at: 0)
            prefix.storeBigEndian(epoch, at: 12)
            pending.append(
                baseOffset: firstOffset, lastOffset: lastOffset, maxTimestamp: maxTimestamp, size: append.bytes.byteCount,
                interval: configuration.indexIntervalBytes, offsetEntries: &offsetEntries, timeEntries: &timeEntries)
            chunk.append(
                ChunkItem(
                    append: append, result: AppendResult(firstOffset: firstOffset, lastOffset: lastOffset),
                    stamped: true))

        case .follower(let batches):
            guard batches[0].baseOffset == firstOffset else {
                return LogError(
                    .nonContiguous,
                    "follower batches start at offset \(batches[0].baseOffset), but the log ends at offset \(firstOffset)"
                )
            }
            var latest = epochs.latestEpoch ?? .min
            var newEpochs: [(epoch: Int32, startOffset: Int64)] = []
            for batch in batches {
                if batch.epoch < latest {
                    return LogError(
                        .staleEpoch,
                        "follower batch at offset \(batch.baseOffset) has epoch \(batch.epoch), but the log is at epoch \(latest)"
                    )
                }
                if batch.epoch > latest {
                    newEpochs.append((batch.epoch, batch.baseOffset))
                    latest = batch.epoch
                }
            }
            let lastOffset = batches[batches.count - 1].lastOffset
            try prepareSpace(for: append.bytes.byteCount, lastOffset: lastOffset, pending: &pending)
            if !newEpochs.isEmpty {
                try updateEpochs { cache in
                    for entry in newEpochs { cache.assign(epoch: entry.epoch, startOffset: entry.startOffset) }
                    return true
                }
            }
            for batch in batches {
                pending.append(
                    baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestamp: batch.maxTimestamp,
                    size: batch.size, interval: configuration.indexIntervalBytes, offsetEntries: &offsetEntries,
                    timeEntries: &timeEntries)
            }
            chunk.append(
                ChunkItem(
                    append: append, result: AppendResult(firstOffset: firstOffset, lastOffset: lastOffset),
                    stamped: false))
        }
        return nil
    }

    /// Makes room in the chunk and rolls the segment first when the append would overflow it (size, the 32-bit
    /// relative offsets of the index, or age). A segment always takes at least one append.
    private func prepareSpace(for size: Int, lastOffset: Int64, pending: inout SegmentTail) throws(LogError) {
        var roll = false
        if pending.entry.size > 0 {
            if pending.entry.size + Int64(size) > configuration.segmentBytes { roll = true }
            if lastOffset - pending.entry.baseOffset > Int64(UInt32.max) { roll = true }
            if let age = configuration.segmentAge, let first = pending.firstBatchTimestamp,
                wallClockMilliseconds() - first >= age.wholeMilliseconds
            {
                roll = true
            }
        }
        if roll || chunk.count == Self.maxChunkAppends { try commitChunk(&pending) }
        if roll {
            try self.roll()
            pending = tail
        }
    }

    /// Writes the chunk to the active segment, syncs as the policy asks, publishes it and completes its appends.
    /// On failure truncates the files back to the last published length and fails the chunk's appends.
    private func commitChunk(_ pending: inout SegmentTail) throws(LogError) {
        guard !chunk.isEmpty else { return }
        let segment = tail.entry.segment
        do {
            try writeVectors(from: 0, filled: 0, to: segment.log, at: tail.entry.size)
            if !offsetEntries.isEmpty {
                try segment.offsetIndex.write(
                    offsetEntries, at: Int64(tail.entry.offsetEntries * Segment.offsetEntrySize))
            }
            if !timeEntries.isEmpty {
                try segment.timeIndex.write(timeEntries, at: Int64(tail.entry.timeEntries * Segment.timeEntrySize))
            }
            if configuration.durability == .always {
                let started = monotonicNanoseconds()
                try segment.log.syncData()
                lastSyncNanoseconds = monotonicNanoseconds() - started
                lastSyncedGroupSize = chunk.count
                if directoryNeedsSync {
                    try directory.sync()
                    directoryNeedsSync = false
                }
            } else {
                hasUnsyncedData = true
                writtenSinceIntervalSync = true
                if case .interval(let milliseconds) = configuration.durability, syncDeadline == nil {
                    syncDeadline = monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
                }
            }
        } catch {
            rollBack(segment)
            pending = tail
            for item in chunk { item.append.continuation.resume(throwing: error) }
            clearChunk()
            logger.error(
                "Partition log write failed; rolled back to the last complete batch",
                metadata: [
                    "segment.path": "\(segment.log.path)", "log.end_offset": "\(tail.entry.nextOffset)",
                    "error": "\(error)",
                ])
            throw error
        }
        tail = pending
        publishTail()
        for item in chunk { item.append.continuation.resume(returning: item.result) }
        clearChunk()
    }

    /// Fills one vector per stamped prefix and batch remainder, holding every array's storage for the duration of
    /// the single `pwritev` (a recursion of `withUnsafeBytes`, at most `maxChunkAppends` deep).
    private func writeVectors(from index: Int, filled: Int, to file: DiskFile, at position: Int64) throws(LogError) {
        if index == chunk.count {
            try file.write(vectors: UnsafeMutableBufferPointer(rebasing: vectors[0..<filled]), at: position)
            return
        }
        let item = chunk[index]
        try item.append.bytes.withUnsafeBytes { raw in
            Result { () throws(LogError) in
                var count = filled
                let base = UnsafeMutableRawPointer(mutating: raw.baseAddress!)
                if item.stamped {
                    vectors[count] = iovec(
                        iov_base: prefixes.baseAddress! + index * Self.prefixSize, iov_len: Self.prefixSize)
                    vectors[count + 1] = iovec(iov_base: base + Self.prefixSize, iov_len: raw.count - Self.prefixSize)
                    count += 2
                } else {
                    vectors[count] = iovec(iov_base: base, iov_len: raw.count)
                    count += 1
                }
                try writeVectors(from: index + 1, filled: count, to: file, at: position)
            }
        }.get()
    }

    private func clearChunk() {
        chunk.removeAll(keepingCapacity: true)
        offsetEntries.removeAll(keepingCapacity: true)
        timeEntries.removeAll(keepingCapacity: true)
    }

    private func rollBack(_ segment: Segment) {
        do {
            try segment.log.truncate(to: tail.entry.size)
            try segment.offsetIndex.truncate(to: Int64(tail.entry.offsetEntries * Segment.offsetEntrySize))
            try segment.timeIndex.truncate(to: Int64(tail.entry.timeEntries * Segment.timeEntrySize))
        } catch {
            failure = LogError(
                .io, "\(segment.log.path): could not roll back a failed write (\(error)); reopen the log to recover it",
                path: segment.log.path, position: tail.entry.size)
            logger.critical("Partition log could not roll back a failed write", metadata: ["error": "\(error)"])
        }
    }

    private func publishTail() {
        let entry = tail.entry
        shared.state.withLock { state in state.segments[state.segments.count - 1] = entry }
    }

    /// Persists a changed epoch cache (write temp, fsync, rename, fsync directory) before anything that depends
    /// on it is written, then publishes it.
    private func updateEpochs(_ change: (inout LeaderEpochCache) -> Bool) throws(LogError) {
        var updated = epochs
        guard change(&updated), updated != epochs else { return }
        try directory.writeAtomically(LeaderEpochCache.fileName, contents: updated.serialized())
        epochs = updated
        shared.state.withLock { $0.epochs = updated }
    }

    // MARK: - Roll and sync

    /// Closes the active segment (its final time-index entry) and starts an empty one at the log end offset.
    /// The closed segment is synced in the background unless the policy already synced it.
    private func roll() throws(LogError) {
        let old = tail.entry.segment
        var closing = tail
        var finalEntry: [UInt8] = []
        closing.appendFinalTimeEntry(into: &finalEntry)
        if !finalEntry.isEmpty {
            try old.timeIndex.write(finalEntry, at: Int64(tail.entry.timeEntries * Segment.timeEntrySize))
        }
        let segment = try Segment.open(baseOffset: closing.entry.nextOffset, in: directory, fresh: true)
        directoryNeedsSync = true
        if configuration.durability == .always {
            try directory.sync()
            directoryNeedsSync = false
        }
        tail = SegmentTail(empty: segment)
        let fresh = tail.entry
        shared.state.withLock { state in
            state.segments[state.segments.count - 1] = closing.entry
            state.segments.append(fresh)
        }
        rolledNotDurable.append(old)
        BackgroundFlusher.shared.flush(old, logger: logger)
        logger.debug(
            "Rolled partition log segment",
            metadata: ["segment.path": "\(segment.log.path)", "segment.base_offset": "\(segment.baseOffset)"])
    }

    private func flush(upTo offset: Int64) throws(LogError) {
        if let failure { throw failure }
        for segment in rolledNotDurable where !segment.isDurable && segment.baseOffset < offset {
            try segment.log.syncData()
            try segment.offsetIndex.syncData()
            try segment.timeIndex.syncData()
            segment.markDurable()
        }
        rolledNotDurable.removeAll { $0.isDurable }
        if hasUnsyncedData {
            try tail.entry.segment.log.syncData()
            hasUnsyncedData = false
            syncDeadline = nil
        }
        if directoryNeedsSync {
            try directory.sync()
            directoryNeedsSync = false
        }
    }

    /// The `interval` policy's sync: the active segment's data is synced by ``BackgroundFlusher/tails``, not here,
    /// so appends go on while the kernel writes — on this thread every sync stalled the appends queued behind it
    /// for as long as the disk took, the tail latency of replicated writes. Rolled segments have their own
    /// background sync already; the directory (new segment files) is synced here, which only follows a roll.
    private func syncForInterval() {
        syncDeadline = nil
        if directoryNeedsSync {
            do {
                try directory.sync()
                directoryNeedsSync = false
            } catch {
                logger.error("Periodic sync of the partition log directory failed", metadata: ["error": "\(error)"])
                if case .interval(let milliseconds) = configuration.durability {
                    syncDeadline = monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
                }
            }
        }
        guard writtenSinceIntervalSync else { return }
        writtenSinceIntervalSync = false
        BackgroundFlusher.tails.syncTail(tail.entry.segment, logger: logger)
    }

    // MARK: - Truncation

    /// Removes every batch whose last offset is at or after `target` (a batch is kept or removed whole), keeping
    /// the indexes and the epoch cache consistent. Returns the new log end offset, at or below `target`.
    private func truncate(to target: Int64) throws(LogError) -> Int64 {
        if let failure { throw failure }
        guard target < tail.entry.nextOffset else { return tail.entry.nextOffset }
        if target < logStartOffset {
            try truncateFully(startingAt: target)
            return target
        }
        let (segments, index) = shared.state.withLock { state in
            (state.segments, state.segmentIndex(containing: target))
        }
        let entry = segments[index]
        let segment = entry.segment
        let (position, header) = try segment.position(of: target, entries: entry.offsetEntries, limit: entry.size)
        let newEnd = header?.baseOffset ?? entry.nextOffset
        let offsetEntryCount = try segment.offsetEntries(below: position, entries: entry.offsetEntries)
        let timeEntryCount = try segment.timeEntries(below: newEnd, entries: entry.timeEntries)

        // Recompute the segment's max timestamp from what survives: the last time entry covers every batch before
        // the last offset-index entry, the walk covers the rest.
        let walkStart = offsetEntryCount > 0 ? try segment.offsetEntry(offsetEntryCount - 1).position : 0
        var lastTimeEntryTimestamp = Int64.min
        if timeEntryCount > 0 { lastTimeEntryTimestamp = try segment.timeEntry(timeEntryCount - 1).timestamp }
        var maxTimestamp = lastTimeEntryTimestamp
        var walk = walkStart
        while walk < position {
            let batch = try segment.header(at: walk, limit: position)
            maxTimestamp = max(maxTimestamp, batch.maxTimestamp)
            walk += Int64(batch.totalSize)
        }
        let firstBatchTimestamp = position > 0 ? try segment.header(at: 0, limit: position).maxTimestamp : nil

        try updateEpochs { $0.truncate(fromEnd: newEnd) }
        let truncated = SegmentEntry(
            segment: segment, size: position, nextOffset: newEnd, maxTimestamp: maxTimestamp,
            offsetEntries: offsetEntryCount, timeEntries: timeEntryCount)
        // Publish before touching the files: readers that overlap see the generation change and retry.
        shared.state.withLock { state in
            state.segments.removeLast(state.segments.count - index - 1)
            state.segments[index] = truncated
            shared.generation.add(1, ordering: .sequentiallyConsistent)
        }
        tail = SegmentTail(
            entry: truncated, bytesSinceOffsetEntry: position - walkStart,
            lastTimeEntryTimestamp: lastTimeEntryTimestamp, firstBatchTimestamp: firstBatchTimestamp)
        for removed in segments[(index + 1)...] {
            for name in Segment.fileNames(removed.baseOffset) { try directory.remove(name) }
        }
        rolledNotDurable.removeAll { $0.baseOffset >= segment.baseOffset }
        try segment.log.truncate(to: position)
        try segment.offsetIndex.truncate(to: Int64(offsetEntryCount * Segment.offsetEntrySize))
        try segment.timeIndex.truncate(to: Int64(timeEntryCount * Segment.timeEntrySize))
        try segment.log.syncData()
        try directory.sync()
        logger.info(
            "Truncated partition log",
            metadata: [
                "log.requested_offset": "\(target)", "log.end_offset": "\(newEnd)",
                "segments.removed": "\(segments.count - index - 1)", "segment.path": "\(segment.log.path)",
            ])
        return newEnd
    }

    /// Empties the log and restarts it at `offset` (a follower whose log lies wholly outside the leader's).
    private func truncateFully(startingAt offset: Int64) throws(LogError) {
        if let failure { throw failure }
        try updateEpochs { cache in
            let changed = !cache.entries.isEmpty
            cache = LeaderEpochCache()
            return changed
        }
        try LogLoader.writeLogStart(offset, in: directory)
        let old = shared.state.withLock { $0.segments }
        for entry in old {
            for name in Segment.fileNames(entry.baseOffset) { try directory.remove(name) }
        }
        let segment = try Segment.open(baseOffset: offset, in: directory, fresh: true)
        try directory.sync()
        tail = SegmentTail(empty: segment)
        logStartOffset = offset
        let fresh = tail.entry
        shared.state.withLock { state in
            state.segments = [fresh]
            state.logStartOffset = offset
            shared.generation.add(1, ordering: .sequentiallyConsistent)
        }
        rolledNotDurable.removeAll()
        hasUnsyncedData = false
        logger.info("Emptied partition log", metadata: ["log.start_offset": "\(offset)"])
    }

    // MARK: - Retention

    /// Deletes closed segments from the oldest while the age or size rule says so, stopping at the first that
    /// stays: the log start offset only moves forward and no gap opens.
    private func applyRetention(now: Int64) throws(LogError) -> RetentionResult {
        if let failure { throw failure }
        let segments = shared.state.withLock { $0.segments }
        var total = segments.reduce(Int64(0)) { $0 + $1.size }
        var count = 0
        let retention = configuration.retention
        while count < segments.count - 1 {
            let entry = segments[count]
            let expired = retention.maxAge.map { entry.maxTimestamp < now - $0.wholeMilliseconds } ?? false
            let oversize = retention.maxBytes.map { total - entry.size >= $0 } ?? false
            guard expired || oversize else { break }
            total -= entry.size
            count += 1
        }
        guard count > 0 else {
            return RetentionResult(deletedSegments: [], deletedBytes: 0, logStartOffset: logStartOffset)
        }
        let deleted = segments[0..<count]
        let newStart = max(logStartOffset, segments[count].baseOffset)
        // The checkpoint first: a crash in the middle leaves files that the next open deletes.
        try LogLoader.writeLogStart(newStart, in: directory)
        try updateEpochs { $0.truncate(fromStart: newStart) }
        logStartOffset = newStart
        shared.state.withLock { state in
            state.segments.removeFirst(count)
            state.logStartOffset = newStart
        }
        for entry in deleted {
            for name in Segment.fileNames(entry.baseOffset) { try directory.remove(name) }
        }
        try directory.sync()
        rolledNotDurable.removeAll { $0.baseOffset < newStart }
        let bytes = deleted.reduce(Int64(0)) { $0 + $1.size }
        logger.info(
            "Retention deleted partition log segments",
            metadata: [
                "segments.deleted": "\(count)", "bytes.deleted": "\(bytes)", "log.start_offset": "\(newStart)",
            ])
        return RetentionResult(
            deletedSegments: deleted.map(\.baseOffset), deletedBytes: bytes, logStartOffset: newStart)
    }

    // MARK: - Close

    /// Syncs everything, writes the clean-shutdown marker, refuses further jobs and completes `continuation` last.
    private func finish(closing continuation: CheckedContinuation<Void, any Error>, remaining: ArraySlice<WriterJob>) {
        let result = Result { () throws(LogError) in
            if let failure { throw failure }
            let segment = tail.entry.segment
            var closing = tail
            var finalEntry: [UInt8] = []
            closing.appendFinalTimeEntry(into: &finalEntry)
            if !finalEntry.isEmpty {
                try segment.timeIndex.write(finalEntry, at: Int64(tail.entry.timeEntries * Segment.timeEntrySize))
                tail = closing
                publishTail()
            }
            hasUnsyncedData = true
            try flush(upTo: .max)
            try segment.offsetIndex.syncData()
            try segment.timeIndex.syncData()
            _ = try DiskFile.open(LogLoader.cleanShutdownFileName, in: directory, create: true)
            try directory.sync()
        }
        isClosed = true
        shared.state.withLock { $0.isClosed = true }
        queue.close()
        let closed = LogError(.closed, "the partition log at \(directory.path) is closed")
        for job in remaining { job.continuationForFailure(closed) }
        var late: [WriterJob] = []
        while queue.takeAll(into: &late, deadline: nil) {
            for job in late { job.continuationForFailure(closed) }
            late.removeAll(keepingCapacity: true)
        }
        if case .failure(let error) = result {
            logger.error("Partition log did not close cleanly", metadata: ["error": "\(error)"])
        }
        continuation.resume(with: result.mapError { $0 as any Error })
    }
}
