import KubeAPI

/// The informers of one term of leadership: the Hadron CRs, the storage pods, and every kind the
/// operator applies (selected by `app.kubernetes.io/managed-by`), kept as raw JSON so comparisons
/// see every field. Reads come from here; writes and the decisions they rest on read the server.
final class ObjectCaches: Sendable {
    /// One informer behind a kind-independent face.
    struct KindCache: Sendable {
        let descriptor: ResourceDescriptor
        let run: @Sendable () async throws -> Void
        let waitUntilSynced: @Sendable () async -> Void
        let get: @Sendable (_ namespace: String, _ name: String) async -> JSONValue?
        let list: @Sendable () async -> [JSONValue]
        /// Each change as the objects it touched (old and new).
        let changes: @Sendable () async -> AsyncStream<[JSONValue]>

        init<K: KubeResource>(_ kind: K.Type, client: KubeClient, namespace: String?, selector: LabelSelector?) {
            let informer = Informer<Unstructured<K>>(
                client: client, namespace: namespace, allNamespaces: namespace == nil, labelSelector: selector)
            descriptor = K.descriptor
            run = { try await informer.run() }
            waitUntilSynced = { await informer.waitUntilSynced() }
            get = { namespace, name in await informer.get(name: name, namespace: namespace)?.object }
            list = { await informer.list().map(\.object) }
            changes = {
                let source = await informer.changes()
                return AsyncStream { continuation in
                    let task = Task {
                        for await change in source {
                            switch change {
                            case .added(let object), .deleted(let object): continuation.yield([object.object])
                            case .updated(let old, let new): continuation.yield([old.object, new.object])
                            }
                        }
                        continuation.finish()
                    }
                    continuation.onTermination = { _ in task.cancel() }
                }
            }
        }
    }

    let kinds: [ResourceDescriptor: KindCache]
    private let pods: Informer<Pod>

    /// - Parameter namespace: the namespace to watch; nil for all.
    init(client: KubeClient, namespace: String?) {
        var kinds: [KindCache] = [
            KindCache(HadronCluster.self, client: client, namespace: namespace, selector: nil),
            KindCache(HadronStream.self, client: client, namespace: namespace, selector: nil),
        ]
        let managed = ClusterNames.managedSelector
        kinds += [
            KindCache(ServiceAccount.self, client: client, namespace: namespace, selector: managed),
            KindCache(Role.self, client: client, namespace: namespace, selector: managed),
            KindCache(RoleBinding.self, client: client, namespace: namespace, selector: managed),
            KindCache(KubeService.self, client: client, namespace: namespace, selector: managed),
            KindCache(PodDisruptionBudget.self, client: client, namespace: namespace, selector: managed),
            KindCache(StatefulSet.self, client: client, namespace: namespace, selector: managed),
            KindCache(Deployment.self, client: client, namespace: namespace, selector: managed),
            KindCache(Ingress.self, client: client, namespace: namespace, selector: managed),
        ]
        self.kinds = Dictionary(uniqueKeysWithValues: kinds.map { ($0.descriptor, $0) })
        pods = Informer<Pod>(
            client: client, namespace: namespace, allNamespaces: namespace == nil,
            labelSelector: [ClusterNames.nameLabel: "hadron", ClusterNames.componentLabel: "storage"])
    }

    /// Runs every informer until cancelled.
    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for kind in kinds.values { group.addTask { try await kind.run() } }
            group.addTask { try await self.pods.run() }
        }
    }

    func waitUntilSynced() async {
        for kind in kinds.values { await kind.waitUntilSynced() }
        await pods.waitUntilSynced()
    }

    func object(_ descriptor: ResourceDescriptor, namespace: String, name: String) async -> JSONValue? {
        await kinds[descriptor]?.get(namespace, name)
    }

    func objects(_ descriptor: ResourceDescriptor, namespace: String? = nil) async -> [JSONValue] {
        let all = await kinds[descriptor]?.list() ?? []
        guard let namespace else { return all }
        return all.filter { $0[path: ["metadata", "namespace"]]?.stringValue == namespace }
    }

    func storagePods(namespace: String) async -> [Pod] {
        await pods.list().filter { $0.metadata.namespace == namespace }
    }

    func podChanges() async -> AsyncStream<Informer<Pod>.Change> { await pods.changes() }
}
