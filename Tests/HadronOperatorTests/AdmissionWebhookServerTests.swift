import Foundation
import HadronOperator
import KubeAPI
import Logging
import ServiceLifecycle
import Testing

/// The webhook over real HTTPS: a generated certificate, a TLS client that trusts only its CA (libcurl, as the
/// operator's own client), AdmissionReview JSON in and out.
struct RunningWebhook {
    let port: Int
    let slot: ServingCertificateSlot
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(
        certificate: ServingCertificate,
        clusters: @escaping AdmissionReviewer.ClusterSource = { _, _ in .notFound }
    ) async throws -> RunningWebhook {
        let slot = ServingCertificateSlot()
        try slot.install(certificate)
        let logger = operatorTestLogger("webhook")
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = AdmissionWebhookServer(
            host: "127.0.0.1", port: 0, reviewer: AdmissionReviewer(clusters: clusters, logger: logger), slot: slot,
            logger: logger,
            onListening: { _, port in
                continuation.yield(port)
                continuation.finish()
            })
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the webhook did not start listening") }
        return RunningWebhook(port: port, slot: slot, group: group, task: task)
    }

    /// A client trusting only `caBundlePEM`, as the API server trusts only the configuration's `caBundle`.
    func client(trusting caBundlePEM: String) -> KubeClient {
        KubeClient(
            configuration: KubeConfiguration(
                server: "https://127.0.0.1:\(port)",
                tls: TLSSettings(certificateAuthorityPEM: Array(caBundlePEM.utf8))),
            logger: operatorTestLogger("webhook-client"), requestTimeout: .seconds(10))
    }

