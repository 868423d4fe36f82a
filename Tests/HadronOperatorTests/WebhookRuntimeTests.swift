import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// Two operator replicas with the webhook on, as `hadron operator` runs them: one certificate for both, the
/// leader alone writing its CA into the chart's configuration, and both answering reviews to a client that
/// trusts exactly that `caBundle` — what the API server does.
@Suite(.serialized) struct WebhookRuntimeTests {
    struct Replica {
        let identity: String
        let token: String
        let elector: LeaseElector
        let webhookPort: BoundPort
        let task: Task<Void, any Error>

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    static func start(_ identity: String, world: OperatorWorld) throws -> Replica {
        let token = "token-\(identity)"
        let runtime = OperatorRuntime(
            settings: OperatorSettings(
                host: "127.0.0.1", port: 0,
                election: LeaderElectionConfiguration(
                    leaseName: "hadron-operator", namespace: "default", identity: identity,
                    leaseDuration: OperatorReplica.leaseDuration, renewDeadline: OperatorReplica.renewDeadline,
                    retryPeriod: OperatorReplica.retryPeriod),
                controller: OperatorController.Settings(namespace: "default", resyncPeriod: .seconds(300)),
                webhook: WebhookSettings(
                    host: "127.0.0.1", port: 0, namespace: "default", refreshInterval: .milliseconds(200),
                    ipAddresses: [[127, 0, 0, 1]])),
            client: world.operatorClient(token: token), registry: PrometheusCollectorRegistry(),
            logger: operatorTestLogger(identity))
        let port = BoundPort()
        let (group, elector) = try runtime.makeServiceGroup(
            signals: [], onListening: { _, _ in }, onWebhookListening: { _, bound in port.withLock { $0 = bound } })
        return Replica(
            identity: identity, token: token, elector: elector, webhookPort: port, task: Task { try await group.run() })
    }

    static func caBundle(_ world: OperatorWorld) async -> String? {
        let stored = await world.double.storedObject(
            ValidatingWebhookConfiguration.descriptor, namespace: nil, name: "hadron-operator")
        let bundles = Set(
            stored?["webhooks"]?.arrayValue?.map { $0[path: ["clientConfig", "caBundle"]]?.stringValue } ?? [])
        guard bundles.count == 1, let encoded = bundles.first ?? nil, let data = Data(base64Encoded: encoded) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func replicasShareOneCertificateAndTheLeaderPublishesItsCA() async throws {
        try await OperatorWorld.with { world in
            try await WebhookCertificateTests.installChartConfiguration(
                world, webhooks: ["streams.hadron.dev", "hadronclusters.hadron.dev"])
            _ = try await world.createCluster(storageReplicas: 2)
            let replicas = try ["op-a", "op-b"].map { try Self.start($0, world: world) }
            defer { for replica in replicas { replica.task.cancel() } }

            #expect(await eventually(within: .seconds(20)) { await Self.caBundle(world) != nil })
            let bundle = try #require(await Self.caBundle(world))
            #expect(
                await eventually(within: .seconds(20)) { replicas.allSatisfy { $0.webhookPort.withLock { $0 } != nil } }
            )
            let leader = try #require(replicas.first { $0.elector.isLeader })
            let follower = try #require(replicas.first { $0.identity != leader.identity })

            // One Secret for both (each replica's certificate verifies against the one published CA below);
            // only the leader wrote the configuration, once.
            let secret = try #require(
                await world.double.storedObject(
                    Secret.descriptor, namespace: "default", name: "hadron-operator-webhook-cert"))
            #expect(secret["type"] == "kubernetes.io/tls")
            let configurationWrites = { (token: String) in
                world.operatorWrites(token: token).filter { $0.path.contains("validatingwebhookconfigurations") }
            }
            #expect(configurationWrites(follower.token).isEmpty)
            #expect(configurationWrites(leader.token).count == 1)
            #expect(configurationWrites(leader.token).first?.contentType == "application/json-patch+json")

            // Either replica answers a client that trusts only the published caBundle, with the cluster read
            // through the API server.
            for replica in replicas {
                let port = try #require(replica.webhookPort.withLock { $0 })
                let webhook = RunningWebhookClient(port: port)
                let reply = try await webhook.post(
                    AdmissionWebhookServerTests.review(
                        uid: "uid-\(replica.identity)", object: AdmissionWebhookServerTests.stream(replicationFactor: 3)
                    ),
                    trusting: bundle)
                #expect(reply[path: ["response", "uid"]]?.stringValue == "uid-\(replica.identity)")
                #expect(reply[path: ["response", "allowed"]] == false)
                #expect(
                    reply[path: ["response", "status", "message"]]?.stringValue?.contains(
                        "storage replicas of HadronCluster \"events\" (2)") == true)
            }
            for replica in replicas { await replica.stop() }
        }
    }
}

/// The port a listener reported, once it has.
final class BoundPort: Sendable {
    private let port = Mutex<Int?>(nil)
    func withLock<T>(_ body: (inout Int?) -> T) -> T { port.withLock { body(&$0) } }
}

/// A client for a webhook some other code started.
struct RunningWebhookClient {
    let port: Int

    func post(_ body: JSONValue, trusting caBundlePEM: String) async throws -> JSONValue {
        let client = KubeClient(
            configuration: KubeConfiguration(
                server: "https://127.0.0.1:\(port)", tls: TLSSettings(certificateAuthorityPEM: Array(caBundlePEM.utf8))),
            logger: operatorTestLogger("webhook-client"), requestTimeout: .seconds(10))
        let response = try await client.send(
            method: "POST", path: "/validate", body: body.serialized(), contentType: "application/json")
        return try JSONValue(parsing: response.body)
    }
}
