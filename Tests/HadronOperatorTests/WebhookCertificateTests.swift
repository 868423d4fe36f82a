import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Testing

/// The operator-issued webhook certificate against the API double: one Secret shared by every replica, renewed
/// before it expires, and its CA written into the chart's ValidatingWebhookConfiguration without taking any of
/// the chart's fields.
@Suite struct WebhookCertificateTests {
    static let dnsNames = WebhookCertificateIssuer.dnsNames(service: "hadron-operator", namespace: "default")

    func store(_ world: OperatorWorld, token: String) -> WebhookCertificateSecret {
        WebhookCertificateSecret(
            client: world.operatorClient(token: token), name: "hadron-operator-webhook-cert", namespace: "default",
            dnsNames: Self.dnsNames, logger: operatorTestLogger("certificates"))
    }

    func secretWrites(_ world: OperatorWorld) -> [RecordedRequest] {
        world.double.requests.filter { $0.isWrite && $0.path.contains("/secrets") }
    }

    @Test func theSecretIsCreatedOnceAndEveryReplicaServesIt() async throws {
        try await OperatorWorld.with { world in
            // Two replicas start together: one create wins, the other reads the winner's Secret.
            async let a = store(world, token: "token-op-a").ensure()
            async let b = store(world, token: "token-op-b").ensure()
            let (first, second) = try await (a, b)
            #expect(first == second)
            let stored = try #require(
                await world.double.storedObject(
                    Secret.descriptor, namespace: "default", name: "hadron-operator-webhook-cert"))
            #expect(stored["type"] == "kubernetes.io/tls")
            #expect(Set(stored["data"]?.objectValue?.keys.map { $0 } ?? []) == ["tls.crt", "tls.key", "ca.crt"])

            // A third replica, later, reuses it without writing.
            let writesBefore = secretWrites(world).count
            let third = try await store(world, token: "token-op-c").ensure()
            #expect(third == first)
            #expect(secretWrites(world).count == writesBefore)
            #expect(world.double.requests.filter { $0.method == "PUT" && $0.path.contains("/secrets/") }.isEmpty)
        }
    }

    @Test func aCertificateNearExpiryIsRenewedKeepingTheOldCATrusted() async throws {
        try await OperatorWorld.with { world in
            // Issued 340 days ago: 25 days left, inside the 30-day renewal margin.
            let old = try WebhookCertificateIssuer.issue(
                dnsNames: Self.dnsNames, now: Date().addingTimeInterval(-340 * 86_400))
            _ = try await world.admin.create(
                Secret(
                    metadata: ObjectMeta(name: "hadron-operator-webhook-cert", namespace: "default"),
                    type: "kubernetes.io/tls",
                    data: [
                        "tls.crt": Data(old.certificateChainPEM.utf8).base64EncodedString(),
                        "tls.key": Data(old.privateKeyPEM.utf8).base64EncodedString(),
                        "ca.crt": Data(old.caBundlePEM!.utf8).base64EncodedString(),
                    ]))
            let renewed = try await store(world, token: "token-op-a").ensure()
            #expect(renewed.certificateChainPEM != old.certificateChainPEM)
            let bundle = try #require(renewed.caBundlePEM)
            #expect(bundle.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2)
            #expect(bundle.contains(old.caBundlePEM!.trimmingCharacters(in: .whitespacesAndNewlines)))
            // Stored for the other replicas, and stable from then on.
            #expect(try await store(world, token: "token-op-b").ensure() == renewed)

            // A certificate for other DNS names (the Service was renamed) is replaced as well.
            let elsewhere = WebhookCertificateSecret(
                client: world.operatorClient(token: "token-op-a"), name: "hadron-operator-webhook-cert",
                namespace: "default",
                dnsNames: WebhookCertificateIssuer.dnsNames(service: "hadron-webhook", namespace: "default"),
                logger: operatorTestLogger("certificates"))
            #expect(try await elsewhere.ensure() != renewed)
        }
    }

    /// The configuration as `helm install` (Helm 4, server-side apply) creates it, under Helm's own manager.
    static func installChartConfiguration(_ world: OperatorWorld, webhooks: [String]) async throws {
        _ = try await world.admin.applyObject(
            [
                "metadata": ["name": "hadron-operator", "labels": ["app.kubernetes.io/managed-by": "Helm"]],
                "webhooks": .array(webhooks.map(webhook)),
            ], descriptor: ValidatingWebhookConfiguration.descriptor, fieldManager: "helm")
    }

    static func webhook(_ name: String) -> JSONValue {
        [
            "name": .string(name),
            "clientConfig": [
                "service": ["name": "hadron-operator", "namespace": "default", "path": "/validate", "port": 9443]
            ],
            "rules": [
                [
                    "apiGroups": ["hadron.dev"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["streams"], "scope": "Namespaced",
                ]
            ],
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        ]
    }

    static func stored(_ world: OperatorWorld) async -> JSONValue? {
        await world.double.storedObject(
            ValidatingWebhookConfiguration.descriptor, namespace: nil, name: "hadron-operator")
    }

    /// The `fieldsV1` of `manager`'s entry with this operation.
    static func ownership(_ object: JSONValue?, manager: String, operation: String) -> JSONValue? {
        object?[path: ["metadata", "managedFields"]]?.arrayValue?.first {
            $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == operation
        }?["fieldsV1"]
    }

    @Test func theCAIsPatchedIntoTheChartsConfigurationWithoutTakingItsFields() async throws {
        try await OperatorWorld.with { world in
            try await Self.installChartConfiguration(world, webhooks: ["streams.hadron.dev", "clusters.hadron.dev"])
            let certificate = try await store(world, token: "token-op-a").ensure()
            let bundle = try #require(certificate.caBundlePEM)
            let injector = WebhookCABundleInjector(
                client: world.operatorClient(token: "token-op-a"), configurationName: "hadron-operator")

            #expect(try await injector.inject(caBundlePEM: bundle) == .patched(2))
            let patched = await Self.stored(world)
            let encoded = Data(bundle.utf8).base64EncodedString()
            for item in patched?["webhooks"]?.arrayValue ?? [] {
                #expect(item[path: ["clientConfig", "caBundle"]]?.stringValue == encoded)
                #expect(item[path: ["clientConfig", "service", "name"]] == "hadron-operator")
            }
            // Nothing to do the second time: no write.
            let writes = world.double.requests.filter(\.isWrite).count
            #expect(try await injector.inject(caBundlePEM: bundle) == .unchanged)
            #expect(world.double.requests.filter(\.isWrite).count == writes)

            // Ownership: the operator holds only the caBundle leaves, as an Update (never an Apply that would keep
            // the chart's items alive); Helm keeps every field it set.
            #expect(Self.ownership(patched, manager: "hadron-operator", operation: "Apply") == nil)
            let mine = try #require(Self.ownership(patched, manager: "hadron-operator", operation: "Update"))
            let item = #"k:{"name":"streams.hadron.dev"}"#
            let expected: JSONValue = [
                "f:webhooks": [
                    item: ["f:clientConfig": ["f:caBundle": [:]]],
                    #"k:{"name":"clusters.hadron.dev"}"#: ["f:clientConfig": ["f:caBundle": [:]]],
                ]
            ]
            #expect(mine == expected)
            let helm = try #require(Self.ownership(patched, manager: "helm", operation: "Apply"))
            #expect(helm[path: ["f:webhooks", item, "f:clientConfig", "f:service", "f:name"]] != nil)
            #expect(helm[path: ["f:webhooks", item, "f:rules"]] != nil)
            #expect(helm[path: ["f:webhooks", item, "f:clientConfig", "f:caBundle"]] == nil)

            // `helm upgrade` without --force-conflicts: the chart's manifest, which sets no caBundle, applies
            // without a conflict and leaves the operator's caBundle in place.
            var upgraded = Self.webhook("streams.hadron.dev")
            upgraded["timeoutSeconds"] = 5
            _ = try await world.admin.applyObject(
                [
                    "metadata": ["name": "hadron-operator"],
                    "webhooks": [upgraded, Self.webhook("clusters.hadron.dev")],
                ],
                descriptor: ValidatingWebhookConfiguration.descriptor, fieldManager: "helm")
            let afterUpgrade = await Self.stored(world)
            for item in afterUpgrade?["webhooks"]?.arrayValue ?? [] {
                #expect(item[path: ["clientConfig", "caBundle"]]?.stringValue == encoded)
            }
            #expect(
                afterUpgrade?["webhooks"]?.arrayValue?.map { $0["timeoutSeconds"]?.intValue } == [5, nil],
                "the items keep the chart's order and the upgrade's change")

            // The chart drops a webhook: it goes, caBundle and all — the operator's leaf does not keep it alive.
            _ = try await world.admin.applyObject(
                ["metadata": ["name": "hadron-operator"], "webhooks": [upgraded]],
                descriptor: ValidatingWebhookConfiguration.descriptor, fieldManager: "helm")
            let names = await Self.stored(world)?["webhooks"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(names == ["streams.hadron.dev"])
        }
    }

    @Test func withoutAConfigurationNothingIsCreated() async throws {
        try await OperatorWorld.with { world in
            let injector = WebhookCABundleInjector(
                client: world.operatorClient(token: "token-op-a"), configurationName: "hadron-operator")
            let outcome = try await injector.inject(caBundlePEM: "pem")
            #expect(outcome == .missing)
            #expect(await Self.stored(world) == nil)
        }
    }
}
