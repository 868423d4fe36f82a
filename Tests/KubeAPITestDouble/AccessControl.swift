import Synchronization

/// Who may call the double, and which callers are cut off: requests carrying a blackholed token
/// hang — like packets to an unreachable server — until the test heals them or the double stops.
final class AccessControl: Sendable {
    private struct State {
        var tokens: Set<String>
        var blackholed: Set<String> = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(tokens: Set<String>) {
        state = Mutex(State(tokens: tokens))
    }

    func accepts(token: String) -> Bool { state.withLock { $0.tokens.contains(token) } }

    func addToken(_ token: String) { state.withLock { _ = $0.tokens.insert(token) } }

    func blackhole(_ token: String) { state.withLock { _ = $0.blackholed.insert(token) } }

    func heal(_ token: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.blackholed.remove(token)
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func healAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.blackholed.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends while `token` is blackholed; returns whether it was (the request should then fail).
    func holdIfBlackholed(_ token: String?) async -> Bool {
        guard let token else { return false }
        var held = false
        while state.withLock({ $0.blackholed.contains(token) }) {
            held = true
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.blackholed.contains(token) else { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        return held
    }
}
