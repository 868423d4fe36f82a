import Foundation
import HadronCore
import HadronHTTP
import HadronTestSupport
import KubeAPI
import KubeAPITestDouble
import Logging
import Testing

/// Hadron as it runs in Kubernetes, every process real and on loopback: `hadron operator`, three
/// `hadron storage --kubernetes` (named as the StatefulSet names its pods) and a `hadron gateway --kubernetes`,
/// against the Kubernetes API double. What a cluster would add is played by the test: it creates the storage pods
/// the StatefulSet controller would, marks them Ready as their readiness probe would, and routes each partition
/// Service through a ``ServiceProxy`` as kube-proxy would. Pods reach each other by their DNS names through
/// `--resolve`.
final class KubernetesDataPath: ThreeReplicaDataPath, @unchecked Sendable {
    // @unchecked: `storage` entries are replaced only by `restart(_:)`, which tests call from one task at a time.
    static let namespace = "default"
    static let clusterName = "events"
    static let operatorURL = "http://hadron-operator.default.svc:8081"

    let cluster: LocalCluster
    let double: KubeAPIDouble
    let admin: KubeClient
    private(set) var operatorProcess: ChildProcess!
    private(set) var storage: [ChildProcess] = []
    let storageAddresses: [String]
    private var proxies: [ServiceProxy] = []
    private(set) var gateway: ChildProcess!
    private(set) var gatewayAddress = ""
    private var storageArguments: [String] = []

    func nodeID(_ index: Int) -> String { "\(Self.clusterName)-storage-\(index)" }
    func dataDirectory(_ index: Int) -> String { cluster.directory.path + "/\(nodeID(index))" }

    init() async throws {
        cluster = try LocalCluster()
        double = try await KubeAPIDouble.start()
        admin = KubeClient(configuration: double.tokenConfiguration(), logger: Logger(label: "e2e.kubectl"))
        // Every storage pod on its own loopback address with the pod port, as pods have their own IPs.
        let subnet = Int.random(in: 2...250)
        storageAddresses = (0..<Self.nodes).map { "127.0.\(subnet).\($0 + 1):9101" }

        let operatorConfig = try kubeconfig(token: "token-operator")
        operatorProcess = try cluster.start(
            "operator",
            ["operator", "--kubeconfig", operatorConfig, "--listen", "127.0.0.1:0", "--namespace", Self.namespace,
             "--identity", "hadron-operator-0", "--lease-duration", "4", "--renew-deadline", "3",
             "--retry-period", "1", "--failover-timeout", "2", "--default-image", "ghcr.io/hadron/hadron:test",
             "--operator-url", Self.operatorURL, "--webhook-listen", "127.0.0.1:0"])
        let operatorAddress = try await operatorProcess.listeningAddress(role: "operator")

        let resolvePods = (0..<Self.nodes).flatMap { index in
            ["--resolve", "\(nodeID(index)).\(Self.clusterName)-storage.\(Self.namespace).svc=\(storageAddresses[index])"]
        }
        storageArguments =
            ["storage", "--kubernetes", "--kubeconfig", try kubeconfig(token: "token-storage"), "--cluster",
             Self.clusterName, "--namespace", Self.namespace, "--operator-url", Self.operatorURL, "--resolve",
             "hadron-operator.default.svc=\(operatorAddress)", "--replica-lag-limit", "5"] + resolvePods

        try await createResources()
        for index in 0..<Self.nodes {
            try await createPod(index)
            storage.append(try await startStorage(index))
        }

        for partition in 0..<Self.partitions {
            let service = "\(Self.clusterName)-events-\(partition)"
            proxies.append(try await ServiceProxy.start { [weak self] in await self?.endpoint(ofService: service) })
        }
        let resolveServices = (0..<Self.partitions).flatMap { partition in
            ["--resolve", "\(Self.clusterName)-events-\(partition).\(Self.namespace).svc=127.0.0.1:\(proxies[partition].port)"]
        }
        gateway = try cluster.start(
            "gateway",
            ["gateway", "--kubernetes", "--kubeconfig", try kubeconfig(token: "token-gateway"), "--cluster",
             Self.clusterName, "--namespace", Self.namespace, "--listen", "127.0.0.1:0"] + resolveServices)
        gatewayAddress = try await gateway.listeningAddress(role: "gateway")
        try await waitUntilFullyInSync()
        _ = try await eventually("the gateway to be ready") { () -> Bool? in
            try await self.request(.get, "/readyz").status == .ok ? true : nil
        }
    }

    /// A kubeconfig for one process, authenticating with its own token.
    private func kubeconfig(token: String) throws -> String {
        double.addToken(token)
        let path = cluster.directory.path + "/kubeconfig-\(token)"
        try double.writeKubeconfig(to: path, token: token, namespace: Self.namespace)
        return path
    }

