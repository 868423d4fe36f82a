public import HadronCore
public import Logging
import Placement

/// The control plane without Kubernetes (DESIGN.md §8): it holds the declared streams, learns storage nodes from
/// their heartbeats, places partitions with ``ReplicaPlacement`` and publishes the resulting ``Topology`` to every
/// watcher. The Kubernetes operator makes the same decisions from CRs; this is the one-process equivalent.
///
/// It also fails over (DESIGN.md §6): a partition whose leader stops sending heartbeats gets a new leader from its
/// in-sync replicas by ``LeaderElection``, and a silent follower leaves the ISR.
public actor LocalController {
    private struct NodeRecord {
        var address: String
        var labels: [String: String]
        var lastHeartbeat: ContinuousClock.Instant
    }

    private let streams: [StreamResource]
    private let clock = ContinuousClock()
    /// A node that has not sent a heartbeat for this long is reported not ready, and loses leadership and its ISR
    /// places.
    private let livenessTimeout: Duration
    private let logger: Logger
    private var nodes: [String: NodeRecord] = [:]
    /// The newest leader epoch any replica reported per partition: new epochs are assigned above it.
    private var recordedEpochs: [Key: Int32] = [:]
    /// Each replica's last report per partition: how far its log has come, for unclean election and for placing again
    /// what a restarted controller forgot.
    private var replicaReports: [Key: [String: ReplicaReport]] = [:]

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

    /// `logger` defaults to discarding, for tests; the commands pass theirs.
    public init(
        streams: [StreamResource], livenessTimeout: Duration = .seconds(3),
        logger: Logger = Logger(label: "hadron.controller", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.streams = streams
        self.livenessTimeout = livenessTimeout
        self.logger = logger
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

    /// The current topology, with liveness evaluated now.
    public func current() -> Topology {
        reconcileLiveness()
        return topology
    }

    /// Records a node's heartbeat (registering it on the first), places any partition that can now be placed, fails
    /// over what the liveness of nodes calls for, and returns the topology the node should follow.
    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) -> Topology {
        var next = topology
        nodes[nodeID] = NodeRecord(
            address: heartbeat.address, labels: heartbeat.labels ?? nodes[nodeID]?.labels ?? [:],
            lastHeartbeat: clock.now)
        next.nodes = nodes.keys.sorted().map { id in
            NodeInfo(id: id, address: nodes[id]!.address, ready: isAlive(nodes[id]!))
        }
        for report in heartbeat.partitions {
            let key = Key(report.stream, report.partition)
            replicaReports[key, default: [:]][nodeID] = report
            if let epoch = report.leaderEpoch { recordedEpochs[key] = max(recordedEpochs[key] ?? 0, epoch) }
        }
        // Every heartbeat, not only a new node's: a node that comes back alive can complete a placement too.
        placeUnplacedPartitions(in: &next)
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
        reconcileLiveness()
        return topology
    }

    /// Records a partition leader's new in-sync replica set (DESIGN.md §6) and returns the topology after it.
    ///
    /// Refused unless the sender still leads the partition at the epoch it names and the partition is `Online`:
    /// a deposed leader's view of the ISR must never overwrite its successor's. The set must contain the leader and
    /// only replicas of the partition.
    public func changeISR(_ change: ISRChange) throws(ISRChangeRefusal) -> Topology {
        var next = topology
        let s = next.streams.firstIndex { $0.name == change.stream }
        let p = s.flatMap { s in next.streams[s].partitions.firstIndex { $0.partition == change.partition } }
        let alive = aliveNodes()
        let recorded = try ISRRecord.record(
            change, in: s.flatMap { s in p.map { next.streams[s].partitions[$0] } }, isEligible: alive.contains,
            ineligibility: "no heartbeat within \(livenessTimeout)")
        next.streams[s!].partitions[p!] = recorded
        publish(next)
        return topology
    }

    /// A stream of topologies: the current one at once, then every change. Ends when the consumer stops iterating.
    ///
    /// The two phases of an election are published in one turn of this actor, as two versions; the buffer keeps
    /// both for a watcher that did not run in between, so `Electing` is observable. A watcher that falls further
    /// behind skips to the newest versions: a topology is state, not a log.
    public func watch() -> AsyncStream<Topology> {
        let (stream, continuation) = AsyncStream<Topology>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = nextWatcher
        nextWatcher += 1
        watchers[id] = continuation
        continuation.yield(current())
        continuation.onTermination = { _ in Task { await self.removeWatcher(id) } }
        return stream
    }

    /// Re-evaluates node liveness and fails over what it calls for; the server calls this periodically so that a
    /// silent node is noticed without anyone asking.
    public func tick() { reconcileLiveness() }

    private func removeWatcher(_ id: Int) { watchers[id] = nil }

    private func isAlive(_ node: NodeRecord) -> Bool { clock.now - node.lastHeartbeat < livenessTimeout }

    private func aliveNodes() -> Set<String> { Set(nodes.filter { isAlive($0.value) }.keys) }

    /// Brings the topology in line with which nodes are alive (DESIGN.md §6), publishing each phase as its own
    /// version: first readiness and `Electing` for every partition whose leader went silent, then the elections'
    /// outcome — new leaders at new epochs, `Unavailable` partitions whose in-sync replica came back — and dead
    /// followers removed from ISRs.
    private func reconcileLiveness() {
        let alive = aliveNodes()
        var next = topology
        for index in next.nodes.indices { next.nodes[index].ready = alive.contains(next.nodes[index].id) }
        for s in next.streams.indices {
            for p in next.streams[s].partitions.indices
            where LeaderElection.leaderFailed(next.streams[s].partitions[p], alive: alive) {
                let partition = next.streams[s].partitions[p]
                logger.warning(
                    "Leader lost",
                    metadata: [
                        "stream": "\(next.streams[s].name)", "partition.id": "\(partition.partition)",
                        "leader": "\(partition.leader ?? "none")", "epoch": "\(partition.epoch)",
                    ])
                next.streams[s].partitions[p] = LeaderElection.begin(partition)
            }
        }
        publish(next)
        for (s, stream) in streams.enumerated() {
            for p in next.streams[s].partitions.indices {
                let before = next.streams[s].partitions[p]
                var after = before
                if LeaderElection.canElect(before, alive: alive, allowsUncleanElection: stream.uncleanLeaderElection) {
                    let key = Key(stream.name, before.partition)
                    after = LeaderElection.complete(
                        before, alive: alive, reportedEpoch: recordedEpochs[key] ?? 0,
                        logEndOffsets: (replicaReports[key] ?? [:]).mapValues(\.logEndOffset),
                        allowsUncleanElection: stream.uncleanLeaderElection)
                    logElection(stream: stream.name, before: before, after: after)
                }
                after = LeaderElection.removingDeadFollowers(after, alive: alive)
                next.streams[s].partitions[p] = after
            }
        }
        publish(next)
    }

    private func logElection(stream: String, before: PartitionInfo, after: PartitionInfo) {
        guard after != before else { return }
        var metadata: Logger.Metadata = [
            "stream": "\(stream)", "partition.id": "\(after.partition)", "epoch": "\(after.epoch)",
            "isr": "\(after.isr.joined(separator: ","))",
        ]
        if let leader = after.leader {
            metadata["leader"] = "\(leader)"
            if before.isr.contains(leader) {
                logger.info("Leader changed", metadata: metadata)
            } else {
                metadata["election"] = "unclean"
                logger.warning("Leader changed by unclean election: committed events may be lost", metadata: metadata)
            }
        } else {
            logger.error("Partition unavailable: no in-sync replica is alive", metadata: metadata)
        }
    }

    private func placeUnplacedPartitions(in next: inout Topology) {
        // Only live nodes: a replica placed on a silent node would be a partition failing over from its first version.
        let alive = aliveNodes()
        for (index, stream) in streams.enumerated() {
            let placed = next.streams[index].partitions.filter { !$0.replicas.isEmpty }.map(\.replicas)
            guard placed.count < stream.partitions else { continue }
            let candidates = nodes.filter { alive.contains($0.key) }.map {
                ReplicaPlacement.Candidate(id: $0.key, labels: $0.value.labels)
            }
            guard
                let replicas = try? ReplicaPlacement.place(
                    partitions: stream.partitions, replicationFactor: stream.replicationFactor,
                    selector: stream.nodeSelector, candidates: candidates, existing: placed)
            else { continue }
            for partition in placed.count..<stream.partitions {
                let key = Key(stream.name, partition)
                next.streams[index].partitions[partition] = LeaderElection.firstAssignment(
                    partition: partition, replicas: replicas[partition], reports: replicaReports[key] ?? [:],
                    reportedEpoch: recordedEpochs[key] ?? 0)
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
