import ArgumentParser
import Foundation
import HadronControl
import HadronCore
import HadronGateway
import HadronHTTP
import HadronStorage
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `hadron dev`: the controller, storage nodes and a gateway in one process, no Kubernetes — the embedded default.
///
/// The parts are the same code as the separate processes; only the wiring is in-process: storage nodes heartbeat
/// straight into the controller, and the gateway follows the controller's topology without an HTTP hop. Storage
/// nodes still serve their internal API on loopback, so the gateway reaches leaders exactly as it does in a cluster.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Hadron on this machine in one process: controller, storage and gateway.")

    @Option(
        name: .shortAndLong,
        help: "YAML with Stream resources; without it, a stream `events` with 3 partitions on up to 3 replicas.")
    var file: String = HadronEnvironment.value(forFlag: "file", default: "")

    @Option(name: .customLong("storage-nodes"), help: "How many storage nodes to run (HADRON_STORAGE_NODES).")
    var storageNodes: Int = Int(HadronEnvironment.value(forFlag: "storage-nodes", default: "3")) ?? 3

    @Option(name: .customLong("data-dir"), help: "Where the data lives (HADRON_DATA_DIR).")
    var dataDirectory: String = HadronEnvironment.value(forFlag: "data-dir", default: "./.hadron")

    @Option(help: "The gateway's port on 127.0.0.1; 0 picks a free one (HADRON_PORT).")
    var port: Int = Int(HadronEnvironment.value(forFlag: "port", default: "8080")) ?? 8080

    @OptionGroup var liveness: LivenessOptions

    func validate() throws {
        guard (1...32).contains(storageNodes) else { throw ValidationError("--storage-nodes must be 1 to 32") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        _ = try liveness.timeout()
    }

    /// The stream `hadron dev` runs without `-f`: replicated on as many nodes as run, up to 3, and committed once 2
    /// of them hold an event — Kafka's usual production setting, so failover can be tried locally. With one node it
    /// is the unreplicated stream it always was.
    static func defaultStream(storageNodes: Int) -> StreamResource {
        let replicationFactor = min(3, storageNodes)
        return StreamResource(
            name: "events", partitions: 3, replicationFactor: replicationFactor,
            minInSyncReplicas: min(2, replicationFactor))
    }

    func run() async throws {
        LargeAllocations.keepInHeap()
        let logger = CommandLogging.logger(label: "hadron.dev")
        let streams =
            file.isEmpty ? [Self.defaultStream(storageNodes: storageNodes)] : try ResourceFile.streams(at: file)
        for stream in streams where stream.replicationFactor > storageNodes {
            throw ValidationError(
                "stream \(stream.name) has replicationFactor \(stream.replicationFactor) but only \(storageNodes) "
                    + "storage node\(storageNodes == 1 ? "" : "s") run: use --storage-nodes \(stream.replicationFactor)")
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let controller = LocalController(streams: streams, livenessTimeout: try liveness.timeout(), logger: logger)
        let heartbeats = HeartbeatTopologySource { nodeID, heartbeat in
            await controller.heartbeat(nodeID: nodeID, heartbeat)
        } changeISR: { change in
            try await controller.changeISR(change)
        }
        let nodes = (0..<storageNodes).map { index in
            StorageNode(
                configuration: StorageNodeConfiguration(
                    nodeID: "storage-\(index)", listen: ServerAddress(host: "127.0.0.1", port: 0),
                    dataDirectory: dataDirectory + "/storage-\(index)"),
                topologySource: heartbeats, logger: logger)
        }
        let feed = TopologyFeed()
        let gateway = try Gateway(
            configuration: GatewayConfiguration(listen: ServerAddress(host: "127.0.0.1", port: port)),
            topologySource: feed, registry: registry, logger: logger)
        let services: [any Service] =
            nodes + [gateway, LivenessTicker(controller: controller), TopologyRelay(controller: controller, feed: feed)]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                guard let line = try? await gateway.readyLine(), let address = try? await gateway.listeningAddress()
                else { return }
                CommandLogging.announce(line)
                let names = streams.map { "\($0.name) (\($0.partitions) partitions)" }.joined(separator: ", ")
                CommandLogging.announce(
                    """
                    hadron dev: publish to http://localhost:\(address.port)/v1/streams/{stream}
                    hadron dev: streams \(names); \(storageNodes) storage node\(storageNodes == 1 ? "" : "s"); data in \(dataDirectory)
                    hadron dev: topology at http://localhost:\(address.port)/v1/topology, metrics at /metrics
                    """)
            }
            try await tasks.waitForAll()
        }
    }
}

/// Hands every topology the in-process controller publishes to the gateway.
struct TopologyRelay: Service {
    let controller: LocalController
    let feed: TopologyFeed

    func run() async throws {
        let updates = await controller.watch()
        // Ending the iteration on shutdown is enough: the stream finishes when its task is cancelled.
        await cancelWhenGracefulShutdown {
            for await topology in updates { feed.publish(topology) }
        }
    }
}
