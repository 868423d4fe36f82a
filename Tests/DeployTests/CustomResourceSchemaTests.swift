import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

/// deploy/examples/ applied with kubectl against a double that enforces the chart's CRDs as a real
/// API server does, and broken resources refused with 422 naming the field.
@Suite struct CustomResourceSchemaTests {
    @Test func kubectlCreatesEveryExample() async throws {
        var expected: [JSONValue] = []
        let files = try FileManager.default.contentsOfDirectory(
            at: Repository.examples, includingPropertiesForKeys: nil
        )
        .filter { $0.pathExtension == "yaml" }
        for file in files { expected += try YAMLDocuments.parse(String(contentsOf: file, encoding: .utf8)) }
        let kinds = Set(expected.compactMap { $0["kind"]?.stringValue })
        #expect(kinds == ["HadronCluster", "Stream", "Subscription", "Exchange", "Endpoint", "Pipeline", "AuthGrant"])

        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: true)) { double in
            let kubectl = try Kubectl(double: double, namespace: "shop")
            defer { kubectl.remove() }
            // Not a dry run: kubectl creates each object, the double prunes, defaults and validates it.
            let result = try await kubectl.run(["apply", "-f", Repository.examples.path])
            #expect(result.status == 0, "kubectl failed:\n\(result.combined)")
            for object in expected {
                #expect(result.output.contains("\(object.kubectlName) created"), "\(result.output)")
            }
            let creates = double.requests.filter { $0.method == "POST" }
            #expect(creates.count == expected.count)
            #expect(
                creates.allSatisfy { $0.query["fieldValidation"] == "Strict" }, "kubectl asks for strict validation")

            // The server's defaults are in what it stored.
            let cluster = await double.storedObject(HadronCluster.descriptor, namespace: "shop", name: "events")
            #expect(cluster?[path: ["spec", "gateway", "replicas"]] == 2)
            #expect(cluster?[path: ["spec", "storage", "replicas"]] == 3)
            let subscription = await double.storedObject(
                HadronSubscription.descriptor, namespace: "shop", name: "billing")
            #expect(subscription?[path: ["spec", "delivery", "ordering"]] == "ordered")
            #expect(
                subscription?[path: ["spec", "subscriber", "uri"]] == "http://billing.shop.svc.cluster.local/events")
        }
    }

    @Test func kubectlRefusesUnknownFieldsStrictly() async throws {
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: true)) { double in
            let kubectl = try Kubectl(double: double, namespace: "shop")
            defer { kubectl.remove() }
            let file = kubectl.home.file("typo.yaml")
            try """
            apiVersion: hadron.dev/v1alpha1
            kind: Stream
            metadata: {name: orders}
            spec: {cluster: events, partitions: 3, replicationFactr: 3}
            """.write(toFile: file, atomically: false, encoding: .utf8)
            let result = try await kubectl.run(["apply", "-f", file])
            #expect(result.status != 0)
            #expect(result.errorOutput.contains("unknown field \"spec.replicationFactr\""), "\(result.combined)")
            #expect(await double.storedObject(HadronStream.descriptor, namespace: "shop", name: "orders") == nil)
        }
    }

    /// A valid object of each kind, the base the broken variants below change one thing of.
    static let valid: [String: JSONValue] = [
        "HadronCluster": [
            "spec": [
                "storage": ["replicas": 3, "volumeSize": "10Gi"],
                "gateway": ["ingress": ["host": "events.example.com"]],
            ]
        ],
        "Stream": ["spec": ["cluster": "events", "partitions": 6, "replicationFactor": 3, "minInSyncReplicas": 2]],
        "Subscription": [
            "spec": [
                "stream": "orders", "subscriber": ["uri": "http://billing/events"],
                "delivery": ["ordering": "ordered", "retry": 3, "backoffDelay": "PT0.2S"],
            ]
        ],
        "Exchange": [
            "spec": ["cluster": "events", "sinks": [["topic": "com.example.>", "uri": "http://audit/events"]]]
        ],
        "Endpoint": ["spec": ["cluster": "events", "timeout": "PT30S", "backend": ["uri": "http://billing/quote"]]],
        "Pipeline": [
            "spec": [
                "stream": "orders", "stages": [["name": "charge"], ["name": "ship", "dependencies": ["charge"]]],
            ]
        ],
        "AuthGrant": [
            "spec": ["secretName": "token", "permissions": [["resource": "streams/orders.*", "verbs": ["publish"]]]]
        ],
    ]

    struct Broken: Sendable, CustomTestStringConvertible {
        var kind: String
        var path: [String]
        /// nil removes the field.
        var value: JSONValue?
        var field: String
        var reason: String

        var testDescription: String { "\(kind) \(field) = \(value.map { "\($0)" } ?? "(absent)")" }
    }

    static let broken: [Broken] = [
        Broken(
            kind: "Stream", path: ["spec", "partitions"], value: "six", field: "spec.partitions",
            reason: "FieldValueTypeInvalid"),
        Broken(
            kind: "Stream", path: ["spec", "partitions"], value: 0, field: "spec.partitions",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Stream", path: ["spec", "partitions"], value: nil, field: "spec.partitions",
            reason: "FieldValueRequired"),
        Broken(
            kind: "Stream", path: ["spec", "replicationFactor"], value: 1.5, field: "spec.replicationFactor",
            reason: "FieldValueTypeInvalid"),
        Broken(
            kind: "Stream", path: ["spec", "fsync"], value: "sometimes", field: "spec.fsync",
            reason: "FieldValueNotSupported"),
        Broken(
            kind: "Stream", path: ["spec", "retention"], value: ["maxAge": "7 days"], field: "spec.retention.maxAge",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Stream", path: ["spec", "cluster"], value: "Events_Cluster", field: "spec.cluster",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Stream", path: ["spec", "cluster"], value: .string(String(repeating: "a", count: 64)),
            field: "spec.cluster", reason: "FieldValueTooLong"),
        Broken(
            kind: "Stream", path: ["spec", "uncleanLeaderElection"], value: "yes", field: "spec.uncleanLeaderElection",
            reason: "FieldValueTypeInvalid"),
        Broken(
            kind: "HadronCluster", path: ["spec", "storage", "replicas"], value: -1, field: "spec.storage.replicas",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "HadronCluster", path: ["spec", "storage", "volumeSize"], value: "ten gigs",
            field: "spec.storage.volumeSize", reason: "FieldValueInvalid"),
        Broken(
            kind: "HadronCluster", path: ["spec", "gateway"], value: "two", field: "spec.gateway",
            reason: "FieldValueTypeInvalid"),
        Broken(
            kind: "Subscription", path: ["spec", "subscriber"], value: nil, field: "spec.subscriber",
            reason: "FieldValueRequired"),
        Broken(
            kind: "Subscription", path: ["spec", "subscriber", "uri"], value: "billing", field: "spec.subscriber.uri",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Subscription", path: ["spec", "delivery", "ordering"], value: "sideways",
            field: "spec.delivery.ordering", reason: "FieldValueNotSupported"),
        Broken(
            kind: "Subscription", path: ["spec", "delivery", "retry"], value: -3, field: "spec.delivery.retry",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Subscription", path: ["spec", "delivery", "backoffDelay"], value: "200ms",
            field: "spec.delivery.backoffDelay", reason: "FieldValueInvalid"),
        Broken(
            kind: "Subscription", path: ["spec", "filters"],
            value: [["exact": ["type": "a"], "prefix": ["source": "/s"]]], field: "spec.filters[0]",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "Exchange", path: ["spec", "sinks"], value: [["uri": "http://audit/events"]],
            field: "spec.sinks[0].topic", reason: "FieldValueRequired"),
        Broken(
            kind: "Exchange", path: ["spec", "sinks"], value: [["topic": "com..example", "uri": "http://a/b"]],
            field: "spec.sinks[0].topic", reason: "FieldValueInvalid"),
        Broken(
            kind: "Endpoint", path: ["spec", "timeout"], value: 30, field: "spec.timeout",
            reason: "FieldValueTypeInvalid"),
        Broken(
            kind: "Pipeline", path: ["spec", "stages"], value: [], field: "spec.stages", reason: "FieldValueInvalid"),
        Broken(
            kind: "Pipeline", path: ["spec", "stream"], value: nil, field: "spec.stream", reason: "FieldValueRequired"),
        Broken(
            kind: "AuthGrant", path: ["spec", "permissions"],
            value: [["resource": "streams/orders", "verbs": ["delete"]]], field: "spec.permissions[0].verbs[0]",
            reason: "FieldValueNotSupported"),
        Broken(
            kind: "AuthGrant", path: ["spec", "permissions"], value: [], field: "spec.permissions",
            reason: "FieldValueInvalid"),
        Broken(
            kind: "AuthGrant", path: ["spec", "secretName"], value: nil, field: "spec.secretName",
            reason: "FieldValueRequired"),
    ]

    static let descriptors: [String: ResourceDescriptor] = [
        "HadronCluster": HadronCluster.descriptor, "Stream": HadronStream.descriptor,
        "Subscription": HadronSubscription.descriptor, "Exchange": HadronExchange.descriptor,
        "Endpoint": HadronEndpoint.descriptor, "Pipeline": HadronPipeline.descriptor,
        "AuthGrant": HadronAuthGrant.descriptor,
    ]

    static func object(kind: String, name: String) throws -> (ResourceDescriptor, JSONValue) {
        let descriptor = try #require(descriptors[kind])
        var object = try #require(valid[kind])
        object["apiVersion"] = .string(descriptor.apiVersion)
        object["kind"] = .string(kind)
        object["metadata"] = ["name": .string(name), "namespace": "shop"]
        return (descriptor, object)
    }

    @Test func validBasesAreAccepted() async throws {
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: true)) { double in
            let client = KubeClient(configuration: double.tokenConfiguration(namespace: "shop"), logger: quietLogger())
            for kind in Self.valid.keys.sorted() {
                let (descriptor, object) = try Self.object(kind: kind, name: "valid")
                _ = try await client.applyObject(object, descriptor: descriptor, fieldManager: "test", force: false)
                #expect(await double.storedObject(descriptor, namespace: "shop", name: "valid") != nil, "\(kind)")
            }
        }
    }

    @Test(arguments: broken)
    func brokenResourceIsRefused(_ broken: Broken) async throws {
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: true)) { double in
            let client = KubeClient(configuration: double.tokenConfiguration(namespace: "shop"), logger: quietLogger())
            var (descriptor, object) = try Self.object(kind: broken.kind, name: "broken")
            object = object.setting(broken.value, at: broken.path)
            do {
                _ = try await client.applyObject(object, descriptor: descriptor, fieldManager: "test", force: false)
                Issue.record("\(broken.testDescription) was accepted")
            } catch let error as KubeAPIError {
                #expect(error.httpStatus == 422, "\(error)")
                let causes = error.causes.map { "\($0.field ?? "?") \($0.reason ?? "?")" }
                #expect(
                    error.causes.contains { $0.field == broken.field && $0.reason == broken.reason },
                    "\(causes): \(error.message)")
                #expect(error.message.contains("\(broken.kind).hadron.dev \"broken\" is invalid: "), "\(error.message)")
                #expect(error.message.contains(broken.field))
            }
            #expect(await double.storedObject(descriptor, namespace: "shop", name: "broken") == nil)
        }
    }

    /// Unknown fields are pruned silently (no Strict validation asked), as a real server does.
    @Test func unknownFieldsArePruned() async throws {
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: true)) { double in
            let client = KubeClient(configuration: double.tokenConfiguration(namespace: "shop"), logger: quietLogger())
            var (descriptor, object) = try Self.object(kind: "Stream", name: "pruned")
            object = object.setting("x", at: ["spec", "colour"]).setting(1, at: ["spec", "retention", "maxFiles"])
            let stored = try await client.applyObject(
                object, descriptor: descriptor, fieldManager: "test", force: false)
            #expect(stored[path: ["spec", "colour"]] == nil)
            #expect(stored[path: ["spec", "retention", "maxFiles"]] == nil)
            #expect(stored[path: ["spec", "partitions"]] == 6)
        }
    }

    /// Without CRDs loaded the double stores custom resources as sent (what the operator tests rely on).
    @Test func withoutCRDsNothingIsEnforced() async throws {
        try await withDouble { double in
            let client = KubeClient(configuration: double.tokenConfiguration(namespace: "shop"), logger: quietLogger())
            var (descriptor, object) = try Self.object(kind: "Stream", name: "loose")
            object = object.setting("six", at: ["spec", "partitions"])
            let stored = try await client.applyObject(
                object, descriptor: descriptor, fieldManager: "test", force: false)
            #expect(stored[path: ["spec", "partitions"]] == "six")
        }
    }
}

extension JSONValue {
    /// A copy with `value` at `path` (objects created on the way); nil removes the field.
    func setting(_ value: JSONValue?, at path: [String]) -> JSONValue {
        guard let first = path.first else { return value ?? .null }
        var members = objectValue ?? [:]
        if path.count == 1 {
            members[first] = value
        } else {
            members[first] = (members[first] ?? [:]).setting(value, at: Array(path.dropFirst()))
        }
        return .object(members)
    }
}
