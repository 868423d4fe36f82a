/// The offsets an append was given: the range a producer is acknowledged with and a follower reports.
public struct AppendResult: Sendable, Hashable {
    public let firstOffset: Int64
    public let lastOffset: Int64
    /// The log end offset right after this append: `lastOffset + 1`.
    public var nextOffset: Int64 { lastOffset + 1 }

    public init(firstOffset: Int64, lastOffset: Int64) {
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// Whole record batches exactly as stored, for serving consumers and replicating to followers unchanged.
public struct ReadResult: Sendable, Hashable {
    /// Concatenated batches; empty when nothing at or after the offset lies below the bound.
    public let bytes: [UInt8]
    /// Where the next read continues: one past the last returned batch, or the requested offset if none.
    public let nextOffset: Int64
    /// The log start and end offsets when the read was served, which a fetch response reports alongside.
    public let logStartOffset: Int64
    public let logEndOffset: Int64

    public init(bytes: [UInt8], nextOffset: Int64, logStartOffset: Int64, logEndOffset: Int64) {
        self.bytes = bytes
        self.nextOffset = nextOffset
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
    }
}

/// Where a read into a caller's buffer ended (``PartitionLog/read(from:maxBytes:upTo:appendingTo:)``): the offsets
/// of a ``ReadResult`` without its bytes.
public struct ReadPosition: Sendable, Hashable {
    /// One past the last batch appended, or the requested offset if none was.
    public let nextOffset: Int64
    public let logStartOffset: Int64
    public let logEndOffset: Int64

    public init(nextOffset: Int64, logStartOffset: Int64, logEndOffset: Int64) {
        self.nextOffset = nextOffset
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
    }
}

/// Kafka's OffsetsForLeaderEpoch answer (KIP-101/279): the largest epoch at or below the one asked for, and the
/// offset where the log moved past it (the next epoch's start offset, or the log end offset for the latest).
/// A follower truncates to `endOffset` (or its own end for that epoch, whichever is smaller).
public struct EpochEndOffset: Sendable, Hashable {
    public let epoch: Int32
    public let endOffset: Int64

    public init(epoch: Int32, endOffset: Int64) {
        self.epoch = epoch
        self.endOffset = endOffset
    }
}

/// The first batch whose max timestamp reaches a requested time.
public struct TimestampOffset: Sendable, Hashable {
    /// The base offset of that batch. Records earlier in the batch may carry earlier timestamps: the log never
    /// decodes records.
    public let offset: Int64
    /// The batch's max timestamp (ms since the Unix epoch).
    public let timestamp: Int64

    public init(offset: Int64, timestamp: Int64) {
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// What one retention pass removed.
public struct RetentionResult: Sendable, Hashable {
    /// Base offsets of the deleted segments, oldest first.
    public let deletedSegments: [Int64]
    public let deletedBytes: Int64
    /// The log start offset after the pass.
    public let logStartOffset: Int64

    public init(deletedSegments: [Int64], deletedBytes: Int64, logStartOffset: Int64) {
        self.deletedSegments = deletedSegments
        self.deletedBytes = deletedBytes
        self.logStartOffset = logStartOffset
    }
}
