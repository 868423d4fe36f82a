import ArgumentParser
import HadronCore
import HadronHTTP
import HadronStorage
import Logging
import ServiceLifecycle

/// `hadron storage --node-id N --listen HOST:PORT --data-dir DIR --controller URL [--advertise HOST:PORT]`: one
/// storage node, following the local controller (DESIGN.md §8).
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

    @Option(help: "Address gateways and followers reach; default: listen address, bound port (HADRON_ADVERTISE).")
    var advertise: String = HadronEnvironment.value(forFlag: "advertise", default: "")

    @Option(
        name: .customLong("replica-lag-limit"),
        help: "Seconds a follower may stay behind its leader before it leaves the ISR (HADRON_REPLICA_LAG_LIMIT).")
    var replicaLagLimit: Double = Double(HadronEnvironment.value(forFlag: "replica-lag-limit", default: "10")) ?? .nan

    func validate() throws {
        guard !nodeID.isEmpty else { throw ValidationError("--node-id (or HADRON_NODE_ID) is required") }
        do { try DNSName.validateLabel(nodeID) } catch {
            throw ValidationError("--node-id \"\(nodeID)\": \(error.message)")
        }
        guard !listen.isEmpty else { throw ValidationError("--listen (or HADRON_LISTEN) is required") }
        guard ServerAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        guard !dataDirectory.isEmpty else { throw ValidationError("--data-dir (or HADRON_DATA_DIR) is required") }
        guard !controller.isEmpty else { throw ValidationError("--controller (or HADRON_CONTROLLER) is required") }
        guard ControllerTopologySource.isValidURL(controller) else {
            throw ValidationError("--controller must be http://HOST:PORT, got \(controller)")
        }
        guard replicaLagLimit.isFinite, replicaLagLimit > 0 else {
            throw ValidationError("--replica-lag-limit must be a positive number of seconds")
        }
        if !advertise.isEmpty, (ServerAddress(advertise)?.port ?? 0) == 0 {
            throw ValidationError("--advertise must be HOST:PORT with a port other than 0, got \(advertise)")
        }
    }

    func run() async throws {
        let logger = CommandLogging.logger(label: "hadron.storage")
        let client = InternalClient(logger: logger)
        let source = try ControllerTopologySource(controllerURL: controller, client: client)
        let configuration = StorageNodeConfiguration(
            nodeID: nodeID, listen: ServerAddress(listen)!, advertise: ServerAddress(advertise),
            dataDirectory: dataDirectory, replicaLagLimit: .seconds(replicaLagLimit))
        let node = StorageNode(configuration: configuration, topologySource: source, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [node], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
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
