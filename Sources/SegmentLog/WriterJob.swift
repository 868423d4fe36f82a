import HadronCore

/// Work for a log's writer thread, in arrival order. Appends that are queued together form one group commit;
/// every other job runs between groups, so the writer is the only code that changes files or the epoch cache.
enum WriterJob: Sendable {
    case append(PendingAppend)
    case flush(upTo: Int64, CheckedContinuation<Void, any Error>)
    case roll(CheckedContinuation<Void, any Error>)
    case truncate(to: Int64, CheckedContinuation<Int64, any Error>)
    case truncateFully(startingAt: Int64, CheckedContinuation<Void, any Error>)
    case retention(now: Int64, CheckedContinuation<RetentionResult, any Error>)
    case close(CheckedContinuation<Void, any Error>)

    var continuationForFailure: (any Error) -> Void {
        switch self {
        case .append(let append): return { append.continuation.resume(throwing: $0) }
        case .flush(_, let continuation), .roll(let continuation), .truncateFully(_, let continuation),
            .close(let continuation):
            return { continuation.resume(throwing: $0) }
        case .truncate(_, let continuation): return { continuation.resume(throwing: $0) }
        case .retention(_, let continuation): return { continuation.resume(throwing: $0) }
        }
    }
}

/// An append that passed validation, waiting for the writer.
struct PendingAppend: Sendable {
    enum Kind: Sendable {
        /// A producer's single batch: the writer assigns offsets from the log end and stamps `epoch`.
        case leader(epoch: Int32, lastOffsetDelta: Int32, maxTimestamp: Int64)
        /// Batches fetched from the leader, already stamped with their offsets and epochs, back to back.
        case follower([StampedBatch])
    }

    let kind: Kind
    /// Exactly the bytes that will be stored (for a leader append, before stamping).
    let bytes: any LogBytes
    let continuation: CheckedContinuation<AppendResult, any Error>
}

/// What the writer needs of one already-stamped batch: where it lies in the append and what the indexes and the
/// epoch cache record for it.
struct StampedBatch: Sendable {
    let byteOffset: Int
    let size: Int
    let baseOffset: Int64
    let lastOffset: Int64
    let epoch: Int32
    let maxTimestamp: Int64
}
