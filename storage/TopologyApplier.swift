import HadronCore
import Logging

/// Applies topologies to the node's replicas, one at a time: opens the replicas newly assigned to this node and
/// gives every hosted replica its role at the topology's epoch.
///
/// Replicas the topology no longer places here keep their data (objects removed from a spec are marked stale,
/// never destroyed — DESIGN.md §5) and become unassigned, refusing traffic with a pointer to the leader.
actor TopologyApplier {
    private let nodeID: String
    private let dataDirectory: DataDirectory
    private let replicas: HostedReplicas
    private let replicaConfiguration: PartitionReplica.Configuration
    private let link: ReplicaLink
    private let logger: Logger
    /// The version last applied without a failure; the same version again is skipped.
    private var appliedVersion: Int64?
    private var consecutiveFailures = 0

    init(
        nodeID: String, dataDirectory: DataDirectory, replicas: HostedReplicas,
        replicaConfiguration: PartitionReplica.Configuration, link: ReplicaLink, logger: Logger
    ) {
        self.link = link
        self.nodeID = nodeID
        self.dataDirectory = dataDirectory
        self.replicas = replicas
        self.replicaConfiguration = replicaConfiguration
        self.logger = logger
    }

    func apply(_ topology: Topology) async {
        if consecutiveFailures > 0 {
            logger.info("Topology source reachable again", metadata: ["failures": "\(consecutiveFailures)"])
            consecutiveFailures = 0
        }
        guard topology.version != appliedVersion else { return }
        replicas.topology = topology
        var complete = true
        var assigned = Set<HostedReplicas.Key>()
        for (stream, partition) in topology.assignments(of: nodeID) {
            let key = HostedReplicas.Key(stream: stream.name, partition: partition.partition)
            assigned.insert(key)
            guard let replica = await hostedReplica(stream: stream, partition: partition) else {
                complete = false
                continue
            }
            await replica.apply(ReplicaAssignment(stream: stream, partition: partition, nodeID: nodeID, nodes: topology.nodes))
        }
        for replica in replicas.all
        where !assigned.contains(HostedReplicas.Key(stream: replica.stream, partition: replica.partition)) {
            if let stream = topology.stream(named: replica.stream), let partition = stream.partition(replica.partition)
            {
                await replica.apply(ReplicaAssignment(stream: stream, partition: partition, nodeID: nodeID, nodes: topology.nodes))
            } else {
                let role = await replica.role
                await replica.apply(
                    ReplicaAssignment(
                        role: ReplicaRole(kind: .unassigned, epoch: role.epoch, leader: nil), settings: nil))
            }
        }
        if complete { appliedVersion = topology.version }
    }

    /// The replica of `partition` on this node, opened (created, or recovered) when it is newly assigned.
    private func hostedReplica(stream: StreamTopology, partition: PartitionInfo) async -> PartitionReplica? {
        if let replica = replicas.replica(stream: stream.name, partition: partition.partition) { return replica }
        guard DNSName.isValidSubdomain(stream.name), partition.partition >= 0 else {
            logger.error(
                "The topology names a partition that cannot be stored",
                metadata: ["stream": "\(stream.name)", "partition.id": "\(partition.partition)"])
            return nil
        }
        do {
            let replica = try await PartitionReplica.open(
                stream: stream.name, partition: partition.partition,
                directory: dataDirectory.replicaPath(stream: stream.name, partition: partition.partition),
                settings: StreamSettings(durability: stream.durability, retention: stream.retention),
                configuration: replicaConfiguration, link: link, logger: logger)
            replicas.insert(replica)
            return replica
        } catch {
            logger.error(
                "Opening an assigned partition replica failed; retrying with the next topology",
                metadata: ["stream": "\(stream.name)", "partition.id": "\(partition.partition)", "error": "\(error)"])
            return nil
        }
    }

    /// Logs an unreachable topology source once, then quietly until it answers again.
    func heartbeatFailed(_ error: any Error) {
        consecutiveFailures += 1
        let metadata: Logger.Metadata = ["error": "\(error)", "failures": "\(consecutiveFailures)"]
        if consecutiveFailures == 1 {
            logger.warning("Heartbeat failed; keeping the last topology", metadata: metadata)
        } else {
            logger.debug("Heartbeat failed again", metadata: metadata)
        }
    }
}
