import Synchronization

/// The lines one open watch still has to send. The store pushes events into it while it commits a
/// change (so a bookmark pushed later can never overtake an event), the response writer drains it.
final class WatchFeed: Sendable {
    private struct State {
        var pending: [[UInt8]] = []
        var finished = false
        var waiter: CheckedContinuation<[[UInt8]]?, Never>?
    }

    let id: Int
    private let state = Mutex(State())

    init(id: Int) {
        self.id = id
    }

    func push(_ lines: [[UInt8]]) {
        guard !lines.isEmpty else { return }
        state.withLock { state in
            guard !state.finished else { return }
            if let waiter = state.waiter {
                state.waiter = nil
                waiter.resume(returning: state.pending + lines)
                state.pending = []
            } else {
                state.pending += lines
            }
        }
    }

    /// Ends the watch after what is pending has been sent.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[[UInt8]]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Everything pending (several events at once when they queued up), or `nil` at the end.
    func next() async -> [[UInt8]]? {
        await withCheckedContinuation { continuation in
            let immediate: [[UInt8]]?? = state.withLock { state in
                if !state.pending.isEmpty {
                    defer { state.pending = [] }
                    return .some(state.pending)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}
