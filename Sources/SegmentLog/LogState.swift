import Synchronization

/// What readers see of the log: the segments with their valid lengths, the offsets that bound the log, and the
/// epoch cache. The writer thread publishes every change here after the bytes are written (and synced, when the
/// policy asks), so a reader never sees a partial batch.
struct LogState: Sendable {
    /// Oldest first; the last one is the active segment. Never empty while open.
    var segments: [SegmentEntry]
    var logStartOffset: Int64
    var epochs: LeaderEpochCache
    var isClosed = false

    var logEndOffset: Int64 { segments[segments.count - 1].nextOffset }

    /// The index of the segment holding `offset`: the last whose base offset is at or below it.
    func segmentIndex(containing offset: Int64) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].baseOffset <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }
}

/// The lock-protected state plus a truncation generation shared by the log's API and its writer thread.
///
/// Reads `pread` outside the lock. Appends only add bytes past what was published, which a reader never looks at,
/// but truncation rewrites published bytes: it bumps ``generation`` (inside the lock, before touching files), and
/// a reader that sees the generation change across its `pread` discards what it read and tries again — a seqlock,
/// so reads never wait for the writer.
final class SharedLogState: Sendable {
    let state: Mutex<LogState>
    let generation = Atomic<UInt64>(0)
    let readHints = Mutex(ReadHints())

    init(_ state: LogState) {
        self.state = Mutex(state)
    }
}

/// Where recent reads ended, so that a sequential reader (a follower fetching, a consumer tailing) finds the batch it
/// asks for next without a binary search of the on-disk offset index and a scan of headers: about two dozen `pread`s
/// per replicated batch before, a few per cent of storage CPU. A hint names its segment and the truncation
/// generation it was made in, and a reader still checks that the batch there starts at the offset it wants.
struct ReadHints: Sendable {
    private struct Hint: Sendable {
        var offset: Int64
        var segment: ObjectIdentifier
        var position: Int64
        var generation: UInt64
    }

    /// A few readers per partition: its followers and some consumers.
    static let capacity = 8
    private var hints: [Hint] = []

    /// Where the batch starting at `offset` lies in `segment`, if a read of the same generation ended there.
    func position(of offset: Int64, in segment: ObjectIdentifier, generation: UInt64) -> Int64? {
        hints.last { $0.offset == offset && $0.segment == segment && $0.generation == generation }?.position
    }

    /// Notes that a read ended at `offset`, found at `position` of `segment`; the oldest hint makes room.
    mutating func record(offset: Int64, in segment: ObjectIdentifier, at position: Int64, generation: UInt64) {
        hints.removeAll { $0.offset == offset && $0.segment == segment }
        if hints.count == Self.capacity { hints.removeFirst() }
        hints.append(Hint(offset: offset, segment: segment, position: position, generation: generation))
    }
}
