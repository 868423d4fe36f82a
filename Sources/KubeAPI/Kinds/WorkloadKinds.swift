/// `apps/v1` StatefulSet: the storage tier.
public struct StatefulSet: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: StatefulSetSpec?
    public var status: WorkloadStatus?

    public init(metadata: ObjectMeta, spec: StatefulSetSpec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct StatefulSetSpec: Codable, Sendable, Equatable {
    public var replicas: Int?
    public var serviceName: String?
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec
    public var volumeClaimTemplates: [JSONValue]?
    public var podManagementPolicy: String?
    public var updateStrategy: JSONValue?
    public var persistentVolumeClaimRetentionPolicy: JSONValue?

    public init(
        replicas: Int? = nil,
        serviceName: String? = nil,
        selector: LabelSelectorSpec,
        template: PodTemplateSpec,
        volumeClaimTemplates: [JSONValue]? = nil
    ) {
        self.replicas = replicas
        self.serviceName = serviceName
        self.selector = selector
        self.template = template
        self.volumeClaimTemplates = volumeClaimTemplates
    }
}

/// `apps/v1` Deployment: the gateway tier.
public struct Deployment: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec?
    public var status: WorkloadStatus?

    public init(metadata: ObjectMeta, spec: DeploymentSpec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct DeploymentSpec: Codable, Sendable, Equatable {
    public var replicas: Int?
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec
    public var strategy: JSONValue?

    public init(replicas: Int? = nil, selector: LabelSelectorSpec, template: PodTemplateSpec) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

/// The status fields StatefulSets and Deployments share.
public struct WorkloadStatus: Codable, Sendable, Equatable {
    public var observedGeneration: Int?
    public var replicas: Int?
    public var readyReplicas: Int?
    public var availableReplicas: Int?
    public var updatedReplicas: Int?
    public var currentReplicas: Int?
    public var conditions: [JSONValue]?
}

/// `policy/v1` PodDisruptionBudget.
public struct PodDisruptionBudget: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "policy", version: "v1", plural: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true)

    public struct Spec: Codable, Sendable, Equatable {
        public var minAvailable: JSONValue?
        public var maxUnavailable: JSONValue?
        public var selector: LabelSelectorSpec?

        public init(
            minAvailable: JSONValue? = nil, maxUnavailable: JSONValue? = nil, selector: LabelSelectorSpec? = nil
        ) {
            self.minAvailable = minAvailable
            self.maxUnavailable = maxUnavailable
            self.selector = selector
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `networking.k8s.io/v1` Ingress: the gateway's optional public entry. The spec stays JSON: the
/// operator writes it whole and reads nothing back.
public struct Ingress: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "networking.k8s.io", version: "v1", plural: "ingresses", kind: "Ingress", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: JSONValue? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}
