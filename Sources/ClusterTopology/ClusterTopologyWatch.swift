public import HadronCore
public import KubeAPI
public import Logging

/// The topology of one Hadron cluster in Kubernetes, followed from its Stream custom resources: what
/// `hadron storage --kubernetes` and `hadron gateway --kubernetes` act on instead of the local controller's watch
/// (DESIGN.md §8).
///
/// The operator records every partition's leader, epoch, replicas and ISR in `Stream.status.partitions`; this watch
/// turns the cluster's Streams (those whose `spec.cluster` names it, in its namespace) into the same ``Topology`` the
/// local controller publishes, so the storage node and gateway code paths are the same in both worlds. Storage nodes
/// are the pods named as replicas, at their stable DNS names through the headless Service. The watch needs only
/// `get`/`list`/`watch` on `streams` — the Role the operator grants the cluster's pods.
public actor ClusterTopologyWatch {
    public nonisolated let cluster: String
    public nonisolated let namespace: String
    private let informer: Informer<HadronStream>
    private let logger: Logger
    private var topology: Topology?
    private var subscribers: [Int: AsyncStream<Topology>.Continuation] = [:]
    private var nextSubscriber = 0
    /// Streams whose spec could not be read, by name, with the message logged (logged once per distinct message).
    private var unreadable: [String: String] = [:]

    public init(client: KubeClient, cluster: String, namespace: String, logger: Logger) {
        self.cluster = cluster
        self.namespace = namespace
        self.informer = Informer<HadronStream>(client: client, namespace: namespace)
        self.logger = logger
    }

    /// Follows the Streams until cancelled.
    public func run() async throws {
        let changes = await informer.changes()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.informer.run() }
            group.addTask {
                await self.informer.waitUntilSynced()
                await self.rebuild()
                for await _ in changes { await self.rebuild() }
            }
        }
    }

    /// Runs the watch and hands every topology to `deliver` as it arrives, until cancelled or the watch fails.
    public nonisolated func follow(_ deliver: @escaping @Sendable (Topology) async -> Void) async throws {
        let updates = await updates()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.run() }
            // A child too, so that a failing watch cancels it and ends the group.
            group.addTask {
                for await topology in updates { await deliver(topology) }
            }
        }
    }

    /// The current topology; nil until the first list of Streams arrived.
    public var current: Topology? { topology }

    /// The current topology (once there is one), then every change, until the consumer stops iterating.
    /// A slow consumer skips to the newest: a topology is state, not a log.
    public func updates() -> AsyncStream<Topology> {
        let (stream, continuation) = AsyncStream<Topology>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        if let topology { continuation.yield(topology) }
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    /// Waits until the topology satisfies `condition`, at most `timeout`; returns the topology last seen (nil if
    /// none arrived yet).
    public func waitUntil(
        timeout: Duration, _ condition: @escaping @Sendable (Topology) -> Bool
    ) async -> Topology? {
        let deadline = ContinuousClock.now + timeout
        if let topology, condition(topology) { return topology }
        let updates = updates()
        return await withTaskGroup(of: Topology?.self) { group in
            group.addTask {
                for await topology in updates where condition(topology) { return topology }
                return nil
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? self.topology
        }
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    /// Builds the topology from the cached Streams and publishes it when it changed.
    private func rebuild() async {
        let resources = await informer.list()
            .filter { $0.metadata.namespace == namespace && $0.spec?.cluster == cluster && $0.metadata.deletionTimestamp == nil }
            .sorted { $0.name < $1.name }
        var streams: [StreamTopology] = []
        var problems: [String: String] = [:]
        for resource in resources {
            do {
                streams.append(try StreamTopology(resource: resource))
            } catch {
                // Retention or fsync that does not parse: follow the stream anyway, keeping everything and
                // flushing as its replication factor implies, rather than refusing its writes.
                problems[resource.name] = error.message
                var fallback = resource
                fallback.spec?.retention = nil
                fallback.spec?.fsync = nil
                if let stream = try? StreamTopology(resource: fallback) { streams.append(stream) }
            }
        }
        for (name, message) in problems where unreadable[name] != message {
            logger.error(
                "Stream spec unreadable; following it with default retention and durability",
                metadata: ["stream": "\(namespace)/\(name)", "error": "\(message)"])
        }
        unreadable = problems

        let replicas = Set(streams.flatMap { $0.partitions.flatMap(\.replicas) })
        let nodes = replicas.sorted().map {
            NodeInfo(
                id: $0, address: ClusterDNS.storagePodAddress(pod: $0, cluster: cluster, namespace: namespace),
                ready: true)
        }
        guard topology?.streams != streams || topology?.nodes != nodes else { return }
        let next = Topology(version: (topology?.version ?? 0) + 1, streams: streams, nodes: nodes)
        topology = next
        for subscriber in subscribers.values { subscriber.yield(next) }
    }
}
