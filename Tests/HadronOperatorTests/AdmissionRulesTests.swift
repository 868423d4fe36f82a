import HadronCore
import HadronOperator
import KubeAPI
import Testing

/// The denial's message names `field` and contains every fragment (the value and the fix).
func expectDenied(
    _ findings: AdmissionFindings, field: String, _ fragments: String...,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let matching = findings.violations.filter { $0.field == field }
    #expect(!matching.isEmpty, "no violation of \(field) in \(findings.violations)", sourceLocation: sourceLocation)
    for violation in matching {
        #expect(violation.message.contains(field), "\(violation.message)", sourceLocation: sourceLocation)
    }
    for fragment in fragments {
        #expect(
            matching.contains { $0.message.contains(fragment) }, "\"\(fragment)\" missing from \(matching)",
            sourceLocation: sourceLocation)
    }
}

func expectAllowed(_ findings: AdmissionFindings, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(findings.isAllowed, "\(findings.violations)", sourceLocation: sourceLocation)
}

@Suite struct ClusterAdmissionTests {
    func cluster(_ name: String = "events", _ configure: (inout HadronCluster.Spec) -> Void = { _ in }) -> HadronCluster
    {
        var spec = HadronCluster.Spec(storage: .init(replicas: 3, volumeSize: "10Gi"))
        configure(&spec)
        return HadronCluster(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
    }

    @Test func aPlainClusterIsAllowed() {
        expectAllowed(ClusterAdmission.validate(cluster(), old: nil))
        expectAllowed(ClusterAdmission.validate(cluster { $0.storage = nil }, old: nil))
    }

    @Test func storageNeedsAReplica() {
        let findings = ClusterAdmission.validate(cluster { $0.storage?.replicas = 0 }, old: nil)
        expectDenied(findings, field: "spec.storage.replicas", "(0)", "at least 1")
    }

    @Test func namesMustFitTheDerivedNames() {
        expectDenied(
            ClusterAdmission.validate(cluster("9events"), old: nil), field: "metadata.name", "starting with a letter")
        let long = String(repeating: "a", count: 45)
        expectDenied(
            ClusterAdmission.validate(cluster(long), old: nil), field: "metadata.name", "45 characters", "at most 44")
        expectAllowed(ClusterAdmission.validate(cluster(String(repeating: "a", count: 44)), old: nil))
    }

    @Test func volumeSizeMustBeAQuantity() {
        expectDenied(
            ClusterAdmission.validate(cluster { $0.storage?.volumeSize = "ten gigs" }, old: nil),
            field: "spec.storage.volumeSize", "10Gi")
    }

    @Test func ingressHostIsADNSName() {
        func withHost(_ host: String) -> HadronCluster {
            var value = cluster()
            value.spec = try! JSONValue(
                encoding: ["gateway": ["ingress": ["host": host]]] as [String: [String: [String: String]]]
            ).decode(HadronCluster.Spec.self)
            return value
        }
        expectAllowed(ClusterAdmission.validate(withHost("events.example.com"), old: nil))
        expectAllowed(ClusterAdmission.validate(withHost("*.example.com"), old: nil))
        expectDenied(
            ClusterAdmission.validate(withHost("Events_Example.com"), old: nil), field: "spec.gateway.ingress.host",
            "events.example.com")
        expectDenied(
            ClusterAdmission.validate(withHost("10.0.0.1"), old: nil), field: "spec.gateway.ingress.host",
            "IP address")
    }

    @Test func volumeClaimFieldsAreImmutable() {
        let old = cluster()
        expectAllowed(ClusterAdmission.validate(cluster { $0.storage?.replicas = 5 }, old: old))
        expectDenied(
            ClusterAdmission.validate(cluster { $0.storage?.volumeSize = "20Gi" }, old: old),
            field: "spec.storage.volumeSize", "10Gi → 20Gi", "PersistentVolumeClaim", "data-events-storage-N")
        expectDenied(
            ClusterAdmission.validate(cluster { $0.storage?.storageClassName = "fast" }, old: old),
            field: "spec.storage.storageClassName", "(default) → fast")
        // An absent size is the default size: spelling the default out is no change.
        expectAllowed(ClusterAdmission.validate(cluster(), old: cluster { $0.storage?.volumeSize = nil }))
    }
}

@Suite struct StreamAdmissionTests {
    static let threeNodes = ClusterLookup.found(
        HadronCluster(metadata: ObjectMeta(name: "events"), spec: .init(storage: .init(replicas: 3))))

