/// Who leads which partition, where the nodes are: what the controller publishes and gateways and storage follow.
///
/// The JSON shape is DESIGN.md §3's `GET /v1/topology`; partition entries have the keys of `Stream.status.partitions`
/// so the local controller and the Kubernetes operator publish the same thing. `version` grows with every change,
/// so a follower of the watch can ignore a stale copy.
public struct Topology: Codable, Sendable, Hashable {
    public var version: Int64
    public var streams: [StreamTopology]
    public var nodes: [NodeInfo]

    public init(version: Int64 = 0, streams: [StreamTopology] = [], nodes: [NodeInfo] = []) {
        self.version = version
        self.streams = streams
        self.nodes = nodes
    }

    public func stream(named name: String) -> StreamTopology? { streams.first { $0.name == name } }

    public func node(id: String) -> NodeInfo? { nodes.first { $0.id == id } }

    /// The partitions a node hosts, as leader or follower.
    public func assignments(of nodeID: String) -> [(stream: StreamTopology, partition: PartitionInfo)] {
        streams.flatMap { stream in
            stream.partitions.filter { $0.replicas.contains(nodeID) }.map { (stream, $0) }
        }
    }
}

/// One stream: its settings as the data path needs them, and its partitions.
public struct StreamTopology: Codable, Sendable, Hashable {
    public var name: String
    public var replicationFactor: Int
    public var minInSyncReplicas: Int
    public var durability: Durability
    public var retention: RetentionSpec
    public var partitions: [PartitionInfo]

    public init(
        name: String, replicationFactor: Int = 1, minInSyncReplicas: Int = 1, durability: Durability = .always,
        retention: RetentionSpec = .init(), partitions: [PartitionInfo]
    ) {
        self.name = name
        self.replicationFactor = replicationFactor
        self.minInSyncReplicas = minInSyncReplicas
        self.durability = durability
        self.retention = retention
        self.partitions = partitions
    }

    public func partition(_ index: Int) -> PartitionInfo? {
        partitions.indices.contains(index) && partitions[index].partition == index
            ? partitions[index] : partitions.first { $0.partition == index }
    }
}

/// One partition: leadership with its epoch, replica set, in-sync replicas, offsets as last reported.
public struct PartitionInfo: Codable, Sendable, Hashable {
    public var partition: Int
    public var leader: String?
    public var epoch: Int32
    public var replicas: [String]
    public var isr: [String]
    public var state: PartitionState
    public var logStartOffset: Int64
    public var highWatermark: Int64

    public init(
        partition: Int, leader: String?, epoch: Int32, replicas: [String], isr: [String], state: PartitionState,
        logStartOffset: Int64 = 0, highWatermark: Int64 = 0
    ) {
        self.partition = partition
        self.leader = leader
        self.epoch = epoch
        self.replicas = replicas
        self.isr = isr
        self.state = state
        self.logStartOffset = logStartOffset
        self.highWatermark = highWatermark
    }
}

/// `Online` has a leader; `Electing` is the first phase of a leader change; `Unavailable` has no leader.
public enum PartitionState: String, Codable, Sendable, Hashable {
    case online = "Online"
    case electing = "Electing"
    case unavailable = "Unavailable"
}

/// A storage node as the controller knows it: its id (pod name or `--node-id`) and advertised address.
public struct NodeInfo: Codable, Sendable, Hashable {
    public var id: String
    public var address: String
    public var ready: Bool

    public init(id: String, address: String, ready: Bool) {
        self.id = id
        self.address = address
        self.ready = ready
    }
}

/// When an append counts as stored (DESIGN.md §7).
public enum Durability: String, Codable, Sendable, Hashable {
    /// fdatasync before the acknowledgement: survives power loss. The default at replicationFactor 1.
    case always
    /// Every in-sync replica has written the batch to its operating system, each flushing within 100 ms.
    case replicated
}
