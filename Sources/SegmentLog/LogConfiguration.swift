/// How a partition log lays out segments, when it syncs, and what it keeps (DESIGN §7).
///
/// A value type so a storage node can derive one per Stream from the resource spec and hand it to
/// ``PartitionLog/open(directory:configuration:logger:)``; nothing in it changes while a log is open.
public struct LogConfiguration: Sendable, Hashable {
    /// A segment rolls before an append would take it past this many bytes (a batch larger than this still gets a
    /// segment of its own). At most 2 GiB: index entries hold 32-bit file positions.
    public var segmentBytes: Int64
    /// A segment also rolls once its first batch's max timestamp is this old, so that retention by age can delete
    /// data from a partition that receives little traffic. `nil` rolls by size only.
    public var segmentAge: Duration?
    /// One offset-index entry per this many bytes of log: the upper bound on how far a lookup scans.
    public var indexIntervalBytes: Int
    /// When appended bytes must be on stable storage before the append completes.
    public var durability: LogDurability
    /// What ``PartitionLog/applyRetention(now:)`` deletes.
    public var retention: RetentionPolicy

    public init(
        segmentBytes: Int64 = 128 * 1024 * 1024,
        segmentAge: Duration? = nil,
        indexIntervalBytes: Int = 4096,
        durability: LogDurability = .always,
        retention: RetentionPolicy = RetentionPolicy()
    ) {
        self.segmentBytes = segmentBytes
        self.segmentAge = segmentAge
        self.indexIntervalBytes = indexIntervalBytes
        self.durability = durability
        self.retention = retention
    }

    /// Rejects values that would break the on-disk format (32-bit positions) or make no sense.
    func validate() throws(LogError) {
        guard segmentBytes > 0, segmentBytes <= Int64(Int32.max) else {
            throw LogError(.invalidConfiguration, "segmentBytes must be in 1...\(Int32.max), got \(segmentBytes)")
        }
        guard indexIntervalBytes > 0 else {
            throw LogError(.invalidConfiguration, "indexIntervalBytes must be positive, got \(indexIntervalBytes)")
        }
        if case .interval(let milliseconds) = durability, milliseconds <= 0 {
            throw LogError(.invalidConfiguration, "a sync interval must be positive, got \(milliseconds) ms")
        }
        if let age = segmentAge, age <= .zero {
            throw LogError(.invalidConfiguration, "segmentAge must be positive, got \(age)")
        }
    }
}

/// When an append's bytes reach stable storage relative to its completion.
public enum LogDurability: Sendable, Hashable {
    /// `fdatasync` before the append completes; appends that arrive together share one sync (group commit).
    /// A completed append survives power loss.
    case always
    /// Appends complete once written to the operating system; the log syncs at most this long after a write.
    /// A completed append survives the process being killed, and power loss loses at most the interval.
    case interval(milliseconds: Int)
    /// Appends complete once written to the operating system and the log never syncs on its own
    /// (``PartitionLog/flush(upTo:)``, rolling and closing still do). For replicated partitions, where other
    /// replicas hold the data, and for benchmarks.
    case none
}

/// What retention deletes: whole closed segments from the start of the log, never the active one.
public struct RetentionPolicy: Sendable, Hashable {
    /// Delete a segment once its newest batch (its max timestamp) is older than this.
    public var maxAge: Duration?
    /// Delete the oldest segments while the log without them would still hold at least this many bytes.
    public var maxBytes: Int64?

    public init(maxAge: Duration? = nil, maxBytes: Int64? = nil) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }
}

extension Duration {
    /// Whole milliseconds, rounded down: the unit of batch timestamps and of the internal API's `wait`.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