    func stream(
        _ name: String = "orders", partitions: Int? = 6, replicationFactor: Int? = 3, minInSyncReplicas: Int? = 2,
        cluster: String? = "events", _ configure: (inout HadronStream.Spec) -> Void = { _ in }
    ) -> HadronStream {
        var spec = HadronStream.Spec(
            cluster: cluster, partitions: partitions, replicationFactor: replicationFactor,
            minInSyncReplicas: minInSyncReplicas)
        configure(&spec)
        return HadronStream(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
    }

    func validate(_ stream: HadronStream, old: HadronStream? = nil, cluster: ClusterLookup = threeNodes)
        -> AdmissionFindings
    {
        StreamAdmission.validate(stream, old: old, cluster: cluster)
    }

    @Test func aWellFormedStreamIsAllowed() {
        let findings = validate(stream { $0.retention = .init(maxAge: "168h", maxBytes: "10Gi") })
        expectAllowed(findings)
        #expect(findings.warnings.isEmpty)
        expectAllowed(validate(stream("orders.eu.created")))
    }

    @Test func minInSyncReplicasMustNotExceedTheReplicationFactor() {
        expectDenied(
            validate(stream(replicationFactor: 2, minInSyncReplicas: 3)), field: "spec.minInSyncReplicas",
            "spec.minInSyncReplicas (3) must not exceed spec.replicationFactor (2): lower minInSyncReplicas or raise "
                + "replicationFactor")
        expectDenied(validate(stream(minInSyncReplicas: 0)), field: "spec.minInSyncReplicas", "at least 1")
    }

    @Test func partitionsAndReplicationFactorAreAtLeastOne() {
        expectDenied(validate(stream(partitions: 0)), field: "spec.partitions", "(0)", "at least 1")
        expectDenied(validate(stream(partitions: nil)), field: "spec.partitions", "required")
        expectDenied(validate(stream(replicationFactor: 0)), field: "spec.replicationFactor", "at least 1")
    }

    @Test func replicationFactorFitsTheClustersStorage() {
        expectDenied(
            validate(stream(replicationFactor: 4, minInSyncReplicas: 2)), field: "spec.replicationFactor",
            "(4)", "HadronCluster \"events\" (3)", "lower replicationFactor or raise spec.storage.replicas")
        let defaulted = ClusterLookup.found(HadronCluster(metadata: ObjectMeta(name: "events")))
        expectAllowed(validate(stream(replicationFactor: 3), cluster: defaulted))
    }

    @Test func aMissingClusterIsAllowedWithAWarning() {
        let findings = validate(stream(replicationFactor: 5), cluster: .notFound)
        expectAllowed(findings)
        #expect(findings.warnings.contains { $0.contains("HadronCluster \"events\" does not exist yet") })
        let unreachable = validate(stream(), cluster: .unavailable("timed out"))
        expectAllowed(unreachable)
        #expect(unreachable.warnings.contains { $0.contains("timed out") })
    }

    @Test func theClusterIsRequiredAndFixed() {
        expectDenied(validate(stream(cluster: nil)), field: "spec.cluster", "required")
        expectDenied(validate(stream(cluster: "Events")), field: "spec.cluster", "not a valid cluster name")
        expectDenied(
            validate(stream(cluster: "other"), old: stream()), field: "spec.cluster", "immutable", "events → other",
            "create a new Stream")
    }

    @Test func partitionsNeverShrink() {
        let old = stream(partitions: 6)
        expectAllowed(validate(stream(partitions: 8), old: old))
        expectDenied(
            validate(stream(partitions: 4), old: old), field: "spec.partitions", "6 → 4", "at least 6")
        // The status counts too: partitions the reconciler already made exist whatever the old spec says.
        var placed = stream(partitions: 2)
        placed.status = .init(partitions: (0..<8).map { HadronStream.PartitionStatus(partition: $0) })
        expectDenied(validate(stream(partitions: 6), old: placed), field: "spec.partitions", "8 → 6", "at least 8")
    }

    @Test func replicationFactorIsImmutable() {
        expectDenied(
            validate(stream(replicationFactor: 2), old: stream(replicationFactor: 3)), field: "spec.replicationFactor",
            "immutable", "3 → 2", "never reassigned")
        expectAllowed(validate(stream(minInSyncReplicas: 3), old: stream(minInSyncReplicas: 2)))
    }

    @Test func namesAreDottedDNSSegmentsAndMakeValidServiceNames() {
        expectDenied(validate(stream("Orders")), field: "metadata.name", "orders.eu")
        expectDenied(validate(stream("orders..eu")), field: "metadata.name", "empty segment")
        let long = String(repeating: "o", count: 60)
        expectDenied(
            validate(stream(long, partitions: 12)), field: "metadata.name", "events-\(long)-11",
            "shorten the stream name to at most 53 characters")
        expectAllowed(validate(stream(String(repeating: "o", count: 53), partitions: 12)))
    }

    @Test func retentionParses() {
        expectDenied(
            validate(stream { $0.retention = .init(maxAge: "7d") }), field: "spec.retention.maxAge", "\"7d\"",
            "h, m, s or ms")
        expectDenied(
            validate(stream { $0.retention = .init(maxBytes: "10GB") }), field: "spec.retention.maxBytes", "10Gi")
        expectDenied(validate(stream { $0.fsync = "sometimes" }), field: "spec.fsync", "always")
    }

    @Test func selectorsFollowLabelSyntax() {
        expectAllowed(
            validate(
                stream {
                    $0.selector = LabelSelectorSpec(
                        matchLabels: ["topology.kubernetes.io/zone": "eu-1a"],
                        matchExpressions: [
                            .init(key: "disk", operator: "In", values: ["ssd", "nvme"]),
                            .init(key: "hadron.dev/excluded", operator: "DoesNotExist"),
                        ])
                }))
        expectDenied(
            validate(stream { $0.selector = LabelSelectorSpec(matchLabels: ["zone!": "a"]) }),
            field: "spec.selector.matchLabels[zone!]", "not a label key")
        expectDenied(
            validate(stream { $0.selector = LabelSelectorSpec(matchLabels: ["zone": "-a"]) }),
            field: "spec.selector.matchLabels[zone]", "begin and end with a letter or digit")
        expectDenied(
            validate(
                stream { $0.selector = LabelSelectorSpec(matchExpressions: [.init(key: "disk", operator: "In")]) }),
            field: "spec.selector.matchExpressions[0].values", "must not be empty for operator In")
        expectDenied(
            validate(
                stream {
                    $0.selector = LabelSelectorSpec(matchExpressions: [
                        .init(key: "disk", operator: "Exists", values: ["x"])
                    ])
                }), field: "spec.selector.matchExpressions[0].values", "must be empty for operator Exists")
        expectDenied(
            validate(
                stream {
                    $0.selector = LabelSelectorSpec(matchExpressions: [
                        .init(key: "disk", operator: "Gt", values: ["1"])
                    ])
                }), field: "spec.selector.matchExpressions[0].operator", "In, NotIn, Exists, DoesNotExist")
    }

    @Test func everyViolationIsReportedAtOnce() {
        let findings = validate(stream(partitions: 0, replicationFactor: 2, minInSyncReplicas: 3, cluster: nil))
        #expect(Set(findings.violations.map(\.field)) == ["spec.cluster", "spec.partitions", "spec.minInSyncReplicas"])
        #expect(findings.message.split(separator: ";").count == 3)
    }
}

@Suite struct SubscriptionAdmissionTests {
    func subscription(
        filters: [JSONValue]? = nil, uri: String = "http://billing.default.svc/events",
        delivery: JSONValue? = nil, stream: String = "orders"
    ) throws -> HadronSubscription {
        var spec: JSONValue = ["stream": .string(stream), "subscriber": ["uri": .string(uri)]]
        if let filters { spec["filters"] = .array(filters) }
        if let delivery { spec["delivery"] = delivery }
        return HadronSubscription(
            metadata: ObjectMeta(name: "billing", namespace: "default"),
            spec: try spec.decode(HadronSubscription.Spec.self))
    }