    func post(_ body: JSONValue, trusting caBundlePEM: String) async throws -> JSONValue {
        let response = try await client(trusting: caBundlePEM).send(
            method: "POST", path: "/validate", body: body.serialized(), contentType: "application/json")
        return try JSONValue(parsing: response.body)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Runs `body` against a started webhook and stops it whatever `body` does.
    static func with(
        certificate: ServingCertificate, clusters: @escaping AdmissionReviewer.ClusterSource = { _, _ in .notFound },
        _ body: (RunningWebhook) async throws -> Void
    ) async throws {
        let webhook = try await start(certificate: certificate, clusters: clusters)
        do {
            try await body(webhook)
        } catch {
            await webhook.stop()
            throw error
        }
        await webhook.stop()
    }
}

@Suite struct AdmissionWebhookServerTests {
    static func issue() throws -> ServingCertificate {
        try WebhookCertificateIssuer.issue(dnsNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]])
    }

    static func review(
        uid: String = UUID().uuidString, operation: String = "CREATE", subResource: String? = nil,
        object: JSONValue, oldObject: JSONValue? = nil, dryRun: Bool = false
    ) -> JSONValue {
        var request: JSONValue = [
            "uid": .string(uid),
            "kind": ["group": "hadron.dev", "version": "v1alpha1", "kind": "Stream"],
            "resource": ["group": "hadron.dev", "version": "v1alpha1", "resource": "streams"],
            "requestKind": ["group": "hadron.dev", "version": "v1alpha1", "kind": "Stream"],
            "requestResource": ["group": "hadron.dev", "version": "v1alpha1", "resource": "streams"],
            "name": "orders", "namespace": "default", "operation": .string(operation),
            "userInfo": ["username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]],
            "object": object, "dryRun": .bool(dryRun),
            "options": [
                "apiVersion": "meta.k8s.io/v1",
                "kind": .string(operation == "CREATE" ? "CreateOptions" : "UpdateOptions"),
            ],
        ]
        if let subResource { request["subResource"] = .string(subResource) }
        if let oldObject { request["oldObject"] = oldObject }
        return ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request]
    }

    static func stream(partitions: Int = 3, replicationFactor: Int = 2, minInSyncReplicas: Int = 2) -> JSONValue {
        [
            "apiVersion": "hadron.dev/v1alpha1", "kind": "Stream",
            "metadata": ["name": "orders", "namespace": "default", "uid": "0d5c0c8e-1"],
            "spec": [
                "cluster": "events", "partitions": .number(Double(partitions)),
                "replicationFactor": .number(Double(replicationFactor)),
                "minInSyncReplicas": .number(Double(minInSyncReplicas)),
            ],
        ]
    }

    static let twoNodes: AdmissionReviewer.ClusterSource = { namespace, name in
        guard namespace == "default", name == "events" else { return .notFound }
        return .found(HadronCluster(metadata: ObjectMeta(name: name), spec: .init(storage: .init(replicas: 2))))
    }

    @Test func deniesAnInvalidStreamEchoingTheUID() async throws {
        let certificate = try Self.issue()
        try await RunningWebhook.with(certificate: certificate, clusters: Self.twoNodes) { webhook in
            let reply = try await webhook.post(
                Self.review(uid: "705ab4f5-6393-11e8-b7cc-42010a800002", object: Self.stream(minInSyncReplicas: 3)),
                trusting: try #require(certificate.caBundlePEM))
            #expect(reply["apiVersion"] == "admission.k8s.io/v1")
            #expect(reply["kind"] == "AdmissionReview")
            #expect(reply[path: ["response", "uid"]] == "705ab4f5-6393-11e8-b7cc-42010a800002")
            #expect(reply[path: ["response", "allowed"]] == false)
            #expect(reply[path: ["response", "status", "code"]]?.intValue == 422)
            #expect(reply[path: ["response", "status", "reason"]] == "Invalid")
            let message = try #require(reply[path: ["response", "status", "message"]]?.stringValue)
            #expect(
                message.contains(
                    "spec.minInSyncReplicas (3) must not exceed spec.replicationFactor (2): lower minInSyncReplicas or "
                        + "raise replicationFactor"), "\(message)")
            #expect(reply["request"] == nil)
        }
    }

    @Test func checksTheReplicationFactorAgainstTheClusterAndWarnsWithoutOne() async throws {
        let certificate = try Self.issue()
        let ca = try #require(certificate.caBundlePEM)
        try await RunningWebhook.with(certificate: certificate, clusters: Self.twoNodes) { webhook in
            let tooMany = try await webhook.post(
                Self.review(object: Self.stream(replicationFactor: 3), dryRun: true), trusting: ca)
            #expect(tooMany[path: ["response", "allowed"]] == false)
            #expect(
                tooMany[path: ["response", "status", "message"]]?.stringValue?.contains(
                    "storage replicas of HadronCluster \"events\" (2)") == true)

            var orphan = Self.stream()
            orphan["spec"]?["cluster"] = "elsewhere"
            let warned = try await webhook.post(Self.review(object: orphan), trusting: ca)
            #expect(warned[path: ["response", "allowed"]] == true)
            #expect(warned[path: ["response", "status"]] == nil)
            #expect(
                warned[path: ["response", "warnings"]]?.arrayValue?.first?.stringValue?.contains(
                    "HadronCluster \"elsewhere\" does not exist yet") == true)
        }
    }

    @Test func judgesUpdatesAgainstTheOldObjectAndLeavesStatusWritesAlone() async throws {
        let certificate = try Self.issue()
        let ca = try #require(certificate.caBundlePEM)
        try await RunningWebhook.with(certificate: certificate, clusters: Self.twoNodes) { webhook in
            let shrink = try await webhook.post(
                Self.review(
                    operation: "UPDATE", object: Self.stream(partitions: 2), oldObject: Self.stream(partitions: 3)),
                trusting: ca)
            #expect(shrink[path: ["response", "allowed"]] == false)
            #expect(shrink[path: ["response", "status", "message"]]?.stringValue?.contains("3 → 2") == true)

            // The operator writes status through /status; the spec there is not the writer's to fix.
            let status = try await webhook.post(
                Self.review(
                    operation: "UPDATE", subResource: "status", object: Self.stream(partitions: 2),
                    oldObject: Self.stream(partitions: 3)), trusting: ca)
            #expect(status[path: ["response", "allowed"]] == true)
        }
    }

    @Test func aMalformedReviewIsABadRequest() async throws {
        let certificate = try Self.issue()
        let ca = try #require(certificate.caBundlePEM)
        try await RunningWebhook.with(certificate: certificate) { webhook in
            for body: JSONValue in [
                ["apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": ["uid": "x"]],
                ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"],
                ["hello": "world"],
            ] {
                await #expect {
                    _ = try await webhook.post(body, trusting: ca)
                } throws: { error in
                    (error as? KubeAPIError)?.httpStatus == 400
                }
            }
            // Not JSON at all.
            await #expect {
                _ = try await webhook.client(trusting: ca).send(
                    method: "POST", path: "/validate", body: Array("{".utf8), contentType: "application/json")
            } throws: { error in
                (error as? KubeAPIError)?.httpStatus == 400
            }
            // An object the CRD schema should have refused is denied with the field named, not a 500.
            var typo = Self.stream()
            typo["spec"]?["partitions"] = "six"
            let reply = try await webhook.post(Self.review(object: typo), trusting: ca)
            #expect(reply[path: ["response", "allowed"]] == false)
            #expect(reply[path: ["response", "status", "code"]]?.intValue == 400)
            #expect(reply[path: ["response", "status", "message"]]?.stringValue?.contains("spec.partitions") == true)
        }
    }

    @Test func aRotatedCertificateIsServedWithoutARestart() async throws {
        let first = try Self.issue()
        try await RunningWebhook.with(certificate: first) { webhook in
            let body = Self.review(object: Self.stream())
            _ = try await webhook.post(body, trusting: try #require(first.caBundlePEM))

            let second = try Self.issue()
            try webhook.slot.install(second)
            // New handshakes use the new certificate: a client trusting only the new CA now gets through; a new
            // client trusting only the old CA no longer does. (The first client's kept-alive connection still
            // finishes on the old certificate, so the new one differs in its trust settings: libcurl never
            // reuses a connection made under other TLS settings.)
            let reply = try await webhook.post(body, trusting: try #require(second.caBundlePEM))
            #expect(reply[path: ["response", "allowed"]] == true)
            let oldCA = try #require(first.caBundlePEM) + "\n"
            await #expect {
                _ = try await webhook.post(body, trusting: oldCA)
            } throws: { error in
                error is TransportError && "\(error)".contains("certificate")
            }
        }
    }
}
