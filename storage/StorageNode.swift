public import HadronCore
public import HadronHTTP
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle

/// One storage node (`hadron storage`, DESIGN.md §1): hosts the partition replicas its topology source assigns it
/// and serves the internal API (docs/internal-api.md) to gateways and, with replication, to followers.
///
/// A `Service`: run it in a `ServiceGroup`. It recovers every log found in the data directory before it listens,
/// then reports to its ``StorageTopologySource`` every heartbeat interval and applies the topology it gets back
/// (opening newly assigned replicas, changing roles and epochs), and runs retention periodically. On graceful
/// shutdown it ends long polls, lets the server finish in-flight requests, closes every log cleanly and returns.
///
/// ```swift
/// let node = StorageNode(configuration: configuration, topologySource: source, logger: logger)
/// let group = ServiceGroup(services: [node], gracefulShutdownSignals: [.sigterm], logger: logger)
/// async let running: Void = group.run()
/// let address = try await node.listeningAddress()   // the real port when listening on port 0
/// ```
public final class StorageNode: Service, Sendable, CustomStringConvertible {
    public let configuration: StorageNodeConfiguration
    private let topologySource: any StorageTopologySource
    private let logger: Logger
    let replicas = HostedReplicas()
    private let bound = BoundAddress()
    private let dataDirectory: DataDirectory
    /// Serialises topology application: the heartbeat applies one topology at a time, tests apply directly.
    private let applier: TopologyApplier
    /// How follower replicas reach their leaders.
    private let link: ReplicaLink

    public init(configuration: StorageNodeConfiguration, topologySource: any StorageTopologySource, logger: Logger) {
        var logger = logger
        logger[metadataKey: "node.id"] = "\(configuration.nodeID)"
        self.configuration = configuration
        self.topologySource = topologySource
        self.logger = logger
        self.dataDirectory = DataDirectory(path: configuration.dataDirectory)
        self.link = ReplicaLink(nodeID: configuration.nodeID, client: InternalClient(resolve: configuration.resolve, logger: logger))
        self.applier = TopologyApplier(
            nodeID: configuration.nodeID, dataDirectory: dataDirectory, replicas: replicas,
            replicaConfiguration: configuration.replicaConfiguration, link: link, logger: logger)
    }

    public var description: String { "StorageNode(\(configuration.nodeID))" }

    /// The address the internal API listens on (with the real port when configured with port 0), once it does.
    /// Throws if the node failed before listening.
    public func listeningAddress() async throws -> ServerAddress {
        try await bound.value()
    }

    /// The address reported to the controller: `--advertise`, or the listen address with the bound port.
    private func advertisedAddress(bound address: ServerAddress) -> ServerAddress {
        configuration.advertise ?? address
    }

    public func run() async throws {
        do {
            try await recoverReplicas()
        } catch {
            bound.resolve(.failure(error))
            throw error
        }
        let api = StorageAPI(nodeID: configuration.nodeID, replicas: replicas, configuration: configuration)
        let records = api.records
        let logger = logger
        let listen = configuration.listen
        let bound = bound
        let server = Application(
            router: api.router(),
            // Appends and fetches over HTTP/2 are answered in front of Hummingbird (see RecordsChannelHandler).
            server: .http1AndH2C(
                http2Configuration: .init(
                    streamConfiguration: .init(
                        additionalChannelHandlers: [RecordsChannelHandler(routes: records, logger: logger)])),
                receiveWindows: .internalTraffic),
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                bound.resolve(.success(ServerAddress(host: listen.host, port: port)))
            },
            logger: logger
        )
        let heartbeat = PeriodicService("heartbeat", every: configuration.heartbeatInterval) {
            _ = try await bound.value()
        } body: { [self] in
            await heartbeatOnce()
        }
        let retention = PeriodicService("retention", every: configuration.retentionInterval) { [self] in
            await applyRetention()
        }
        // Graceful shutdown stops services in reverse order: the server drains first while heartbeats go on.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [heartbeat, retention, server], logger: logger))
        let replicas = replicas
        let outcome: Result<Void, any Error>
        do {
            try await withGracefulShutdownHandler {
                try await group.run()
            } onGracefulShutdown: {
                replicas.drain()
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        bound.resolve(.failure(StorageNodeError.stopped))
        for replica in replicas.all { await replica.close() }
        await link.client.shutdown()
        logger.info("Storage node stopped")
        try outcome.get()
    }

    /// Opens every replica whose log is on disk, recovering it, before anything is served.
    private func recoverReplicas() async throws {
        let found = try dataDirectory.existingReplicas()
        for (stream, partition) in found {
            let replica = try await PartitionReplica.open(
                stream: stream, partition: partition,
                directory: dataDirectory.replicaPath(stream: stream, partition: partition), settings: .recovery,
                configuration: configuration.replicaConfiguration, link: link, logger: logger)
            replicas.insert(replica)
        }
        logger.info(
            "Recovered partition replicas",
            metadata: ["replicas": "\(found.count)", "data.dir": "\(dataDirectory.path)"])
    }

    /// Reports this node's replicas to the topology source and applies the topology it answers with.
    private func heartbeatOnce() async {
        guard let address = bound.current else { return }
        var reports: [ReplicaReport] = []
        for replica in replicas.all { reports.append(await replica.report()) }
        let heartbeat = NodeHeartbeat(
            address: advertisedAddress(bound: address).description,
            labels: configuration.labels.isEmpty ? nil : configuration.labels, partitions: reports)
        do {
            let topology = try await topologySource.heartbeat(nodeID: configuration.nodeID, heartbeat)
            await applier.apply(topology)
        } catch is CancellationError {
            return
        } catch {
            await applier.heartbeatFailed(error)
            return
        }
        await reportISRChanges()
        for replica in replicas.all { await replica.checkpointHighWatermark() }
    }

    /// Sends every ISR change this node's leaders want recorded and applies the topology the controller answers
    /// with; a refusal (the leader was deposed meanwhile) or an unreachable controller leaves the record as it is,
    /// and the next heartbeat asks again.
    func reportISRChanges() async {
        for replica in replicas.all {
            guard let change = await replica.proposedISRChange() else { continue }
            do {
                let topology = try await topologySource.changeISR(change)
                logger.info(
                    "ISR change recorded",
                    metadata: [
                        "stream": "\(change.stream)", "partition.id": "\(change.partition)", "isr": "\(change.isr)",
                        "epoch": "\(change.epoch)",
                    ])
                await applier.apply(topology)
            } catch is CancellationError {
                return
            } catch {
                logger.warning(
                    "ISR change not recorded",
                    metadata: [
                        "stream": "\(change.stream)", "partition.id": "\(change.partition)", "isr": "\(change.isr)",
                        "error": "\(error)",
                    ])
            }
        }
    }

    /// Applies `topology` now, as a heartbeat answer would (tests, and an embedding that pushes topology changes).
    public func apply(_ topology: Topology) async {
        await applier.apply(topology)
    }

    /// One retention pass over every replica.
    func applyRetention() async {
        for replica in replicas.all { await replica.applyRetention() }
    }
}

/// Why a storage node could not do what was asked of it.
public struct StorageNodeError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case stopped
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The node stopped (or failed to start) without listening, so it has no address to give.
    static let stopped = StorageNodeError(.stopped, "the storage node stopped without listening")

    public var isStopped: Bool { code == .stopped }
    public var description: String { message }
}
