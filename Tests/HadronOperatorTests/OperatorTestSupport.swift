import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Logging
import Synchronization
import Testing

func operatorTestLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel =
        ProcessInfo.processInfo.environment["KUBEAPI_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}

/// A leadership check the test controls, counting how often it was asked.
final class ScriptedLeadership: LeadershipCheck {
    private let state: Mutex<(leading: Bool, asked: Int)>

    init(leading: Bool = true) { state = Mutex((leading, 0)) }

    func confirmLeadership() async -> Bool {
        state.withLock { state in
            state.asked += 1
            return state.leading
        }
    }

    var asked: Int { state.withLock { $0.asked } }
    func set(leading: Bool) { state.withLock { $0.leading = leading } }
}

/// The double, an admin client (the test's kubectl) and helpers to declare the world.
struct OperatorWorld {
    static let operatorToken = "token-hadron-operator"
    let double: KubeAPIDouble
    let admin: KubeClient

    static func with(_ body: (OperatorWorld) async throws -> Void) async throws {
        let double = try await KubeAPIDouble.start()
        double.addToken(operatorToken)
        let world = OperatorWorld(
            double: double,
            admin: KubeClient(configuration: double.tokenConfiguration(), logger: operatorTestLogger("admin")))
        do {
            try await body(world)
        } catch {
            await double.stop()
            throw error
        }
        await double.stop()
    }

    func operatorClient(token: String = OperatorWorld.operatorToken) -> KubeClient {
        double.addToken(token)
        return KubeClient(
            configuration: double.tokenConfiguration(token: token), logger: operatorTestLogger("operator"))
    }

    /// A controller running one term (as if leading), started and synced.
    func startController(
        leadership: ScriptedLeadership = ScriptedLeadership(), token: String = OperatorWorld.operatorToken,
        settings: OperatorController.Settings = OperatorController.Settings(resyncPeriod: .seconds(300))
    ) async throws -> RunningController {
        let controller = OperatorController(
            client: operatorClient(token: token), settings: settings, leadership: leadership,
            logger: operatorTestLogger("controller"))
        let task = Task { try await controller.run() }
        guard await eventually(within: .seconds(20), { controller.isReconciling }) else {
            task.cancel()
            throw TestFailure("the controller did not start reconciling")
        }
        return RunningController(controller: controller, task: task)
    }

    // MARK: Declaring the world

    func createCluster(
        _ name: String = "events", storageReplicas: Int = 3, gatewayReplicas: Int = 2,
        ingress: (host: String, tlsSecret: String?)? = nil
    ) async throws -> HadronCluster {
        var spec: JSONValue = [
            "image": "ghcr.io/hadron/hadron:1.0",
            "storage": ["replicas": .number(Double(storageReplicas)), "volumeSize": "5Gi", "storageClassName": "fast"],
            "gateway": ["replicas": .number(Double(gatewayReplicas))],
        ]
        if let ingress {
            var value: JSONValue = ["host": .string(ingress.host)]
            if let secret = ingress.tlsSecret { value["tlsSecret"] = .string(secret) }
            spec["gateway"]?["ingress"] = value
        }
        let body: JSONValue = [
            "apiVersion": "hadron.dev/v1alpha1", "kind": "HadronCluster",
            "metadata": ["name": .string(name), "namespace": "default"], "spec": spec,
        ]
        return try await admin.create(try body.decode(HadronCluster.self))
    }

    func createStream(
        _ name: String, cluster: String = "events", partitions: Int, replicationFactor: Int = 2,
        uncleanLeaderElection: Bool? = nil
    ) async throws -> HadronStream {
        var spec = HadronStream.Spec(cluster: cluster, partitions: partitions, replicationFactor: replicationFactor)
        spec.minInSyncReplicas = min(2, replicationFactor)
        spec.uncleanLeaderElection = uncleanLeaderElection
        return try await admin.create(HadronStream(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec))
    }

    /// A storage pod as the StatefulSet controller would make it, optionally marked ready by the kubelet.
    func createStoragePod(cluster: String = "events", ordinal: Int, ready: Bool = true) async throws {
        let name = "\(cluster)-storage-\(ordinal)"
        var labels = ClusterNames.labels(cluster: cluster, component: "storage")
        labels[ClusterNames.podNameLabel] = name
        _ = try await admin.create(
            Pod(
                metadata: ObjectMeta(name: name, namespace: "default", labels: labels),
                spec: PodSpec(containers: [Container(name: "storage", image: "ghcr.io/hadron/hadron:1.0")])))
        if ready { try await setReady(name, true) }
    }

    func setReady(_ pod: String, _ ready: Bool) async throws {
        _ = try await admin.mergePatch(
            Pod.self, name: pod, namespace: "default",
            patch: [
                "status": ["phase": "Running", "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]
            ],
            subresource: "status")
    }

    // MARK: Observing

    /// The requests the operator (by its token) sent that may change the store, Lease traffic aside.
    func operatorWrites(token: String = OperatorWorld.operatorToken) -> [RecordedRequest] {
        double.requests.filter {
            $0.isWrite && $0.authentication == .bearerToken(token) && !$0.path.contains("/leases")
        }
    }

    func stored(_ descriptor: ResourceDescriptor, _ name: String) async -> JSONValue? {
        await double.storedObject(descriptor, namespace: "default", name: name)
    }

    func stream(_ name: String) async throws -> HadronStream {
        try await admin.get(HadronStream.self, name: name, namespace: "default")
    }
}

struct RunningController {
    let controller: OperatorController
    let task: Task<Void, any Error>

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// The object without the members the server or the digest set, for comparing bodies.
    func withoutDigest() -> JSONValue {
        var copy = self
        if var annotations = copy[path: ["metadata", "annotations"]]?.objectValue {
            annotations[DesiredObject.bodyDigestAnnotation] = nil
            copy["metadata"]?["annotations"] = annotations.isEmpty ? nil : .object(annotations)
        }
        return copy
    }
}
