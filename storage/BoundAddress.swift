import HadronHTTP
import Synchronization

/// The address the node's server actually bound, published once: with port 0 nobody knows it in advance, and the
/// heartbeat, the ready line and `hadron dev` all wait for it.
final class BoundAddress: Sendable {
    private struct State {
        var result: Result<ServerAddress, any Error>?
        var waiters: [UInt64: CheckedContinuation<ServerAddress, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Publishes the outcome (the first one wins) and resumes everyone waiting.
    func resolve(_ result: Result<ServerAddress, any Error>) {
        let waiters: [CheckedContinuation<ServerAddress, any Error>] = state.withLock { state in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    var current: ServerAddress? { state.withLock { try? $0.result?.get() } }

    /// The bound address once the server listens; throws if the server failed before it could, or when the
    /// waiting task is cancelled.
    func value() async throws -> ServerAddress {
        let id = state.withLock { state in
            defer { state.nextWaiterID &+= 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let result: Result<ServerAddress, any Error>? = state.withLock { state in
                    if let result = state.result { return result }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
