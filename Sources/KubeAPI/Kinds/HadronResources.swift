// The custom resources of DESIGN.md §5: group `hadron.dev`, version `v1alpha1`, all namespaced.
// Swift names carry a `Hadron` prefix where the kind name alone would shadow a standard type
// (`Stream`, `Endpoint`); the `kind` on the wire is the plain name.

extension ResourceDescriptor {
    static func hadron(_ plural: String, _ kind: String) -> ResourceDescriptor {
        ResourceDescriptor(group: "hadron.dev", version: "v1alpha1", plural: plural, kind: kind, namespaced: true)
    }
}

/// The status every Hadron resource reports besides its own fields.
public struct HadronConditions: Codable, Sendable, Equatable {
    public var observedGeneration: Int?
    public var conditions: [Condition]?
    /// Objects the operator made for this resource that its spec no longer declares. They are kept
    /// (DESIGN.md §5: never destroyed) until an admin deletes them.
    public var stale: [StaleObject]?

    public init(observedGeneration: Int? = nil, conditions: [Condition]? = nil, stale: [StaleObject]? = nil) {
        self.observedGeneration = observedGeneration
        self.conditions = conditions
        self.stale = stale
    }
}

/// An object the operator no longer declares, listed in status instead of being deleted.
public struct StaleObject: Codable, Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    /// Why it is no longer declared, and what an admin may do about it.
    public var reason: String?

    public init(apiVersion: String, kind: String, name: String, reason: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.reason = reason
    }
}

/// A URI to deliver to (`subscriber`, `deadLetterSink`, `backend`).
public struct Destination: Codable, Sendable, Equatable {
    public var uri: String

    public init(uri: String) { self.uri = uri }
}

