import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Testing

/// The operator as the chart deploys it: replicas, security, flags, and RBAC that covers what the
/// operator's code does (derived from operator/Reconcile, cross-checked against ClusterBlueprint).
@Suite struct OperatorManifestTests {
    static func object(_ objects: [JSONValue], kind: String, name: String? = nil) throws -> JSONValue {
        try #require(
            objects.first {
                $0["kind"]?.stringValue == kind && (name == nil || $0[path: ["metadata", "name"]]?.stringValue == name)
            }, "no \(kind) \(name ?? "")")
    }

    static func container(_ deployment: JSONValue) throws -> JSONValue {
        try #require(deployment[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first)
    }

    static func args(_ deployment: JSONValue) throws -> [String] {
        try container(deployment)["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    @Test func deploymentRunsTwoNonRootReplicasWithLeaderElectionAndWebhookFlags() async throws {
        let rendered = try await HelmTemplate.shared.render()
        let deployment = try Self.object(rendered.objects, kind: "Deployment")
        #expect(deployment[path: ["metadata", "name"]] == "hadron-operator")
        #expect(deployment[path: ["metadata", "namespace"]] == "hadron-system")
        #expect(deployment[path: ["spec", "replicas"]] == 2)
        let pod = try #require(deployment[path: ["spec", "template", "spec"]])
        #expect(pod[path: ["securityContext", "runAsNonRoot"]] == .bool(true))
        #expect((pod[path: ["securityContext", "runAsUser"]]?.intValue ?? 0) > 0)
        let container = try Self.container(deployment)
        #expect(container["image"] == "ghcr.io/hadron-dev/hadron:0.1.0")
        #expect(container[path: ["securityContext", "allowPrivilegeEscalation"]] == .bool(false))
        #expect(container[path: ["securityContext", "readOnlyRootFilesystem"]] == .bool(true))
        #expect(container[path: ["readinessProbe", "httpGet", "path"]] == "/healthz")

        let args = try Self.args(deployment)
        #expect(args.first == "operator")
        for flag in [
            "--listen=0.0.0.0:8081", "--namespace=hadron-system", "--lease-name=hadron-operator", "--lease-duration=15",
            "--renew-deadline=10", "--retry-period=2", "--default-image=ghcr.io/hadron-dev/hadron:0.1.0",
            "--webhook-listen=0.0.0.0:9443", "--webhook-service=hadron-operator",
            "--webhook-configuration=hadron-operator", "--webhook-secret=hadron-operator-webhook-cert",
            "--operator-url=http://hadron-operator.hadron-system.svc:8081",
        ] {
            #expect(args.contains(flag), "missing \(flag) in \(args)")
        }
        #expect(!args.contains { $0.hasPrefix("--webhook-cert-dir") }, "the operator makes its own certificate")
        #expect(!args.contains { $0.hasPrefix("--watch-namespace") })
        // The Lease identity: --identity defaults to $POD_NAME.
        let env = container["env"]?.arrayValue ?? []
        #expect(
            env.contains {
                $0["name"] == "POD_NAME" && $0[path: ["valueFrom", "fieldRef", "fieldPath"]] == "metadata.name"
            })

        // The webhook's Service and configuration agree with the flags.
        let service = try Self.object(rendered.objects, kind: "Service", name: "hadron-operator")
        let ports = service[path: ["spec", "ports"]]?.arrayValue ?? []
        #expect(ports.contains { $0["port"] == 443 && $0["targetPort"] == "webhook" })
        #expect(
            container["ports"]?.arrayValue?.contains { $0["name"] == "webhook" && $0["containerPort"] == 9443 } == true)
        let webhook = try Self.object(rendered.objects, kind: "ValidatingWebhookConfiguration", name: "hadron-operator")
        let hook = try #require(webhook["webhooks"]?.arrayValue?.first)
        #expect(hook[path: ["clientConfig", "service", "name"]] == "hadron-operator")
        #expect(hook[path: ["clientConfig", "service", "namespace"]] == "hadron-system")
        #expect(hook[path: ["clientConfig", "service", "path"]] == "/validate")
        #expect(hook[path: ["clientConfig", "caBundle"]] == nil, "the operator patches it in")
        #expect(hook["admissionReviewVersions"] == ["v1"])
        #expect(hook["sideEffects"] == "None")
        let resources = Set(hook["rules"]?.arrayValue?.first?["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(resources == Self.hadronPlurals)
        #expect(webhook[path: ["metadata", "annotations", "cert-manager.io/inject-ca-from"]] == nil)
        let budget = try Self.object(rendered.objects, kind: "PodDisruptionBudget")
        #expect(budget[path: ["spec", "minAvailable"]] == 1)
    }

    @Test func certManagerModeMountsTheIssuedCertificate() async throws {
        let rendered = try await HelmTemplate.shared.render(values: "certManager: {enabled: true}\n")
        let deployment = try Self.object(rendered.objects, kind: "Deployment")
        let args = try Self.args(deployment)
        #expect(args.contains("--webhook-cert-dir=/etc/hadron/webhook"))
        let mounts = try Self.container(deployment)["volumeMounts"]?.arrayValue ?? []
        #expect(mounts.contains { $0["mountPath"] == "/etc/hadron/webhook" && $0["name"] == "webhook-cert" })
        let volumes = deployment[path: ["spec", "template", "spec", "volumes"]]?.arrayValue ?? []
        #expect(volumes.contains { $0[path: ["secret", "secretName"]] == "hadron-operator-webhook-cert" })
        let certificate = try Self.object(rendered.objects, kind: "Certificate")
        #expect(certificate[path: ["spec", "secretName"]] == "hadron-operator-webhook-cert")
        #expect(
            certificate[path: ["spec", "dnsNames"]]?.arrayValue?.contains("hadron-operator.hadron-system.svc") == true)
        let issuer = try Self.object(rendered.objects, kind: "Issuer")
        #expect(certificate[path: ["spec", "issuerRef", "name"]] == issuer[path: ["metadata", "name"]])
        let webhook = try Self.object(rendered.objects, kind: "ValidatingWebhookConfiguration")
        #expect(
            webhook[path: ["metadata", "annotations", "cert-manager.io/inject-ca-from"]]
                == .string("hadron-system/\(certificate[path: ["metadata", "name"]]?.stringValue ?? "")"))
        // cert-manager owns the certificate: the operator needs no Secret or webhook-configuration rights.
        let rules = rendered.objects.filter { ["Role", "ClusterRole"].contains($0["kind"]?.stringValue) }
            .flatMap { $0["rules"]?.arrayValue ?? [] }
        #expect(!rules.contains { ($0["resources"]?.arrayValue ?? []).contains("secrets") })
        #expect(!rules.contains { ($0["resources"]?.arrayValue ?? []).contains("validatingwebhookconfigurations") })
    }

    static let hadronPlurals: Set<String> = [
        "hadronclusters", "streams", "subscriptions", "exchanges", "endpoints", "pipelines", "authgrants",
    ]

    /// RBAC rules, evaluated as the authorizer does (group, resource, verb, name).
    struct Permissions {
        let rules: [JSONValue]

        func allows(group: String, resource: String, verb: String, name: String? = nil) -> Bool {
            rules.contains { rule in
                let groups = rule["apiGroups"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let resources = rule["resources"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let verbs = rule["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let names = rule["resourceNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
                return (groups.contains(group) || groups.contains("*"))
                    && (resources.contains(resource) || resources.contains("*"))
                    && (verbs.contains(verb) || verbs.contains("*"))
                    && (names.isEmpty || (name.map { names.contains($0) } ?? false))
            }
        }
    }

    /// The rules of the role a binding in `objects` grants the operator's ServiceAccount, by kind of binding.
    static func permissions(_ objects: [JSONValue], bindingKind: String, namespace: String? = nil) throws -> Permissions
    {
        let bindings = objects.filter {
            $0["kind"]?.stringValue == bindingKind
                && (namespace == nil || $0[path: ["metadata", "namespace"]]?.stringValue == namespace)
                && ($0["subjects"]?.arrayValue ?? []).contains {
                    $0["kind"] == "ServiceAccount" && $0["name"] == "hadron-operator"
                        && $0["namespace"] == "hadron-system"
                }
        }
        var rules: [JSONValue] = []
        for binding in bindings {
            let roleKind = binding[path: ["roleRef", "kind"]]?.stringValue
            let roleName = binding[path: ["roleRef", "name"]]?.stringValue
            let role = try #require(
                objects.first {
                    $0["kind"]?.stringValue == roleKind && $0[path: ["metadata", "name"]]?.stringValue == roleName
                        && (roleKind == "ClusterRole"
                            || $0[path: ["metadata", "namespace"]] == binding[path: ["metadata", "namespace"]])
                }, "binding \(roleName ?? "") names no rendered role")
            rules += role["rules"]?.arrayValue ?? []
        }
        return Permissions(rules: rules)
    }

    /// Everything the reconcilers do must be allowed: SSA (patch, and create for a new object), get
    /// and watch of every kind ClusterBlueprint declares and of partition Services; status of
    /// HadronClusters and Streams; storage pods; and the Roles it creates may grant only what the
    /// operator holds itself (RBAC's escalation check), so those rules must be covered too.
    @Test(arguments: ["", "operator: {watchNamespace: shop}\n"])
    func rbacCoversWhatTheOperatorDoes(_ values: String) async throws {
        let rendered = try await HelmTemplate.shared.render(values: values)
        let watchesOneNamespace = !values.isEmpty
        let reconcile = try Self.permissions(
            rendered.objects, bindingKind: watchesOneNamespace ? "RoleBinding" : "ClusterRoleBinding",
            namespace: watchesOneNamespace ? "shop" : nil)
        if watchesOneNamespace {
            #expect(
                !rendered.objects.contains {
                    $0["kind"] == "ClusterRole" && $0[path: ["metadata", "name"]] == "hadron-operator"
                })
        }

        var metadata = ObjectMeta(name: "events", namespace: "shop")
        metadata.uid = "0b1c"
        var cluster = HadronCluster(metadata: metadata, spec: .init(image: "ghcr.io/hadron-dev/hadron:0.1.0"))
        cluster.spec?.gateway = .init(replicas: 2)
        let ingress: JSONValue = ["host": "events.example.com", "tlsSecret": "tls"]
        cluster.spec?.gateway?.ingress = try ingress.decode(HadronCluster.Spec.Gateway.Ingress.self)
        let blueprint = ClusterBlueprint(cluster: cluster, defaultImage: nil, existingVolume: nil)
        let objects = try blueprint.objects()
        let declaredKinds = Set(objects.map(\.descriptor.kind))
        #expect(
            declaredKinds == [
                "ServiceAccount", "Role", "RoleBinding", "Service", "PodDisruptionBudget", "StatefulSet", "Deployment",
                "Ingress",
            ])
        // Partition Services are Services too; the informers watch every kind the operator applies.
        for descriptor in Set(objects.map(\.descriptor)) {
            for verb in ["get", "list", "watch", "create", "patch"] {
                #expect(
                    reconcile.allows(group: descriptor.group, resource: descriptor.plural, verb: verb),
                    "\(verb) \(descriptor.qualifiedName)")
            }
        }
        for descriptor in [HadronCluster.descriptor, HadronStream.descriptor] {
            for verb in ["get", "list", "watch"] {
                #expect(reconcile.allows(group: "hadron.dev", resource: descriptor.plural, verb: verb))
            }
            #expect(reconcile.allows(group: "hadron.dev", resource: "\(descriptor.plural)/status", verb: "patch"))
        }
        for verb in ["get", "list", "watch"] { #expect(reconcile.allows(group: "", resource: "pods", verb: verb)) }
        // Never more than that: the operator deletes nothing (garbage collection follows ownerReferences).
        for plural in ["statefulsets", "deployments", "services", "roles", "rolebindings"] {
            let group =
                ["statefulsets", "deployments"].contains(plural)
                ? "apps" : plural.hasPrefix("role") ? "rbac.authorization.k8s.io" : ""
            #expect(!reconcile.allows(group: group, resource: plural, verb: "delete"))
            #expect(!reconcile.allows(group: group, resource: plural, verb: "escalate"))
        }
        #expect(!reconcile.allows(group: "rbac.authorization.k8s.io", resource: "roles", verb: "bind"))
        #expect(!reconcile.allows(group: "", resource: "secrets", verb: "get"))

        // Escalation check: every rule of every Role the operator creates is a permission it holds.
        for object in objects where object.descriptor.kind == "Role" {
            for rule in object.body["rules"]?.arrayValue ?? [] {
                for group in rule["apiGroups"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    for resource in rule["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                        for verb in rule["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                            let names = rule["resourceNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
                            for name in names.isEmpty ? [nil] : names.map(Optional.some) {
                                #expect(
                                    reconcile.allows(group: group, resource: resource, verb: verb, name: name),
                                    "Role \(object.name) grants \(verb) \(resource) the operator lacks")
                            }
                        }
                    }
                }
            }
        }

        // Its own namespace: the Lease (create; get/update of its own only) and the webhook certificate.
        let own = try Self.permissions(rendered.objects, bindingKind: "RoleBinding", namespace: "hadron-system")
        #expect(own.allows(group: "coordination.k8s.io", resource: "leases", verb: "create"))
        for verb in ["get", "update"] {
            #expect(own.allows(group: "coordination.k8s.io", resource: "leases", verb: verb, name: "hadron-operator"))
            #expect(!own.allows(group: "coordination.k8s.io", resource: "leases", verb: verb, name: "someone-else"))
            #expect(own.allows(group: "", resource: "secrets", verb: verb, name: "hadron-operator-webhook-cert"))
            #expect(!own.allows(group: "", resource: "secrets", verb: verb, name: "other-secret"))
        }
        #expect(own.allows(group: "", resource: "secrets", verb: "create"))
        #expect(!own.allows(group: "", resource: "secrets", verb: "list"))
        // Its webhook configuration, by name only.
        let webhook = try Self.permissions(rendered.objects, bindingKind: "ClusterRoleBinding")
        for verb in ["get", "patch"] {
            #expect(
                webhook.allows(
                    group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", verb: verb,
                    name: "hadron-operator"))
            #expect(
                !webhook.allows(
                    group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", verb: verb,
                    name: "another-webhook"))
        }
    }
}
