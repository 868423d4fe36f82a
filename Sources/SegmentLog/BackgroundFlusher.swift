import Glibc
import Logging

/// Syncs segments off the append path, one thread per instance.
///
/// With `interval` and `none` a segment's data may still be in the page cache when it rolls; Kafka flushes it
/// asynchronously and so does ``shared``. Doing it on the writer thread would stall appends for as long as the kernel
/// needs to write up to a whole segment. ``tails`` runs the `interval` policy's periodic syncs of active segments, on
/// a thread of its own so that a large rolled segment does not hold them past their interval. A job keeps its
/// segment's files open (they close with their last reference), so a log closing meanwhile cannot have its
/// descriptors reused under a sync.
final class BackgroundFlusher: Sendable {
    /// Rolled segments: log and both indexes, then the segment is marked durable.
    static let shared = BackgroundFlusher()
    /// Interval syncs of the segment being appended to: its log data (indexes are rebuilt on recovery).
    static let tails = BackgroundFlusher()

    private enum Job: Sendable {
        case rolled(Segment, Logger)
        case tail(Segment, Logger)
    }

    private let queue = JobQueue<Job>()

    private init() {
        let queue = self.queue
        _ = startThread {
            var jobs: [Job] = []
            while queue.takeAll(into: &jobs, deadline: nil) {
                for job in jobs { Self.run(job) }
                jobs.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Queues `segment`'s three files for `fsync`; the segment's `isDurable` flag is set once done.
    func flush(_ segment: Segment, logger: Logger) {
        _ = queue.push(.rolled(segment, logger))
    }

    /// Queues an `fdatasync` of `segment`'s log data, written up to now.
    func syncTail(_ segment: Segment, logger: Logger) {
        _ = queue.push(.tail(segment, logger))
    }

    private static func run(_ job: Job) {
        switch job {
        case .rolled(let segment, let logger):
            do {
                try segment.log.syncData()
                try segment.offsetIndex.syncData()
                try segment.timeIndex.syncData()
                segment.markDurable()
            } catch {
                // The writer syncs the segment itself on the next flush(upTo:), which reports failures to a
                // caller; here there is only the log to tell.
                logger.error(
                    "Background sync of a rolled segment failed",
                    metadata: ["segment.path": "\(segment.log.path)", "error": "\(error)"])
            }
        case .tail(let segment, let logger):
            do {
                try segment.log.syncData()
                segment.countTailSync()
            } catch {
                logger.error(
                    "Periodic sync of the partition log failed",
                    metadata: ["segment.path": "\(segment.log.path)", "error": "\(error)"])
            }
        }
    }
}
