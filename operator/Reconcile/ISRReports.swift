import HadronCore
import Synchronization

/// ISR reports from partition leaders (DESIGN.md §6) waiting for their Stream's next pass.
///
/// A report is recorded by the one worker that writes the Stream's status, inside a pass, never beside it: a status
/// write of its own would race the pass's write, and a pass that read the status before the report and wrote after
/// it would put back an ISR the leader has already stopped waiting for — then an election could pick a replica
/// that lacks committed events.
final class ISRReports: Sendable {
    struct Report: Sendable {
        let change: ISRChange
        let answer: CheckedContinuation<PartitionInfo, any Error>
    }

    private let pending = Mutex<[ReconcileKey: [Report]]>([:])

    func add(_ report: Report, for key: ReconcileKey) {
        pending.withLock { $0[key, default: []].append(report) }
    }

    /// The reports waiting for `key`'s pass, which answers every one of them.
    func take(_ key: ReconcileKey) -> [Report] {
        pending.withLock { $0.removeValue(forKey: key) ?? [] }
    }

    /// Answers every waiting report with `error` (the term of leadership ended before their pass).
    func failAll(_ error: any Error) {
        let all = pending.withLock { pending in
            defer { pending.removeAll() }
            return pending.values.flatMap { $0 }
        }
        for report in all { report.answer.resume(throwing: error) }
    }
}