    @Test func theDesignsExampleIsAllowed() throws {
        let findings = SubscriptionAdmission.validate(
            try subscription(
                filters: [
                    ["exact": ["type": "com.example.order.created"]], ["prefix": ["source": "/shop"]],
                    ["any": [["suffix": ["subject": ".pdf"]], ["not": ["exact": ["type": "x"]]]]],
                    ["all": [["exact": ["type": "a"]]]],
                ],
                delivery: [
                    "ordering": "ordered", "retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.2S",
                    "timeout": "PT30S", "deadLetterSink": ["uri": "https://dlq.example.com/x"],
                ]), old: nil)
        expectAllowed(findings)
    }

    @Test func aFilterHasExactlyOneDialect() throws {
        expectDenied(
            SubscriptionAdmission.validate(
                try subscription(filters: [["exact": ["type": "a"], "prefix": ["source": "/"]]]), old: nil),
            field: "spec.filters[0]", "exact and prefix", "exactly one dialect", "split it")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(filters: [[:]]), old: nil), field: "spec.filters[0]",
            "exactly one of exact, prefix, suffix, all, any, not")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(filters: [["sql": "type = 'a'"]]), old: nil),
            field: "spec.filters[0]", "CESQL")
    }

    @Test func attributeMatchesNameOneValidAttribute() throws {
        expectDenied(
            SubscriptionAdmission.validate(
                try subscription(filters: [["exact": ["type": "a", "source": "b"]]]), old: nil),
            field: "spec.filters[0].exact", "2 attributes", "one filter per attribute")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(filters: [["prefix": ["Source": "/a"]]]), old: nil),
            field: "spec.filters[0].prefix", "\"Source\"", "lower-case letters")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(filters: [["prefix": ["source": ""]]]), old: nil),
            field: "spec.filters[0].prefix", "matches every event")
    }

    @Test func nestedFiltersAreCheckedWithTheirPath() throws {
        expectDenied(
            SubscriptionAdmission.validate(
                try subscription(filters: [["any": [["exact": ["type": "a"]], ["not": ["exact": ["ty-pe": "b"]]]]]]),
                old: nil),
            field: "spec.filters[0].any[1].not.exact", "\"ty-pe\"")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(filters: [["all": []]]), old: nil),
            field: "spec.filters[0].all", "at least one filter")
    }

    @Test func subscriberIsAnAbsoluteHTTPURI() throws {
        expectDenied(
            SubscriptionAdmission.validate(try subscription(uri: "billing/events"), old: nil),
            field: "spec.subscriber.uri", "http://")
        expectDenied(
            SubscriptionAdmission.validate(try subscription(uri: "ftp://billing/events"), old: nil),
            field: "spec.subscriber.uri", "\"ftp\"")
    }

    @Test func deliverySettingsAreChecked() throws {
        let findings = SubscriptionAdmission.validate(
            try subscription(delivery: [
                "retry": -1, "backoffPolicy": "random", "backoffDelay": "200ms", "timeout": "PT0S",
                "deadLetterSink": ["uri": "dlq"], "ordering": "fifo",
            ]), old: nil)
        expectDenied(findings, field: "spec.delivery.retry", "(-1)", "set 0 for no retries")
        expectDenied(findings, field: "spec.delivery.backoffPolicy", "linear or exponential")
        expectDenied(findings, field: "spec.delivery.backoffDelay", "\"200ms\"", "PT0.2S")
        expectDenied(findings, field: "spec.delivery.timeout", "longer than zero")
        expectDenied(findings, field: "spec.delivery.deadLetterSink.uri", "http://")
        expectDenied(findings, field: "spec.delivery.ordering", "ordered or unordered")
    }

    @Test func theStreamIsFixed() throws {
        expectDenied(
            SubscriptionAdmission.validate(try subscription(stream: "payments"), old: try subscription()),
            field: "spec.stream", "orders → payments", "create a new Subscription")
    }
}

