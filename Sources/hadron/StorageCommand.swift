import ArgumentParser
import NIOCore
import NIOPosix
import ClusterTopology
import HadronCore
import HadronHTTP
import HadronStorage
import Logging
import ServiceLifecycle

/// `hadron storage --node-id N --listen HOST:PORT --data-dir DIR (--controller URL | --kubernetes)
/// [--advertise HOST:PORT]`: one storage node, following the local controller or the cluster's Stream resources
/// (DESIGN.md §8).
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Run a storage node: hosts partition replicas and serves the internal append/fetch API (h2c).")

    @Option(
        name: .customLong("node-id"), help: "This node's name, a DNS-1123 label such as storage-0 (HADRON_NODE_ID).")
    var nodeID: String = HadronEnvironment.value(forFlag: "node-id", default: "")

    @Option(help: "Address of the internal API (HOST:PORT; port 0 picks a free port) (HADRON_LISTEN).")
    var listen: String = HadronEnvironment.value(forFlag: "listen", default: "")

    @Option(name: .customLong("data-dir"), help: "Directory holding the partition replicas (HADRON_DATA_DIR).")
    var dataDirectory: String = HadronEnvironment.value(forFlag: "data-dir", default: "")

    @Option(help: "The local controller's URL, http://HOST:PORT (HADRON_CONTROLLER).")
    var controller: String = HadronEnvironment.value(forFlag: "controller", default: "")

    @OptionGroup var cluster: KubernetesOptions

    @Option(
        name: .customLong("operator-url"),
        help: "With --kubernetes: where ISR reports go, the operator's Service http://HOST:PORT (HADRON_OPERATOR_URL).")
    var operatorURL: String = HadronEnvironment.value(
        forFlag: "operator-url", default: "http://hadron-operator.hadron-system.svc:8081")

    @Option(help: "Address gateways and followers reach; default: listen address, bound port (HADRON_ADVERTISE).")
    var advertise: String = HadronEnvironment.value(forFlag: "advertise", default: "")

    @Option(
        name: .customLong("replica-lag-limit"),
        help: "Seconds a follower may stay behind its leader before it leaves the ISR (HADRON_REPLICA_LAG_LIMIT).")
    var replicaLagLimit: Double = Double(HadronEnvironment.value(forFlag: "replica-lag-limit", default: "10")) ?? .nan

    @OptionGroup var loops: EventLoopOptions

    func validate() throws {
        guard !nodeID.isEmpty else { throw ValidationError("--node-id (or HADRON_NODE_ID) is required") }
        do { try DNSName.validateLabel(nodeID) } catch {
            throw ValidationError("--node-id \"\(nodeID)\": \(error.message)")
        }
        guard !listen.isEmpty else { throw ValidationError("--listen (or HADRON_LISTEN) is required") }
        guard ServerAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        guard !dataDirectory.isEmpty else { throw ValidationError("--data-dir (or HADRON_DATA_DIR) is required") }
        if cluster.kubernetes {
            guard controller.isEmpty else { throw ValidationError("--controller and --kubernetes exclude each other") }
            guard ControllerTopologySource.isValidURL(operatorURL) else {
                throw ValidationError("--operator-url must be http://HOST:PORT, got \(operatorURL)")
            }
        } else {
            guard !controller.isEmpty else {
                throw ValidationError("--controller (or HADRON_CONTROLLER) or --kubernetes is required")
            }
            guard ControllerTopologySource.isValidURL(controller) else {
                throw ValidationError("--controller must be http://HOST:PORT, got \(controller)")
            }
        }
        guard replicaLagLimit.isFinite, replicaLagLimit > 0 else {
            throw ValidationError("--replica-lag-limit must be a positive number of seconds")
        }
        if !advertise.isEmpty, (ServerAddress(advertise)?.port ?? 0) == 0 {
            throw ValidationError("--advertise must be HOST:PORT with a port other than 0, got \(advertise)")
        }
    }

    func run() async throws {
        LargeAllocations.keepInHeap()
        let onEventLoops = loops.install()
        let logger = CommandLogging.logger(label: "hadron.storage")
        if !onEventLoops {
            logger.warning("Swift concurrency could not be moved onto the event loops; running on its default pool")
        }
        let client = InternalClient(resolve: cluster.addressOverrides, logger: logger)
        let watch = cluster.kubernetes ? try cluster.topologyWatch(logger: logger) : nil
        let source: any StorageTopologySource =
            if let watch {
                try KubernetesTopologySource(watch: watch, operatorURL: operatorURL, client: client)
            } else {
                try ControllerTopologySource(controllerURL: controller, client: client)
            }
        var configuration = StorageNodeConfiguration(
            nodeID: nodeID, listen: ServerAddress(listen)!, advertise: ServerAddress(advertise),
            dataDirectory: dataDirectory, replicaLagLimit: .seconds(replicaLagLimit))
        configuration.resolve = cluster.addressOverrides
        let node = StorageNode(configuration: configuration, topologySource: source, logger: logger)
        // With Kubernetes, leadership changes apply as the watch sees them, not at the next heartbeat; the watch
        // stops first on shutdown (services stop in reverse order).
        let services: [any Service] = [node] + (watch.map { [TopologyPush(watch: $0, node: node)] } ?? [])
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                // Fails only when the node stopped before it listened; group.run() reports why.
                if let address = try? await node.listeningAddress() {
                    CommandLogging.announce("hadron storage listening on http://\(address)")
                }
            }
            try await tasks.waitForAll()
        }
        await client.shutdown()
    }
}

/// Applies every topology the cluster's Stream watch sees to the storage node as it arrives.
private struct TopologyPush: Service {
    let watch: ClusterTopologyWatch
    let node: StorageNode

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await watch.follow { await node.apply($0) }
        }
    }
}
