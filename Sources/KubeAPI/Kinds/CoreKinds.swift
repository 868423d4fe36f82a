// Core-group (`v1`) kinds the operator creates or reads. Subtrees Hadron passes through without
// interpreting (probes, affinity, security contexts) stay `JSONValue` so nothing is lost or invented.

/// `v1` ConfigMap.
public struct ConfigMap: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.data = data
    }
}

/// `v1` Secret; `data` values are base64, `stringData` is write-only plain text.
public struct Secret: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var immutable: Bool?

    public init(
        metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil, stringData: [String: String]? = nil
    ) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.type = type
        self.data = data
        self.stringData = stringData
    }
}

/// `v1` ServiceAccount.
public struct ServiceAccount: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var automountServiceAccountToken: Bool?

    public init(metadata: ObjectMeta, automountServiceAccountToken: Bool? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.automountServiceAccountToken = automountServiceAccountToken
    }
}

/// `v1` Service (named `KubeService` so it does not shadow swift-service-lifecycle's `Service`).
/// The per-partition Services point their selector at the leader pod.
public struct KubeService: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: ServiceSpec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct ServiceSpec: Codable, Sendable, Equatable {
    public var type: String?
    public var selector: [String: String]?
    public var ports: [ServicePort]?
    public var clusterIP: String?
    public var publishNotReadyAddresses: Bool?

    public init(
        type: String? = nil,
        selector: [String: String]? = nil,
        ports: [ServicePort]? = nil,
        clusterIP: String? = nil,
        publishNotReadyAddresses: Bool? = nil
    ) {
        self.type = type
        self.selector = selector
        self.ports = ports
        self.clusterIP = clusterIP
        self.publishNotReadyAddresses = publishNotReadyAddresses
    }
}

public struct ServicePort: Codable, Sendable, Equatable {
    public var name: String?
    public var port: Int
    public var targetPort: JSONValue?
    public var `protocol`: String?
    public var appProtocol: String?

    public init(name: String? = nil, port: Int, targetPort: JSONValue? = nil, protocol: String? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.protocol = `protocol`
    }
}

/// `v1` Pod: what the operator reads to notice failures and find leaders.
public struct Pod: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodStatus: Codable, Sendable, Equatable {
    public var phase: String?
    public var podIP: String?
    public var hostIP: String?
    public var conditions: [JSONValue]?
    public var containerStatuses: [JSONValue]?
    public var startTime: String?

    public init(phase: String? = nil, podIP: String? = nil, conditions: [JSONValue]? = nil) {
        self.phase = phase
        self.podIP = podIP
        self.conditions = conditions
    }

    /// The `Ready` condition is `True`.
    public var isReady: Bool {
        conditions?.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" } ?? false
    }
}

public struct PodTemplateSpec: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodSpec: Codable, Sendable, Equatable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var volumes: [JSONValue]?
    public var serviceAccountName: String?
    public var automountServiceAccountToken: Bool?
    public var terminationGracePeriodSeconds: Int?
    public var nodeName: String?
    public var nodeSelector: [String: String]?
    public var affinity: JSONValue?
    public var tolerations: [JSONValue]?
    public var topologySpreadConstraints: [JSONValue]?
    public var securityContext: JSONValue?
    public var imagePullSecrets: [JSONValue]?
    public var restartPolicy: String?

    public init(containers: [Container], volumes: [JSONValue]? = nil, serviceAccountName: String? = nil) {
        self.containers = containers
        self.volumes = volumes
        self.serviceAccountName = serviceAccountName
    }
}

public struct Container: Codable, Sendable, Equatable {
    public struct Port: Codable, Sendable, Equatable {
        public var name: String?
        public var containerPort: Int
        public var `protocol`: String?

        public init(name: String? = nil, containerPort: Int, protocol: String? = nil) {
            self.name = name
            self.containerPort = containerPort
            self.protocol = `protocol`
        }
    }

    public struct EnvVar: Codable, Sendable, Equatable {
        public var name: String
        public var value: String?
        public var valueFrom: JSONValue?

        public init(name: String, value: String? = nil, valueFrom: JSONValue? = nil) {
            self.name = name
            self.value = value
            self.valueFrom = valueFrom
        }
    }

    public var name: String
    public var image: String?
    public var imagePullPolicy: String?
    public var command: [String]?
    public var args: [String]?
    public var env: [EnvVar]?
    public var ports: [Port]?
    public var resources: JSONValue?
    public var volumeMounts: [JSONValue]?
    public var readinessProbe: JSONValue?
    public var livenessProbe: JSONValue?
    public var startupProbe: JSONValue?
    public var securityContext: JSONValue?

    public init(
        name: String,
        image: String? = nil,
        args: [String]? = nil,
        env: [EnvVar]? = nil,
        ports: [Port]? = nil
    ) {
        self.name = name
        self.image = image
        self.args = args
        self.env = env
        self.ports = ports
    }
}
