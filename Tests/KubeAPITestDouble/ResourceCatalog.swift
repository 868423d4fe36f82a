import KubeAPI

/// What the double knows of each resource, with the per-kind rules of the real API server's
/// registry strategies that Hadron's requests run into.
struct ResourceRule: Sendable {
    var descriptor: ResourceDescriptor
    /// Has a `/status` subresource: the main resource ignores `status`, `/status` ignores the rest.
    var hasStatus: Bool
    /// A PUT without `metadata.resourceVersion` is allowed (false for Leases and custom resources).
    var allowsUnconditionalUpdate: Bool
    /// Custom resources keep `apiVersion`/`kind` on list items; built-in kinds do not.
    var isCustom: Bool
    /// `metadata.generation` is maintained (bumped when anything but metadata and status changes).
    var tracksGeneration: Bool
    /// Lists whose items are keyed by a field (`+listType=map`), tracked item by item.
    var keyedLists: [FieldPath: String] = [:]
}

enum ResourceCatalog {
    static let rules: [ResourceRule] = {
        func builtIn(_ descriptor: ResourceDescriptor, status: Bool = false, generation: Bool = false) -> ResourceRule {
            ResourceRule(
                descriptor: descriptor, hasStatus: status, allowsUnconditionalUpdate: true, isCustom: false,
                tracksGeneration: generation)
        }
        func custom(_ descriptor: ResourceDescriptor) -> ResourceRule {
            ResourceRule(
                descriptor: descriptor, hasStatus: true, allowsUnconditionalUpdate: false, isCustom: true,
                tracksGeneration: true)
        }
        var lease = builtIn(Lease.descriptor)
        lease.allowsUnconditionalUpdate = false
        return [
            lease,
            builtIn(Pod.descriptor, status: true),
            builtIn(KubeService.descriptor, status: true),
            builtIn(StatefulSet.descriptor, status: true, generation: true),
            builtIn(Deployment.descriptor, status: true, generation: true),
            builtIn(Secret.descriptor),
            builtIn(ConfigMap.descriptor),
            builtIn(PodDisruptionBudget.descriptor, status: true, generation: true),
            builtIn(ServiceAccount.descriptor),
            builtIn(Ingress.descriptor, status: true, generation: true),
            builtIn(Role.descriptor),
            builtIn(RoleBinding.descriptor),
            {
                var rule = builtIn(ValidatingWebhookConfiguration.descriptor, generation: true)
                rule.keyedLists = [["webhooks"]: "name"]
                return rule
            }(),
            // Kinds a Helm chart renders besides those Hadron's code touches.
            builtIn(
                ResourceDescriptor(
                    group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false), status: true),
            builtIn(
                ResourceDescriptor(
                    group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", kind: "ClusterRole",
                    namespaced: false)),
            builtIn(
                ResourceDescriptor(
                    group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings",
                    kind: "ClusterRoleBinding", namespaced: false)),
            builtIn(CustomResourceDefinition.descriptor, status: true, generation: true),
            custom(HadronCluster.descriptor),
            custom(HadronStream.descriptor),
            custom(HadronSubscription.descriptor),
            custom(HadronExchange.descriptor),
            custom(HadronEndpoint.descriptor),
            custom(HadronPipeline.descriptor),
            custom(HadronAuthGrant.descriptor),
            // cert-manager's kinds, as on a cluster where it is installed (the chart's cert-manager mode).
            custom(
                ResourceDescriptor(
                    group: "cert-manager.io", version: "v1", plural: "issuers", kind: "Issuer", namespaced: true)),
            custom(
                ResourceDescriptor(
                    group: "cert-manager.io", version: "v1", plural: "certificates", kind: "Certificate",
                    namespaced: true)),
        ]
    }()

    static func rule(group: String, version: String, plural: String) -> ResourceRule? {
        rules.first {
            $0.descriptor.group == group && $0.descriptor.version == version && $0.descriptor.plural == plural
        }
    }
}
