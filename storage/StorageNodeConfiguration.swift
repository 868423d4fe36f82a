public import HadronHTTP

/// How a storage node runs: `hadron storage`'s flags (DESIGN.md §8) plus the intervals and limits tests and
/// `hadron dev` may tighten.
public struct StorageNodeConfiguration: Sendable {
    /// The node's name (a DNS-1123 label): its pod name in Kubernetes, `--node-id` locally.
    public var nodeID: String
    /// Where the internal API listens; port 0 picks a free port (``StorageNode/listeningAddress()`` tells which).
    public var listen: ServerAddress
    /// The address the node reports to the controller for gateways and followers; nil means the listen address with
    /// the port actually bound.
    public var advertise: ServerAddress?
    /// Holds one directory per partition replica.
    public var dataDirectory: String
    /// Reported with every heartbeat; a Stream's `selector.matchLabels` picks its hosts by them.
    public var labels: [String: String]
    /// How often the node reports to its topology source and picks up leadership changes.
    public var heartbeatInterval: Duration
    /// How often retention runs over every replica's log.
    public var retentionInterval: Duration
    /// Segment size of the partition logs.
    public var segmentBytes: Int64
    /// The largest record batch an append may carry (413 beyond). The gateway's request limit is 16 MiB of events.
    public var maxBatchBytes: Int
    /// The most bytes one fetch returns when the caller names no `maxBytes`, and the most it may name.
    public var defaultFetchBytes: Int
    public var maxFetchBytes: Int
    /// The longest a fetch may wait for new events (`wait` is capped to it).
    public var maxFetchWait: Duration
    /// How long a nacked delivery waits when the nack names no backoff; doubles with each consecutive nack.
    public var defaultNackBackoff: Duration
    /// A follower not caught up with its leader for this long leaves the ISR (DESIGN.md §6, default 10 s).
    public var replicaLagLimit: Duration
    /// The longest an append waits for the in-sync replicas before it answers 503.
    public var commitTimeout: Duration
    /// Host names dialled elsewhere when fetching from leaders (`--resolve NAME=HOST:PORT`): the pods of a cluster
    /// run outside it, under their DNS names.
    public var resolve = AddressOverrides()

    public init(
        nodeID: String,
        listen: ServerAddress,
        advertise: ServerAddress? = nil,
        dataDirectory: String,
        labels: [String: String] = [:],
        heartbeatInterval: Duration = .milliseconds(500),
        retentionInterval: Duration = .seconds(30),
        segmentBytes: Int64 = 128 * 1024 * 1024,
        maxBatchBytes: Int = 32 * 1024 * 1024,
        defaultFetchBytes: Int = 1024 * 1024,
        maxFetchBytes: Int = 16 * 1024 * 1024,
        maxFetchWait: Duration = .seconds(30),
        defaultNackBackoff: Duration = .seconds(1),
        replicaLagLimit: Duration = .seconds(10),
        commitTimeout: Duration = .seconds(10)
    ) {
        self.nodeID = nodeID
        self.listen = listen
        self.advertise = advertise
        self.dataDirectory = dataDirectory
        self.labels = labels
        self.heartbeatInterval = heartbeatInterval
        self.retentionInterval = retentionInterval
        self.segmentBytes = segmentBytes
        self.maxBatchBytes = maxBatchBytes
        self.defaultFetchBytes = defaultFetchBytes
        self.maxFetchBytes = maxFetchBytes
        self.maxFetchWait = maxFetchWait
        self.defaultNackBackoff = defaultNackBackoff
        self.replicaLagLimit = replicaLagLimit
        self.commitTimeout = commitTimeout
    }

    var replicaConfiguration: PartitionReplica.Configuration {
        PartitionReplica.Configuration(
            segmentBytes: segmentBytes, defaultNackBackoff: defaultNackBackoff, replicaLagLimit: replicaLagLimit,
            commitTimeout: commitTimeout)
    }
}
