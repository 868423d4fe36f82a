import Foundation
import HadronCore
import Synchronization

/// The gateway's current picture of the cluster, indexed for the request path.
///
/// Every publish and read looks a stream and its partition leader up, so the topology is turned into dictionaries
/// and resolved addresses once per change, and readers take the current ``Snapshot`` under a lock held only for a
/// pointer copy. Writers whose leader failed wait here for the next change instead of polling.
final class TopologyView: Sendable {
    /// One partition's route: who leads it, at which epoch, and where that node listens.
    struct PartitionRoute: Sendable {
        var partition: Int
        var leader: String?
        var address: String?
        var epoch: Int32
        var state: PartitionState
        var highWatermark: Int64
    }

    /// One stream's partitions, at their index.
    struct StreamRoute: Sendable {
        var name: String
        var partitions: [PartitionRoute?]
        var partitionCount: Int { partitions.count }

        func partition(_ index: Int) -> PartitionRoute? {
            partitions.indices.contains(index) ? partitions[index] : nil
        }
    }

    /// An immutable copy of one topology, with the JSON that `/v1/topology` serves.
    final class Snapshot: Sendable {
        let topology: Topology
        /// Counts the changes this gateway has seen: the order of snapshots, whatever the controller's `version`.
        let generation: UInt64
        let streams: [String: StreamRoute]
        let json: [UInt8]

        init(topology: Topology, generation: UInt64, routing: PartitionRouting) {
            self.topology = topology
            self.generation = generation
            let addresses = Dictionary(
                topology.nodes.map { ($0.id, $0.address) }, uniquingKeysWith: { _, last in last })
            var streams: [String: StreamRoute] = [:]
            for stream in topology.streams {
                let count = (stream.partitions.map(\.partition).max() ?? -1) + 1
                var partitions = [PartitionRoute?](repeating: nil, count: max(count, 0))
                for info in stream.partitions where info.partition >= 0 {
                    partitions[info.partition] = PartitionRoute(
                        partition: info.partition, leader: info.leader,
                        address: routing.address(stream: stream.name, partition: info, nodeAddresses: addresses),
                        epoch: info.epoch, state: info.state, highWatermark: info.highWatermark)
                }
                streams[stream.name] = StreamRoute(name: stream.name, partitions: partitions)
            }
            self.streams = streams
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            self.json = (try? [UInt8](encoder.encode(topology))) ?? Array("{}".utf8)
        }

        /// Why the gateway cannot serve every partition yet, or nil when it can (`/readyz`).
        var unreadyReason: String? {
            for stream in topology.streams {
                for (index, route) in streams[stream.name]!.partitions.enumerated() {
                    guard let route else { return "stream \(stream.name) has no partition \(index) in the topology" }
                    guard route.leader != nil else {
                        return "partition \(index) of stream \(stream.name) has no leader"
                    }
                    guard route.address != nil else {
                        return "the leader of partition \(index) of stream \(stream.name) has no known address"
                    }
                }
            }
            return nil
        }
    }

    private struct State {
        var snapshot: Snapshot?
        /// Called once on the next change, then dropped.
        var waiters: [Int: @Sendable () -> Void] = [:]
        var watchers: [Int: AsyncStream<Snapshot>.Continuation] = [:]
        var nextID = 0
        var generations: UInt64 = 0
    }

    private let state = Mutex(State())
    let routing: PartitionRouting

    init(routing: PartitionRouting = .leaderNode) {
        self.routing = routing
    }

    var snapshot: Snapshot? { state.withLock { $0.snapshot } }

    /// Makes `topology` current and wakes whoever waits for a change. Returns the addresses that now stand for
    /// another leader or epoch than before (only when the routing reuses one address across leaders): connections
    /// to them lead to the old leader.
    @discardableResult
    func update(_ topology: Topology) -> [String] {
        let generation = state.withLock { state in
            state.generations += 1
            return state.generations
        }
        let snapshot = Snapshot(topology: topology, generation: generation, routing: routing)
        let (waiters, watchers, previous) = state.withLock {
            state -> ([@Sendable () -> Void], [AsyncStream<Snapshot>.Continuation], Snapshot?) in
            // Concurrent updates: the later generation wins, whichever finished building first.
            guard (state.snapshot?.generation ?? 0) < generation else { return ([], [], nil) }
            let previous = state.snapshot
            state.snapshot = snapshot
            defer { state.waiters.removeAll() }
            return (Array(state.waiters.values), Array(state.watchers.values), previous)
        }
        for waiter in waiters { waiter() }
        for watcher in watchers { watcher.yield(snapshot) }
        guard routing.addressOutlivesLeadership, let previous else { return [] }
        return Self.movedAddresses(from: previous, to: snapshot)
    }

    /// The addresses of `before` whose partition has another leader or epoch in `after`.
    static func movedAddresses(from before: Snapshot, to after: Snapshot) -> [String] {
        var moved: [String] = []
        for (name, stream) in before.streams {
            for case let route? in stream.partitions {
                guard let address = route.address else { continue }
                let next = after.streams[name]?.partition(route.partition)
                if next?.leader != route.leader || next?.epoch != route.epoch { moved.append(address) }
            }
        }
        return moved
    }

    /// Returns once a snapshot newer than `generation` exists, or after `timeout`, or on cancellation.
    func waitForChange(after generation: UInt64, timeout: Duration) async {
        guard timeout > .zero else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nextChange(after: generation) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once a snapshot newer than `generation` exists, or on cancellation: no timer, so a caller racing it
    /// against a request pays for one parked continuation only.
    func nextChange(after generation: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if Task.isCancelled { return true }
                    if let current = state.snapshot, current.generation > generation { return true }
                    state.waiters[id] = { continuation.resume() }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?()
        }
    }

    /// Calls `action` once a snapshot newer than `generation` exists (at once, returning nil, if one does), from
    /// whichever thread makes it current. The id stops the call (``stopObserving(_:)``) when it is no longer wanted.
    func onChange(after generation: UInt64, _ action: @escaping @Sendable () -> Void) -> Int? {
        let id: Int? = state.withLock { state in
            if let current = state.snapshot, current.generation > generation { return nil }
            defer { state.nextID += 1 }
            state.waiters[state.nextID] = action
            return state.nextID
        }
        if id == nil { action() }
        return id
    }

    func stopObserving(_ id: Int) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// The current snapshot (when there is one) and then every later one, until the consumer stops iterating.
    func watch() -> AsyncStream<Snapshot> {
        let (stream, continuation) = AsyncStream<Snapshot>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.watchers[id] = continuation
            if let current = state.snapshot { continuation.yield(current) }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
