import Synchronization

/// An offset of a partition replica that only grows, and the long polls waiting for it to pass theirs.
///
/// A replica has two: its high watermark, the first offset not committed yet (consumers read only below it,
/// DESIGN.md §6), and its log end, which followers' fetches wait on. Long polls park here and are resumed by the
/// advance that passes their offset — no polling — so it is a lock-protected class that fetches read without
/// hopping onto the replica's actor.
final class OffsetWatch: Sendable {
    private struct Waiter {
        let offset: Int64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var offset: Int64
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
        /// Set while the node shuts down: waits return at once so in-flight long polls finish quickly.
        var draining = false
    }

    private let state: Mutex<State>

    init(_ offset: Int64 = 0) {
        state = Mutex(State(offset: offset))
    }

    var offset: Int64 { state.withLock { $0.offset } }

    /// Moves the high watermark forward to `offset` (never back) and resumes the waiters it passes.
    /// Returns whether it moved.
    @discardableResult
    func advance(to offset: Int64) -> Bool {
        let resumed: [CheckedContinuation<Void, Never>]? = state.withLock { state in
            guard offset > state.offset else { return nil }
            state.offset = offset
            var passed: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.offset < offset {
                passed.append(waiter.continuation)
                state.waiters[id] = nil
            }
            return passed
        }
        guard let resumed else { return false }
        for continuation in resumed { continuation.resume() }
        return true
    }

    /// Sets the offset to `offset` even when that is lower: a follower truncated its log below it (a new leader's
    /// log ends earlier), and the offset must not claim what the log no longer holds.
    func reset(to offset: Int64) {
        state.withLock { $0.offset = offset }
        wakeAll()
    }

    /// Resumes every waiter and makes later waits return at once: the node is shutting down and in-flight long
    /// polls should answer with what there is rather than hold up the graceful shutdown.
    func drain() {
        let all = state.withLock { state in
            state.draining = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume() }
    }

    /// Resumes every waiter without changing anything: the replica's role changed, and each long poll re-checks
    /// whether it may still be answered.
    func wakeAll() {
        let all = state.withLock { state in
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume() }
    }

    /// Waits until the high watermark passes `offset` (is above it), `timeout` elapses, the task is cancelled, or
    /// the waiters are woken; returns the high watermark then.
    ///
    /// One continuation per wait: ``LongPollTimeouts`` ends it when the time is up, so no task or timer is made
    /// for it (racing a `Task.sleep` in a task group cost two child tasks, a timer and a cancellation per wait).
    func wait(untilAbove offset: Int64, timeout: Duration) async -> Int64 {
        guard timeout > .zero else { return self.offset }
        let id = state.withLock { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let parked = state.withLock { state in
                    // The cancellation flag is set before the handler runs, so checking it under the lock closes
                    // the window between a cancellation and the registration.
                    guard state.offset <= offset, !state.draining, !Task.isCancelled else { return false }
                    state.waiters[id] = Waiter(offset: offset, continuation: continuation)
                    return true
                }
                if parked {
                    LongPollTimeouts.shared.expire(id, of: self, after: timeout)
                } else {
                    continuation.resume()
                }
            }
        } onCancel: {
            expire(id)
        }
        return self.offset
    }

    /// Resumes the wait `id` if it is still parked: its time is up, or its task was cancelled.
    func expire(_ id: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume()
    }

    /// How many long polls are parked; for tests and diagnostics.
    var waiterCount: Int { state.withLock { $0.waiters.count } }
}
