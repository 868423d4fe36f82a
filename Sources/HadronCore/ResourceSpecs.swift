/// The Hadron resources (DESIGN.md §5) as the data path and the controllers need them, decoded from the same YAML
/// documents Kubernetes takes: `apiVersion: hadron.dev/v1alpha1`, `kind`, `metadata.name`, `spec`.
public enum HadronResource: Sendable, Hashable {
    case cluster(ClusterResource)
    case stream(StreamResource)

    public static let apiVersion = "hadron.dev/v1alpha1"
}

/// `kind: HadronCluster`. Optional locally; in Kubernetes it declares the storage and gateway tiers.
public struct ClusterResource: Sendable, Hashable {
    public var name: String
    public var storageReplicas: Int

    public init(name: String, storageReplicas: Int = 3) {
        self.name = name
        self.storageReplicas = storageReplicas
    }
}

/// `kind: Stream`: a partitioned, replicated log.
public struct StreamResource: Sendable, Hashable {
    public var name: String
    /// The HadronCluster the stream belongs to; may be omitted locally.
    public var cluster: String?
    public var partitions: Int
    public var replicationFactor: Int
    public var minInSyncReplicas: Int
    /// `fsync: always | replicated`; defaults by replication factor (DESIGN.md §7).
    public var durability: Durability
    public var retention: RetentionSpec
    /// `selector.matchLabels`: which storage nodes may host the stream.
    public var nodeSelector: [String: String]
    /// `uncleanLeaderElection`: when no in-sync replica survives, elect the most advanced live replica anyway,
    /// trading committed events it lacks for availability (DESIGN.md §6). Off unless the stream opts in.
    public var uncleanLeaderElection: Bool

    public init(
        name: String, cluster: String? = nil, partitions: Int, replicationFactor: Int = 1,
        minInSyncReplicas: Int? = nil, durability: Durability? = nil, retention: RetentionSpec = .init(),
        nodeSelector: [String: String] = [:], uncleanLeaderElection: Bool = false
    ) {
        self.name = name
        self.cluster = cluster
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.minInSyncReplicas =
            minInSyncReplicas ?? StreamRules.defaultMinInSyncReplicas(replicationFactor: replicationFactor)
        self.durability = durability ?? (replicationFactor > 1 ? .replicated : .always)
        self.retention = retention
        self.nodeSelector = nodeSelector
        self.uncleanLeaderElection = uncleanLeaderElection
    }

    /// Checks the rules a CRD schema cannot express; the message says what to change.
    public func validate() throws(ResourceError) {
        do { try DNSName.validateSubdomain(name) } catch {
            throw ResourceError("Stream name \"\(name)\": \(error.message)")
        }
        let sizing = StreamRules.sizingViolations(
            partitions: partitions, replicationFactor: replicationFactor, minInSyncReplicas: minInSyncReplicas)
        if let violation = sizing.first { throw ResourceError("Stream \(name): \(violation.message)") }
    }
}

/// Retention by age and size; whole segments only (DESIGN.md §7).
public struct RetentionSpec: Codable, Sendable, Hashable {
    /// Milliseconds; `nil` keeps everything.
    public var maxAgeMilliseconds: Int64?
    public var maxBytes: Int64?

    public init(maxAgeMilliseconds: Int64? = nil, maxBytes: Int64? = nil) {
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.maxBytes = maxBytes
    }
}

/// A resource document that cannot be used, with what to change.
public struct ResourceError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
