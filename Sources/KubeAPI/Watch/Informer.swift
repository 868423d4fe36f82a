public import ServiceLifecycle

/// A cache of one kind of object kept current by a `WatchStream`, with change notifications.
///
/// After a re-list the cache is replaced by the new list and the differences are notified as
/// adds, updates and deletes, so subscribers see every change once even across expired watches.
public actor Informer<R: KubeResource>: Service {
    public enum Change: Sendable {
        case added(R)
        case updated(old: R, new: R)
        case deleted(R)
    }

    private let stream: WatchStream<R>
    private var objects: [String: R] = [:]
    private var synced = false
    private var stopped = false
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var subscribers: [Int: AsyncStream<Change>.Continuation] = [:]
    private var nextSubscriber = 0

    public init(
        client: KubeClient,
        namespace: String? = nil,
        allNamespaces: Bool = false,
        labelSelector: LabelSelector? = nil,
        policy: ReconnectPolicy = ReconnectPolicy()
    ) {
        self.stream = client.watchStream(
            R.self, namespace: namespace, allNamespaces: allNamespaces, labelSelector: labelSelector, policy: policy)
    }

    /// Follows the watch until cancelled or graceful shutdown.
    public func run() async throws {
        // However it ends, nobody may keep waiting for a sync that will not come.
        defer { stop() }
        do {
            try await cancelWhenGracefulShutdown {
                for try await event in self.stream {
                    await self.apply(event)
                }
            }
        } catch is CancellationError {
            return
        }
        for subscriber in subscribers.values { subscriber.finish() }
        subscribers.removeAll()
    }

    private func stop() {
        stopped = true
        for waiter in syncWaiters { waiter.resume() }
        syncWaiters.removeAll()
    }

    /// The cached object, if the informer knows it.
    public func get(name: String, namespace: String? = nil) -> R? {
        objects[Self.key(namespace: namespace, name: name)]
    }

    /// Every cached object.
    public func list() -> [R] { Array(objects.values) }

    /// True once the first list has been applied.
    public var hasSynced: Bool { synced }

    /// Returns once the first list has been applied — or once `run` has ended without it (check
    /// `hasSynced`), so a caller whose informers were cancelled is not left waiting.
    public func waitUntilSynced() async {
        if synced || stopped { return }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    /// Changes from now on (not the current contents: read `list()` after subscribing).
    public func changes() -> AsyncStream<Change> {
        let (stream, continuation) = AsyncStream<Change>.makeStream()
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        subscribers[id] = nil
    }

    private func apply(_ event: ResourceEvent<R>) {
        switch event {
        case .listed(let items, _):
            var fresh: [String: R] = [:]
            for item in items { fresh[Self.key(item)] = item }
            for (key, item) in fresh {
                if let old = objects[key] {
                    if old.metadata.resourceVersion != item.metadata.resourceVersion {
                        notify(.updated(old: old, new: item))
                    }
                } else {
                    notify(.added(item))
                }
            }
            for (key, old) in objects where fresh[key] == nil {
                notify(.deleted(old))
            }
            objects = fresh
            if !synced {
                synced = true
                for waiter in syncWaiters { waiter.resume() }
                syncWaiters.removeAll()
            }
        case .added(let item), .modified(let item):
            let key = Self.key(item)
            if let old = objects[key] {
                if old.metadata.resourceVersion != item.metadata.resourceVersion {
                    notify(.updated(old: old, new: item))
                }
            } else {
                notify(.added(item))
            }
            objects[key] = item
        case .deleted(let item):
            if objects.removeValue(forKey: Self.key(item)) != nil {
                notify(.deleted(item))
            }
        }
    }

    private func notify(_ change: Change) {
        for subscriber in subscribers.values { subscriber.yield(change) }
    }

    private static func key(_ item: R) -> String {
        key(namespace: item.metadata.namespace, name: item.metadata.name ?? "")
    }

    private static func key(namespace: String?, name: String) -> String {
        "\(namespace ?? "")/\(name)"
    }
}
