import Glibc
import SegmentLog

/// Ends the ``OffsetWatch`` long polls that nothing answered in time, for the whole process, from one thread.
///
/// Every replicated append waits for its commit and every caught-up follower fetch waits for the next append, so a
/// storage node parks thousands of long polls a second. Racing each against a `Task.sleep` in a task group cost two
/// child tasks, a timer and a cancellation per wait. Here a wait costs a heap entry: entries are not removed when a
/// wait is answered early (the expiry of an answered wait finds nothing to resume), and the thread is signalled
/// only when a new deadline is the earliest, which with waits of equal length is almost never.
final class LongPollTimeouts: @unchecked Sendable {
    static let shared = LongPollTimeouts()

    private struct Entry {
        let deadline: UInt64
        let watch: OffsetWatch
        let waiter: UInt64
    }

    // Guarded by `mutex`; `condition` uses the monotonic clock, like the deadlines.
    private var heap: [Entry] = []
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    private init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        // The shared instance lives as long as the process, and so does its thread.
        pthread_detach(startThread { [self] in run() })
    }

    /// Calls `watch.expire(waiter)` once `timeout` has passed.
    func expire(_ waiter: UInt64, of watch: OffsetWatch, after timeout: Duration) {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let entry = Entry(deadline: monotonicNanoseconds() &+ UInt64(max(0, nanoseconds)), watch: watch, waiter: waiter)
        pthread_mutex_lock(mutex)
        push(entry)
        let isEarliest = heap[0].waiter == waiter && heap[0].watch === watch
        pthread_mutex_unlock(mutex)
        if isEarliest { pthread_cond_signal(condition) }
    }

    private func run() {
        var expired: [Entry] = []
        pthread_mutex_lock(mutex)
        while true {
            let now = monotonicNanoseconds()
            while let first = heap.first, first.deadline <= now { expired.append(popFirst()) }
            if !expired.isEmpty {
                pthread_mutex_unlock(mutex)
                for entry in expired { entry.watch.expire(entry.waiter) }
                expired.removeAll(keepingCapacity: true)
                pthread_mutex_lock(mutex)
                continue
            }
            if let first = heap.first {
                var until = timespec(tv_sec: Int(first.deadline / 1_000_000_000), tv_nsec: Int(first.deadline % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &until)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
    }

    // MARK: - Binary min-heap by deadline

    private func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func popFirst() -> Entry {
        let first = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return first }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
