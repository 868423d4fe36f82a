/// `rbac.authorization.k8s.io/v1` Role.
public struct Role: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var rules: [PolicyRule]?

    public init(metadata: ObjectMeta, rules: [PolicyRule]) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.rules = rules
    }
}

public struct PolicyRule: Codable, Sendable, Equatable {
    public var apiGroups: [String]?
    public var resources: [String]?
    public var resourceNames: [String]?
    public var verbs: [String]

    public init(apiGroups: [String]?, resources: [String]?, resourceNames: [String]? = nil, verbs: [String]) {
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.verbs = verbs
    }
}

/// `rbac.authorization.k8s.io/v1` RoleBinding.
public struct RoleBinding: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding", namespaced: true
    )

    public struct RoleRef: Codable, Sendable, Equatable {
        public var apiGroup: String
        public var kind: String
        public var name: String

        public init(apiGroup: String = "rbac.authorization.k8s.io", kind: String = "Role", name: String) {
            self.apiGroup = apiGroup
            self.kind = kind
            self.name = name
        }
    }

    public struct Subject: Codable, Sendable, Equatable {
        public var kind: String
        public var name: String
        public var namespace: String?
        public var apiGroup: String?

        public init(kind: String = "ServiceAccount", name: String, namespace: String? = nil) {
            self.kind = kind
            self.name = name
            self.namespace = namespace
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var roleRef: RoleRef
    public var subjects: [Subject]?

    public init(metadata: ObjectMeta, roleRef: RoleRef, subjects: [Subject]) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.roleRef = roleRef
        self.subjects = subjects
    }
}

/// `admissionregistration.k8s.io/v1` ValidatingWebhookConfiguration (cluster-scoped).
public struct ValidatingWebhookConfiguration: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations",
        kind: "ValidatingWebhookConfiguration", namespaced: false)

    public struct Webhook: Codable, Sendable, Equatable {
        public var name: String
        public var clientConfig: JSONValue
        public var rules: [JSONValue]?
        public var failurePolicy: String?
        public var sideEffects: String
        public var admissionReviewVersions: [String]
        public var timeoutSeconds: Int?
        public var namespaceSelector: LabelSelectorSpec?
        public var objectSelector: LabelSelectorSpec?
        public var matchPolicy: String?

        public init(
            name: String,
            clientConfig: JSONValue,
            rules: [JSONValue]? = nil,
            failurePolicy: String? = "Fail",
            sideEffects: String = "None",
            admissionReviewVersions: [String] = ["v1"]
        ) {
            self.name = name
            self.clientConfig = clientConfig
            self.rules = rules
            self.failurePolicy = failurePolicy
            self.sideEffects = sideEffects
            self.admissionReviewVersions = admissionReviewVersions
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var webhooks: [Webhook]?

    public init(metadata: ObjectMeta, webhooks: [Webhook]) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.webhooks = webhooks
    }
}

/// `apiextensions.k8s.io/v1` CustomResourceDefinition (cluster-scoped). The schema stays JSON:
/// Hadron installs its CRDs from the Helm chart and only reads them to check they are established.
public struct CustomResourceDefinition: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition", namespaced: false)

    public struct Spec: Codable, Sendable, Equatable {
        public struct Names: Codable, Sendable, Equatable {
            public var plural: String
            public var singular: String?
            public var kind: String
            public var listKind: String?
            public var shortNames: [String]?

            public init(plural: String, singular: String? = nil, kind: String, shortNames: [String]? = nil) {
                self.plural = plural
                self.singular = singular
                self.kind = kind
                self.shortNames = shortNames
            }
        }

        public var group: String
        public var names: Names
        public var scope: String
        public var versions: [JSONValue]

        public init(group: String, names: Names, scope: String, versions: [JSONValue]) {
            self.group = group
            self.names = names
            self.scope = scope
            self.versions = versions
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}