@Suite struct ExchangeEndpointPipelineGrantAdmissionTests {
    @Test func exchangeTopicsUseWholeSegmentWildcards() {
        func exchange(_ topic: String, uri: String = "http://fanout.default.svc/") -> HadronExchange {
            HadronExchange(
                metadata: ObjectMeta(name: "audit"),
                spec: .init(cluster: "events", sinks: [.init(topic: topic, uri: uri)]))
        }
        expectAllowed(ExchangeAdmission.validate(exchange("com.example.>"), old: nil))
        expectAllowed(ExchangeAdmission.validate(exchange("com.*.created"), old: nil))
        expectDenied(
            ExchangeAdmission.validate(exchange("com.>.created"), old: nil), field: "spec.sinks[0].topic",
            "may only be the last segment")
        expectDenied(
            ExchangeAdmission.validate(exchange("com.ex*"), old: nil), field: "spec.sinks[0].topic",
            "whole segment")
        expectDenied(
            ExchangeAdmission.validate(exchange("com.>", uri: "mailto:a@b"), old: nil), field: "spec.sinks[0].uri",
            "\"mailto\"")
        expectDenied(
            ExchangeAdmission.validate(
                HadronExchange(metadata: ObjectMeta(name: "audit"), spec: .init(cluster: "other")),
                old: exchange("a")), field: "spec.cluster", "immutable")
    }

