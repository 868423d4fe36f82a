package import Glibc

/// A queue of work for one dedicated I/O thread: producers push from any thread or task, the thread takes
/// everything pending at once (which is what makes group commit: whatever arrived during the last write or sync
/// goes out in the next one).
///
/// A pthread mutex and condition variable rather than `Mutex` because the consumer must sleep until work or a
/// deadline arrives, off Swift's cooperative pool.
final class JobQueue<Job: Sendable>: @unchecked Sendable {
    // @unchecked: `jobs` and `isClosed` are only touched with `mutex` held; the pthread objects live at stable heap
    // addresses for the queue's lifetime and are destroyed in deinit, when no thread can use them.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var jobs: [Job] = []
    private var isClosed = false
    private var poked = false
    /// While the consumer waits for a fuller group, the queue length that should wake it.
    private var wakeAtCount = Int.max

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Adds a job; false (and the job not queued) once the queue is closed.
    func push(_ job: Job) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !isClosed else { return false }
        jobs.append(job)
        if jobs.count == 1 || jobs.count >= wakeAtCount { pthread_cond_signal(condition) }
        return true
    }

    /// Waits until a job is queued, the queue closes, ``poke()`` is called or the monotonic `deadline` (nanoseconds)
    /// passes, without taking anything. Returns false once closed and drained.
    func waitForWork(deadline: UInt64?) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while jobs.isEmpty && !isClosed && !poked, sleepLocked(until: deadline) {}
        poked = false
        return !(isClosed && jobs.isEmpty)
    }

    /// Moves every pending job into `batch` (which must be empty) without waiting.
    func takeAllNow(into batch: inout [Job]) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        swap(&jobs, &batch)
    }

    /// Whether no job is queued.
    var isEmpty: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return jobs.isEmpty
    }

    /// Ends the consumer's current ``waitForWork(deadline:)`` (or its next one) without a job: something it waits
    /// for, such as its deadline, changed.
    func poke() {
        pthread_mutex_lock(mutex)
        poked = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Moves every pending job into `batch` (which must be empty; its capacity is reused), waiting until there is
    /// one, the queue closes, or the monotonic `deadline` (nanoseconds) passes. Returns false once closed and drained.
    func takeAll(into batch: inout [Job], deadline: UInt64?) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while jobs.isEmpty && !isClosed, sleepLocked(until: deadline) {}
        swap(&jobs, &batch)
        return !(isClosed && batch.isEmpty)
    }

    /// Waits until `batch` and the queue together hold at least `count` jobs (or `deadline` passes, or the queue
    /// closes), then appends them all to `batch`. Group commit uses it to let the appenders that a sync just
    /// completed come back before the next sync, instead of syncing for the first few to return.
    func takeMore(into batch: inout [Job], atLeast count: Int, deadline: UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        wakeAtCount = max(1, count - batch.count)
        while jobs.count < wakeAtCount && !isClosed, sleepLocked(until: deadline) {}
        wakeAtCount = .max
        batch.append(contentsOf: jobs)
        jobs.removeAll(keepingCapacity: true)
    }

    /// Sleeps on the condition once, with the mutex held, until a signal or the monotonic `deadline`
    /// (nanoseconds); false, without sleeping, once the deadline has passed.
    private func sleepLocked(until deadline: UInt64?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        if monotonicNanoseconds() >= deadline { return false }
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &time)
        return true
    }

    /// Stops accepting jobs; the consumer still receives what was queued before.
    func close() {
        pthread_mutex_lock(mutex)
        isClosed = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}

package func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Wall-clock milliseconds since the Unix epoch: the unit of batch timestamps.
func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Starts a pthread running `body`: file I/O must never block Swift's cooperative pool (two threads on
/// this machine kind), so each log's writer and the background flusher get threads of their own.
package func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Context: Sendable {
        let body: @Sendable () -> Void
        init(body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Context(body: body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
            context.body()
            return nil
        }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
