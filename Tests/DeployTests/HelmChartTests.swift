import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

/// The Helm chart in deploy/helm/hadron, rendered as `helm template` renders it and applied with
/// kubectl against the KubeAPI double (discovery and OpenAPI as a v1.28 server serves them).
@Suite struct HelmChartTests {
    /// Value sets the chart must render valid manifests for: the defaults, and cert-manager with
    /// every optional knob set.
    static let valueSets: [(name: String, values: String)] = [
        ("defaults", ""),
        (
            "cert-manager and options",
            """
            certManager:
              enabled: true
              issuerRef: {name: corp-ca, kind: ClusterIssuer}
            image: {tag: "1.2.3", pullPolicy: Always}
            imagePullSecrets: [{name: registry}]
            operator:
              watchNamespace: shop
              logLevel: debug
              priorityClassName: system-cluster-critical
              podAnnotations: {example.com/team: streaming}
              podLabels: {example.com/tier: control}
              nodeSelector: {kubernetes.io/os: linux}
              tolerations: [{key: dedicated, operator: Equal, value: hadron, effect: NoSchedule}]
            serviceAccount:
              annotations: {example.com/role: operator}
            webhook: {failurePolicy: Ignore, secretName: custom-webhook-tls}
            """
        ),
        ("one replica, no aggregation", "operator: {replicas: 1}\nrbac: {aggregateToDefaultRoles: false}\n"),
    ]