    @Test func endpointTimeoutAndBackend() {
        func endpoint(_ timeout: String?, backend: String? = "http://billing.default.svc/rpc") -> HadronEndpoint {
            HadronEndpoint(
                metadata: ObjectMeta(name: "billing"),
                spec: .init(cluster: "events", timeout: timeout, backend: backend.map { Destination(uri: $0) }))
        }
        expectAllowed(EndpointAdmission.validate(endpoint("PT30S"), old: nil))
        expectAllowed(EndpointAdmission.validate(endpoint(nil, backend: nil), old: nil))
        expectDenied(EndpointAdmission.validate(endpoint("30s"), old: nil), field: "spec.timeout", "PT30S")
        expectDenied(EndpointAdmission.validate(endpoint("P1M"), old: nil), field: "spec.timeout", "days")
        expectDenied(
            EndpointAdmission.validate(endpoint("PT1S", backend: "http://"), old: nil), field: "spec.backend.uri",
            "no host")
    }

    @Test func pipelineStagesFormADAG() {
        func pipeline(_ stages: [HadronPipeline.Stage], triggers: [String] = ["com.example.order.>"]) -> HadronPipeline
        {
            HadronPipeline(
                metadata: ObjectMeta(name: "fulfilment"),
                spec: .init(stream: "orders", triggers: triggers, stages: stages))
        }
        expectAllowed(
            PipelineAdmission.validate(
                pipeline([.init(name: "charge"), .init(name: "ship", dependencies: ["charge"])]), old: nil))
        expectDenied(
            PipelineAdmission.validate(pipeline([.init(name: "charge"), .init(name: "charge")]), old: nil),
            field: "spec.stages[1].name", "unique")
        expectDenied(
            PipelineAdmission.validate(pipeline([.init(name: "ship", dependencies: ["charge"])]), old: nil),
            field: "spec.stages[0].dependencies", "\"charge\", which is not a stage")
        expectDenied(
            PipelineAdmission.validate(
                pipeline([
                    .init(name: "a", dependencies: ["c"]), .init(name: "b", dependencies: ["a"]),
                    .init(name: "c", dependencies: ["b"]),
                ]), old: nil), field: "spec.stages", "cycle (a → c → b → a)", "remove one of the dependencies")
        expectDenied(
            PipelineAdmission.validate(pipeline([.init(name: "a", dependencies: ["a"])]), old: nil),
            field: "spec.stages[0].dependencies", "depends on itself")
        expectDenied(
            PipelineAdmission.validate(pipeline([.init(name: "a")], triggers: ["com.>.x"]), old: nil),
            field: "spec.triggers[0]", "last segment")
    }

