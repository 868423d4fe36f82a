import Glibc
import Logging

/// Syncs rolled segments off the append path.
///
/// With `interval` and `none` a segment's data may still be in the page cache when it rolls; Kafka flushes it
/// asynchronously and so does this. Doing it on the writer thread would stall appends for as long as the kernel
/// needs to write up to a whole segment. One thread serves every log of the process: rolls are rare.
final class BackgroundFlusher: Sendable {
    static let shared = BackgroundFlusher()

    private struct Job: Sendable {
        let segment: Segment
        let logger: Logger
    }

    private let queue = JobQueue<Job>()

    private init() {
        let queue = self.queue
        _ = startThread {
            var jobs: [Job] = []
            while queue.takeAll(into: &jobs, deadline: nil) {
                for job in jobs { Self.flush(job) }
                jobs.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Queues `segment`'s three files for `fsync`; the segment's `isDurable` flag is set once done.
    func flush(_ segment: Segment, logger: Logger) {
        _ = queue.push(Job(segment: segment, logger: logger))
    }

    private static func flush(_ job: Job) {
        do {
            try job.segment.log.syncData()
            try job.segment.offsetIndex.syncData()
            try job.segment.timeIndex.syncData()
            job.segment.markDurable()
        } catch {
            // The writer syncs the segment itself on the next flush(upTo:) or interval sync, which reports failures
            // to a caller; here there is only the log to tell.
            job.logger.error(
                "Background sync of a rolled segment failed",
                metadata: ["segment.path": "\(job.segment.log.path)", "error": "\(error)"])
        }
    }
}