    private func createResources() async throws {
        let cluster: JSONValue = [
            "apiVersion": "hadron.dev/v1alpha1", "kind": "HadronCluster",
            "metadata": ["name": .string(Self.clusterName), "namespace": .string(Self.namespace)],
            "spec": ["storage": ["replicas": 3], "gateway": ["replicas": 1]],
        ]
        _ = try await admin.create(try cluster.decode(HadronCluster.self))
        var spec = HadronStream.Spec(cluster: Self.clusterName, partitions: Self.partitions, replicationFactor: 3)
        spec.minInSyncReplicas = 2
        _ = try await admin.create(
            HadronStream(metadata: ObjectMeta(name: "events", namespace: Self.namespace), spec: spec))
    }

    /// Storage pod `index` as the StatefulSet controller creates it (not ready yet).
    private func createPod(_ index: Int) async throws {
        let labels = [
            "app.kubernetes.io/name": "hadron", "app.kubernetes.io/instance": Self.clusterName,
            "app.kubernetes.io/component": "storage", "statefulset.kubernetes.io/pod-name": nodeID(index),
        ]
        _ = try await admin.create(
            Pod(
                metadata: ObjectMeta(name: nodeID(index), namespace: Self.namespace, labels: labels),
                spec: PodSpec(containers: [Container(name: "storage", image: "ghcr.io/hadron/hadron:test")])))
    }

    /// What the kubelet reports from the readiness probe.
    func setReady(_ index: Int, _ ready: Bool) async throws {
        _ = try await admin.mergePatch(
            Pod.self, name: nodeID(index), namespace: Self.namespace,
            patch: [
                "status": [
                    "phase": "Running", "podIP": .string(String(storageAddresses[index].split(separator: ":")[0])),
                    "conditions": [["type": "Ready", "status": ready ? "True" : "False"]],
                ]
            ],
            subresource: "status")
    }

    private func startStorage(_ index: Int) async throws -> ChildProcess {
        let process = try cluster.start(
            nodeID(index),
            storageArguments + ["--node-id", nodeID(index), "--listen", storageAddresses[index], "--data-dir",
                                dataDirectory(index)],
            environment: ["POD_NAME": nodeID(index)])
        _ = try await process.listeningAddress(role: "storage")
        try await setReady(index, true)
        return process
    }

    /// The pod a partition Service selects now, if it is Ready: kube-proxy's endpoints.
    private func endpoint(ofService name: String) async -> String? {
        guard
            let service = await double.storedObject(KubeService.descriptor, namespace: Self.namespace, name: name),
            let pod = service[path: ["spec", "selector", "statefulset.kubernetes.io/pod-name"]]?.stringValue,
            let index = index(ofNode: pod),
            let stored = await double.storedObject(Pod.descriptor, namespace: Self.namespace, name: pod),
            let ready = try? stored.decode(Pod.self).status?.isReady, ready
        else { return nil }
        return storageAddresses[index]
    }

    /// The pod storage process `index` plays stops being Ready and its process dies (a crashed container).
    func crash(_ index: Int) async throws {
        await storage[index].kill()
        try await setReady(index, false)
    }

    /// The container restarts on its volume and becomes Ready again.
    func restart(_ index: Int) async throws {
        storage[index] = try await startStorage(index)
    }

    func stop() async {
        for process in [gateway, operatorProcess].compactMap({ $0 }) + storage { process.killNow() }
        for proxy in proxies { await proxy.stop() }
        await double.stop()
    }

    // MARK: - Observing

    func stream() async throws -> HadronStream {
        try await admin.get(HadronStream.self, name: "events", namespace: Self.namespace)
    }

    func partition(_ partition: Int) async throws -> HadronStream.PartitionStatus {
        try #require(try await stream().status?.partitions?.first { $0.partition == partition })
    }

    /// The pod partition `partition`'s Service selects.
    func serviceTarget(_ partition: Int) async -> String? {
        await double.storedObject(
            KubeService.descriptor, namespace: Self.namespace, name: "\(Self.clusterName)-events-\(partition)")?[
                path: ["spec", "selector", "statefulset.kubernetes.io/pod-name"]]?.stringValue
    }

    /// Waits until every partition is online in the Stream's status with all three replicas in sync.
    func waitUntilFullyInSync(timeout: Duration = .seconds(90)) async throws {
        _ = try await eventually(timeout: timeout, "every partition online with a full ISR") { () -> Bool? in
            let partitions = try await self.stream().status?.partitions ?? []
            let ready = partitions.count == Self.partitions
                && partitions.allSatisfy { $0.state == "Online" && $0.isr?.count == Self.nodes }
            return ready ? true : nil
        }
    }
}
