public import HadronCore
import Placement

/// The control plane without Kubernetes (DESIGN.md §8): it holds the declared streams, learns storage nodes from
/// their heartbeats, places partitions with ``ReplicaPlacement`` and publishes the resulting ``Topology`` to every
/// watcher. The Kubernetes operator makes the same decisions from CRs; this is the one-process equivalent.
public actor LocalController {
    private struct NodeRecord {
        var address: String
        var labels: [String: String]
        var lastHeartbeat: ContinuousClock.Instant
    }

    private let streams: [StreamResource]
    private let clock = ContinuousClock()
    /// A node that has not sent a heartbeat for this long is reported not ready.
    private let livenessTimeout: Duration
    private var nodes: [String: NodeRecord] = [:]
    /// The newest leader epoch any replica reported per partition: new epochs are assigned above it.
    private var recordedEpochs: [Key: Int32] = [:]

    private struct Key: Hashable {
        let stream: String
        let partition: Int
        init(_ stream: String, _ partition: Int) {
            self.stream = stream
            self.partition = partition
        }
    }
    private(set) var topology: Topology
    private var watchers: [Int: AsyncStream<Topology>.Continuation] = [:]
    private var nextWatcher = 0

    public init(streams: [StreamResource], livenessTimeout: Duration = .seconds(3)) {
        self.streams = streams
        self.livenessTimeout = livenessTimeout
        self.topology = Topology(
            version: 1,
            streams: streams.map { stream in
                StreamTopology(
                    name: stream.name, replicationFactor: stream.replicationFactor,
                    minInSyncReplicas: stream.minInSyncReplicas, durability: stream.durability,
                    retention: stream.retention,
                    partitions: (0..<stream.partitions).map {
                        PartitionInfo(partition: $0, leader: nil, epoch: 0, replicas: [], isr: [], state: .unavailable)
                    })
            })
    }

    /// The current topology.
    public func current() -> Topology { refreshLiveness() ?? topology }

    /// Records a node's heartbeat (registering it on the first), places any partition that can now be placed, and
    /// returns the topology the node should follow.
    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) -> Topology {
        var next = topology
        let isNew = nodes[nodeID] == nil || nodes[nodeID]?.address != heartbeat.address
        nodes[nodeID] = NodeRecord(
            address: heartbeat.address, labels: heartbeat.labels ?? nodes[nodeID]?.labels ?? [:],
            lastHeartbeat: clock.now)
        next.nodes = nodes.keys.sorted().map { id in
            NodeInfo(id: id, address: nodes[id]!.address, ready: isAlive(nodes[id]!))
        }
        for report in heartbeat.partitions {
            if let epoch = report.leaderEpoch {
                let key = Key(report.stream, report.partition)
                recordedEpochs[key] = max(recordedEpochs[key] ?? 0, epoch)
            }
        }
        if isNew { placeUnplacedPartitions(in: &next) }
        for report in heartbeat.partitions {
            guard let s = next.streams.firstIndex(where: { $0.name == report.stream }),
                let p = next.streams[s].partitions.firstIndex(where: { $0.partition == report.partition })
            else { continue }
            // A log holding a newer epoch than the topology (this controller restarted and forgot): move the
            // partition past it, or the log would refuse its leader's appends as stale.
            if let epoch = report.leaderEpoch, next.streams[s].partitions[p].leader != nil,
                epoch > next.streams[s].partitions[p].epoch
            {
                next.streams[s].partitions[p].epoch = epoch + 1
            }
            guard next.streams[s].partitions[p].leader == nodeID else { continue }
            next.streams[s].partitions[p].logStartOffset = report.logStartOffset
            next.streams[s].partitions[p].highWatermark = report.highWatermark
        }
        publish(next)
        return topology
    }

    /// Records a partition leader's new in-sync replica set (DESIGN.md §6) and returns the topology after it.
    ///
    /// Refused unless the sender still leads the partition at the epoch it names and the partition is `Online`:
    /// a deposed leader's view of the ISR must never overwrite its successor's. The set must contain the leader and
    /// only replicas of the partition.
    public func changeISR(_ change: ISRChange) throws(ISRChangeRefusal) -> Topology {
        var next = topology
        guard let s = next.streams.firstIndex(where: { $0.name == change.stream }),
            let p = next.streams[s].partitions.firstIndex(where: { $0.partition == change.partition })
        else {
            throw ISRChangeRefusal(
                .unknownPartition, "stream \(change.stream) has no partition \(change.partition)")
        }
        let partition = next.streams[s].partitions[p]
        guard partition.state == .online, partition.leader == change.leader, partition.epoch == change.epoch else {
            throw ISRChangeRefusal(
                .notLeader,
                "\(change.leader) at epoch \(change.epoch) does not lead \(change.stream)/\(change.partition): "
                    + "its leader is \(partition.leader ?? "none") at epoch \(partition.epoch) (\(partition.state.rawValue))")
        }
        guard change.isr.contains(change.leader), Set(change.isr).isSubset(of: partition.replicas),
            Set(change.isr).count == change.isr.count
        else {
            throw ISRChangeRefusal(
                .invalid,
                "the in-sync set \(change.isr) must name the leader and only distinct replicas of \(partition.replicas)")
        }
        // Keep replica order, so the ISR reads the same wherever it is shown.
        next.streams[s].partitions[p].isr = partition.replicas.filter(change.isr.contains)
        publish(next)
        return topology
    }

    /// A stream of topologies: the current one at once, then every change. Ends when the consumer stops iterating.
    public func watch() -> AsyncStream<Topology> {
        let (stream, continuation) = AsyncStream<Topology>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = nextWatcher
        nextWatcher += 1
        watchers[id] = continuation
        continuation.yield(current())
        continuation.onTermination = { _ in Task { await self.removeWatcher(id) } }
        return stream
    }

    /// Re-evaluates node liveness; the server calls this periodically so watchers learn of a silent node.
    public func tick() { _ = refreshLiveness() }

    private func removeWatcher(_ id: Int) { watchers[id] = nil }

    private func isAlive(_ node: NodeRecord) -> Bool { clock.now - node.lastHeartbeat < livenessTimeout }

    /// Marks nodes whose heartbeats stopped as not ready; the changed topology, if anything changed.
    private func refreshLiveness() -> Topology? {
        var next = topology
        for index in next.nodes.indices {
            if let record = nodes[next.nodes[index].id] { next.nodes[index].ready = isAlive(record) }
        }
        guard next.nodes != topology.nodes else { return nil }
        publish(next)
        return topology
    }

    private func placeUnplacedPartitions(in next: inout Topology) {
        for (index, stream) in streams.enumerated() {
            let placed = next.streams[index].partitions.filter { !$0.replicas.isEmpty }.map(\.replicas)
            guard placed.count < stream.partitions else { continue }
            let candidates = nodes.map { ReplicaPlacement.Candidate(id: $0.key, labels: $0.value.labels) }
            guard
                let replicas = try? ReplicaPlacement.place(
                    partitions: stream.partitions, replicationFactor: stream.replicationFactor,
                    selector: stream.nodeSelector, candidates: candidates, existing: placed)
            else { continue }
            for partition in placed.count..<stream.partitions {
                let epoch = (recordedEpochs[Key(stream.name, partition)] ?? 0) + 1
                next.streams[index].partitions[partition] = PartitionInfo(
                    partition: partition, leader: replicas[partition][0], epoch: epoch, replicas: replicas[partition],
                    isr: replicas[partition], state: .online)
            }
        }
    }

    /// Adopts `next` if it differs, with a new version, and tells every watcher.
    private func publish(_ next: Topology) {
        var next = next
        next.version = topology.version
        guard next != topology else { return }
        next.version += 1
        topology = next
        for continuation in watchers.values { continuation.yield(next) }
    }
}

/// Why the controller did not record an ISR change.
public struct ISRChangeRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The stream or partition does not exist (404).
        case unknownPartition
        /// The sender does not lead the partition at that epoch, or the partition is not `Online` (409).
        case notLeader
        /// The set is malformed: no leader in it, or a node that is not a replica (400).
        case invalid
    }

    public let reason: Reason
    public let message: String

    init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}