    @Test func grantsNameKindsVerbsAndSecrets() {
        func grant(_ permissions: [HadronAuthGrant.Permission], secret: String = "orders-writer") -> HadronAuthGrant {
            HadronAuthGrant(
                metadata: ObjectMeta(name: "orders-writer"),
                spec: .init(cluster: "events", secretName: secret, permissions: permissions))
        }
        expectAllowed(
            AuthGrantAdmission.validate(
                grant([
                    .init(resource: "streams/orders.*", verbs: ["publish", "subscribe"]),
                    .init(resource: "endpoints/billing.>", verbs: ["invoke"]),
                ]), old: nil))
        expectDenied(
            AuthGrantAdmission.validate(grant([.init(resource: "streams/orders.*", verbs: ["invoke"])]), old: nil),
            field: "spec.permissions[0].verbs", "\"invoke\" does not apply to streams", "publish or subscribe")
        expectDenied(
            AuthGrantAdmission.validate(grant([.init(resource: "topics/orders", verbs: ["publish"])]), old: nil),
            field: "spec.permissions[0].resource", "streams, exchanges, endpoints")
        expectDenied(
            AuthGrantAdmission.validate(grant([.init(resource: "orders", verbs: ["publish"])]), old: nil),
            field: "spec.permissions[0].resource", "KIND/PATTERN")
        expectDenied(
            AuthGrantAdmission.validate(grant([.init(resource: "streams/a.>.b", verbs: ["publish"])]), old: nil),
            field: "spec.permissions[0].resource", "last segment")
        expectDenied(
            AuthGrantAdmission.validate(
                grant([.init(resource: "streams/a", verbs: ["publish"])], secret: "Orders_Writer"), old: nil),
            field: "spec.secretName", "DNS-1123")
        expectDenied(AuthGrantAdmission.validate(grant([]), old: nil), field: "spec.permissions", "at least one")
    }
}

@Suite struct ISO8601DurationTests {
    @Test(arguments: [
        ("PT30S", Duration.seconds(30)), ("PT0.2S", .milliseconds(200)), ("PT5M", .seconds(300)),
        ("P1DT12H", .seconds(36 * 3600)), ("P2W", .seconds(14 * 86_400)), ("PT1H30M", .seconds(5400)),
        ("PT0,5S", .milliseconds(500)),
    ])
    func parses(_ text: String, _ expected: Duration) throws {
        #expect(try ISO8601Duration.parse(text, field: "f") == expected)
    }

    @Test(arguments: ["", "P", "PT", "30S", "PT30", "P1Y", "P1M", "PT1H2H", "PT5S1M", "PT0.5M", "P1H", "PTS"])
    func refuses(_ text: String) {
        #expect(throws: ResourceError.self) { try ISO8601Duration.parse(text, field: "f") }
    }
}