/// `HadronCluster`: the storage StatefulSet, the gateway Deployment, their Services and PDBs.
public struct HadronCluster: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("hadronclusters", "HadronCluster")

    public struct Spec: Codable, Sendable, Equatable {
        public struct Storage: Codable, Sendable, Equatable {
            public var replicas: Int?
            public var volumeSize: String?
            public var storageClassName: String?
            public var resources: JSONValue?

            public init(replicas: Int? = nil, volumeSize: String? = nil, storageClassName: String? = nil) {
                self.replicas = replicas
                self.volumeSize = volumeSize
                self.storageClassName = storageClassName
            }
        }

        public struct Gateway: Codable, Sendable, Equatable {
            public struct Ingress: Codable, Sendable, Equatable {
                public var host: String?
                public var tlsSecret: String?
            }

            public var replicas: Int?
            public var ingress: Ingress?

            public init(replicas: Int? = nil) { self.replicas = replicas }
        }

        public struct Auth: Codable, Sendable, Equatable {
            public var signingKeySecret: String?
        }

        public var image: String?
        public var storage: Storage?
        public var gateway: Gateway?
        public var auth: Auth?

        public init(image: String? = nil, storage: Storage? = nil, gateway: Gateway? = nil) {
            self.image = image
            self.storage = storage
            self.gateway = gateway
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Stream`: a partitioned, replicated log. Its status carries the partition leadership the
/// operator decides (leader, epoch, ISR).
public struct HadronStream: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("streams", "Stream")

    public struct Spec: Codable, Sendable, Equatable {
        public struct Retention: Codable, Sendable, Equatable {
            public var maxAge: String?
            public var maxBytes: String?

            public init(maxAge: String? = nil, maxBytes: String? = nil) {
                self.maxAge = maxAge
                self.maxBytes = maxBytes
            }
        }

        public var cluster: String?
        public var partitions: Int?
        public var replicationFactor: Int?
        public var minInSyncReplicas: Int?
        public var retention: Retention?
        public var selector: LabelSelectorSpec?
        public var fsync: String?
        /// Elect a replica outside the ISR when no in-sync one survives (DESIGN.md §6); off by default.
        public var uncleanLeaderElection: Bool?

        public init(
            cluster: String? = nil,
            partitions: Int? = nil,
            replicationFactor: Int? = nil,
            minInSyncReplicas: Int? = nil,
            retention: Retention? = nil
        ) {
            self.cluster = cluster
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.minInSyncReplicas = minInSyncReplicas
            self.retention = retention
        }
    }

    public struct PartitionStatus: Codable, Sendable, Equatable {
        public var partition: Int
        public var leader: String?
        public var epoch: Int?
        public var replicas: [String]?
        public var isr: [String]?
        /// `Online`, `Electing` or `Unavailable`.
        public var state: String?
        public var service: String?

        public init(
            partition: Int,
            leader: String? = nil,
            epoch: Int? = nil,
            replicas: [String]? = nil,
            isr: [String]? = nil,
            state: String? = nil,
            service: String? = nil
        ) {
            self.partition = partition
            self.leader = leader
            self.epoch = epoch
            self.replicas = replicas
            self.isr = isr
            self.state = state
            self.service = service
        }
    }

    public struct Status: Codable, Sendable, Equatable {
        public var observedGeneration: Int?
        public var partitions: [PartitionStatus]?
        public var conditions: [Condition]?
        /// Partition Services and other objects the spec no longer declares (kept, never deleted).
        public var stale: [StaleObject]?

        public init(
            observedGeneration: Int? = nil, partitions: [PartitionStatus]? = nil, conditions: [Condition]? = nil,
            stale: [StaleObject]? = nil
        ) {
            self.observedGeneration = observedGeneration
            self.partitions = partitions
            self.conditions = conditions
            self.stale = stale
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec? = nil, status: Status? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// `Subscription`: durable push delivery from a stream (Knative Trigger semantics).
public struct HadronSubscription: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("subscriptions", "Subscription")

    public struct Spec: Codable, Sendable, Equatable {
        public struct Delivery: Codable, Sendable, Equatable {
            public var ordering: String?
            public var retry: Int?
            public var backoffPolicy: String?
            public var backoffDelay: String?
            public var timeout: String?
            public var deadLetterSink: Destination?
        }

        public struct Reply: Codable, Sendable, Equatable {
            public var stream: String
        }

        public var stream: String
        /// CloudEvents subscription filters (`exact`, `prefix`, `suffix`, `all`, `any`, `not`).
        public var filters: [JSONValue]?
        public var subscriber: Destination
        public var delivery: Delivery?
        public var reply: Reply?

        public init(stream: String, subscriber: Destination, filters: [JSONValue]? = nil) {
            self.stream = stream
            self.subscriber = subscriber
            self.filters = filters
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Exchange`: ephemeral fan-out by topic pattern.
public struct HadronExchange: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("exchanges", "Exchange")

    public struct Sink: Codable, Sendable, Equatable {
        public var topic: String
        public var uri: String

        public init(topic: String, uri: String) {
            self.topic = topic
            self.uri = uri
        }
    }

    public struct Spec: Codable, Sendable, Equatable {
        public var cluster: String?
        public var sinks: [Sink]?

        public init(cluster: String? = nil, sinks: [Sink]? = nil) {
            self.cluster = cluster
            self.sinks = sinks
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Endpoint`: request/reply through the gateway.
public struct HadronEndpoint: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("endpoints", "Endpoint")

    public struct Spec: Codable, Sendable, Equatable {
        public var cluster: String?
        public var timeout: String?
        /// Optional: handlers may pull requests instead.
        public var backend: Destination?

        public init(cluster: String? = nil, timeout: String? = nil, backend: Destination? = nil) {
            self.cluster = cluster
            self.timeout = timeout
            self.backend = backend
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Pipeline`: a DAG of stages triggered by events on a stream.
public struct HadronPipeline: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("pipelines", "Pipeline")

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var dependencies: [String]?

        public init(name: String, dependencies: [String]? = nil) {
            self.name = name
            self.dependencies = dependencies
        }
    }

    public struct Spec: Codable, Sendable, Equatable {
        public var stream: String
        public var triggers: [String]?
        public var stages: [Stage]?

        public init(stream: String, triggers: [String]? = nil, stages: [Stage]? = nil) {
            self.stream = stream
            self.triggers = triggers
            self.stages = stages
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// `AuthGrant`: a JWT the operator mints into a Secret; deleting the grant revokes the token.
public struct HadronAuthGrant: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor.hadron("authgrants", "AuthGrant")

    public struct Permission: Codable, Sendable, Equatable {
        public var resource: String
        public var verbs: [String]

        public init(resource: String, verbs: [String]) {
            self.resource = resource
            self.verbs = verbs
        }
    }

    public struct Spec: Codable, Sendable, Equatable {
        public var cluster: String?
        public var secretName: String
        public var permissions: [Permission]

        public init(cluster: String? = nil, secretName: String, permissions: [Permission]) {
            self.cluster = cluster
            self.secretName = secretName
            self.permissions = permissions
        }
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: HadronConditions?

    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}