    @Test(arguments: valueSets.indices)
    func kubectlAppliesEveryRenderedObject(_ index: Int) async throws {
        let (_, values) = Self.valueSets[index]
        let rendered = try await HelmTemplate.shared.render(values: values)
        #expect(rendered.objects.count >= 10)
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: false)) { double in
            let kubectl = try Kubectl(double: double, namespace: "hadron-system")
            defer { kubectl.remove() }
            let file = kubectl.home.file("rendered.yaml")
            try rendered.text.write(toFile: file, atomically: false, encoding: .utf8)
            let result = try await kubectl.run(["apply", "--dry-run=client", "-f", file])
            #expect(result.status == 0, "kubectl failed:\n\(result.combined)")
            let lines = Set(result.output.split(separator: "\n").map(String.init))
            for object in rendered.objects {
                #expect(
                    lines.contains("\(object.kubectlName) created (dry run)"),
                    "\(object.kubectlName) not applied:\n\(result.output)")
            }
            #expect(lines.count == rendered.objects.count, "\(result.output)")
            // Client-side dry run stores nothing.
            #expect(double.requests.allSatisfy { !$0.isWrite })
        }
    }

    /// kubectl's `--dry-run=client` leaves schema validation to the server (a v1.28 server supports
    /// `fieldValidation`), so the rendered objects are checked here against v1.28's own schemas:
    /// no unknown field (a typo in a template), no type or required-field error.
    @Test(arguments: valueSets.indices)
    func renderedObjectsMatchTheKubernetesSchemas(_ index: Int) async throws {
        let (_, values) = Self.valueSets[index]
        let rendered = try await HelmTemplate.shared.render(values: values)
        let components = try OpenAPIFixture.components()
        for object in rendered.objects {
            let apiVersion = try #require(object["apiVersion"]?.stringValue)
            let kind = try #require(object["kind"]?.stringValue)
            if apiVersion.hasPrefix("cert-manager.io/") { continue }  // cert-manager's own CRDs check those
            let schema = try #require(
                OpenAPIFixture.schema(apiVersion: apiVersion, kind: kind, in: components), "no schema for \(kind)")
            #expect(schema.unknownFields(of: object) == [], "\(object.kubectlName)")
            #expect(schema.violations(of: object) == [], "\(object.kubectlName)")
        }
    }

    @Test func crdsApplyWithKubectlAlone() async throws {
        try await withDouble(settings: try chartDoubleSettings(enforcingCRDs: false)) { double in
            let kubectl = try Kubectl(double: double, namespace: "default")
            defer { kubectl.remove() }
            let result = try await kubectl.run(["apply", "--dry-run=client", "-f", Repository.crds.path])
            #expect(result.status == 0, "kubectl failed:\n\(result.combined)")
            for plural in [
                "hadronclusters", "streams", "subscriptions", "exchanges", "endpoints", "pipelines", "authgrants",
            ] {
                #expect(
                    result.output.contains(
                        "customresourcedefinition.apiextensions.k8s.io/\(plural).hadron.dev created (dry run)"),
                    "\(result.output)")
            }
        }
    }

    /// What a v1.28 API server checks before it accepts a CRD: a valid CustomResourceDefinition
    /// object, structural schemas, defaults that validate, the status subresource, printer columns.
    @Test func crdsAreStructuralAndMatchTheModels() throws {
        let schemas = try CustomResourceSchemas.load(directory: Repository.crds)
        #expect(schemas.definitions.count == 7)
        let crdSchema = try #require(
            OpenAPIFixture.schema(
                apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
                in: try OpenAPIFixture.components()))
        let descriptors = [
            HadronCluster.descriptor, HadronStream.descriptor, HadronSubscription.descriptor,
            HadronExchange.descriptor, HadronEndpoint.descriptor, HadronPipeline.descriptor, HadronAuthGrant.descriptor,
        ]
        for descriptor in descriptors {
            let definition = try #require(
                schemas.definitions.first { $0[path: ["spec", "names", "plural"]]?.stringValue == descriptor.plural })
            #expect(crdSchema.unknownFields(of: definition) == [], "\(descriptor)")
            #expect(crdSchema.violations(of: definition) == [], "\(descriptor)")
            #expect(definition[path: ["metadata", "name"]]?.stringValue == descriptor.qualifiedName)
            #expect(definition[path: ["spec", "group"]]?.stringValue == descriptor.group)
            #expect(definition[path: ["spec", "names", "kind"]]?.stringValue == descriptor.kind)
            #expect(definition[path: ["spec", "scope"]]?.stringValue == "Namespaced")
            let versions = definition[path: ["spec", "versions"]]?.arrayValue ?? []
            #expect(versions.count == 1)
            let version = try #require(versions.first)
            #expect(version["name"]?.stringValue == descriptor.version)
            #expect(version["served"] == .bool(true) && version["storage"] == .bool(true))
            #expect(version[path: ["subresources", "status"]] == .object([:]), "\(descriptor): status subresource")
            let columns = version["additionalPrinterColumns"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(columns.contains("Ready") && columns.contains("Age"), "\(descriptor): \(columns)")
            let schema = try #require(schemas.schema(for: descriptor))
            #expect(schema.structuralProblems() == [], "\(descriptor)")
        }
    }

    /// The fields the operator writes into status must survive the schema (a real server prunes
    /// undeclared ones silently, and the operator would then rewrite status forever).
    @Test func statusTheOperatorWritesIsDeclared() throws {
        let schemas = try CustomResourceSchemas.load(directory: Repository.crds)
        let conditions = [
            Condition(
                type: "Ready", status: "True", observedGeneration: 3, lastTransitionTime: "2026-11-21T10:00:00Z",
                reason: "PartitionsOnline", message: "6 of 6 partitions online")
        ]
        let stale = [
            StaleObject(apiVersion: "v1", kind: "Service", name: "events-orders-7", reason: "no longer declared")
        ]
        let streamStatus = HadronStream.Status(
            observedGeneration: 3,
            partitions: [
                .init(
                    partition: 0, leader: "events-storage-1", epoch: 4,
                    replicas: ["events-storage-1", "events-storage-2"],
                    isr: ["events-storage-1"], state: "Online", service: "events-orders-0")
            ], conditions: conditions, stale: stale)
        let common = HadronConditions(observedGeneration: 3, conditions: conditions, stale: stale)
        let cases: [(ResourceDescriptor, JSONValue)] = [
            (HadronStream.descriptor, try JSONValue(encoding: streamStatus)),
            (HadronCluster.descriptor, try JSONValue(encoding: common)),
            (HadronSubscription.descriptor, try JSONValue(encoding: common)),
            (HadronAuthGrant.descriptor, try JSONValue(encoding: common)),
        ]
        for (descriptor, status) in cases {
            let schema = try #require(schemas.schema(for: descriptor))
            let object: JSONValue = [
                "apiVersion": .string(descriptor.apiVersion), "kind": .string(descriptor.kind),
                "metadata": ["name": "x"], "spec": Self.minimalSpec(descriptor), "status": status,
            ]
            #expect(schema.unknownFields(of: object) == [], "\(descriptor)")
            #expect(schema.violations(of: schema.defaulted(object)) == [], "\(descriptor)")
        }
    }

    static func minimalSpec(_ descriptor: ResourceDescriptor) -> JSONValue {
        switch descriptor.kind {
        case "Stream": return ["cluster": "events", "partitions": 1]
        case "Subscription": return ["stream": "orders", "subscriber": ["uri": "http://billing/events"]]
        case "AuthGrant":
            return ["secretName": "token", "permissions": [["resource": "streams/orders", "verbs": ["publish"]]]]
        case "Pipeline": return ["stream": "orders"]
        default: return [:]
        }
    }
}
