public import HadronCore
import Synchronization

/// A topology source fed by code in the same process: `hadron dev`'s embedded controller publishes into it, tests
/// publish fake topologies. Every follower gets the latest topology at once, then each one published after.
public final class TopologyFeed: TopologySource {
    private struct State {
        var latest: Topology?
        var followers: [Int: AsyncStream<Topology>.Continuation] = [:]
        var nextFollower = 0
    }

    private let state = Mutex(State())

    public init(_ initial: Topology? = nil) {
        state.withLock { $0.latest = initial }
    }

    /// Makes `topology` the current one for every follower.
    public func publish(_ topology: Topology) {
        let followers = state.withLock { state in
            state.latest = topology
            return Array(state.followers.values)
        }
        for follower in followers { follower.yield(topology) }
    }

    /// The topology published last.
    public var latest: Topology? { state.withLock { $0.latest } }

    public func follow(_ deliver: @escaping @Sendable (Topology) -> Void) async throws {
        // Only the newest topology matters, so a slow follower skips the ones it has not seen yet.
        let (updates, continuation) = AsyncStream<Topology>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextFollower
            state.nextFollower += 1
            state.followers[id] = continuation
            if let latest = state.latest { continuation.yield(latest) }
            return id
        }
        defer { _ = state.withLock { $0.followers.removeValue(forKey: id) } }
        await withTaskCancellationHandler {
            for await topology in updates { deliver(topology) }
        } onCancel: {
            continuation.finish()
        }
    }
}
