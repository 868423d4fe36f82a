import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import SegmentLog
import Testing

/// `hadron controller`, three `hadron storage` and one `hadron gateway` as real processes on loopback — a
/// replicated local cluster, one process per pod — with each storage node killable, suspendable and restartable on
/// its own data directory.
final class ReplicatedDataPath: ThreeReplicaDataPath, @unchecked Sendable {
    // @unchecked: `storage` entries are replaced only by `restart(_:)`, which tests call from one task at a time.
    let cluster: LocalCluster
    let controller: ChildProcess
    let controllerAddress: String
    private(set) var storage: [ChildProcess] = []
    private(set) var storageAddresses: [String] = []
    let gateway: ChildProcess
    let gatewayAddress: String

    static let streams = """
        apiVersion: hadron.dev/v1alpha1
        kind: Stream
        metadata: {name: events}
        spec: {partitions: 3, replicationFactor: 3, minInSyncReplicas: 2}
        """

    /// `livenessTimeout` is how long the controller waits for a silent leader before failing over.
    init(livenessTimeout: Duration = .seconds(3)) async throws {
        cluster = try LocalCluster()
        let seconds = Double(livenessTimeout.components.seconds)
            + Double(livenessTimeout.components.attoseconds) / 1e18
        controller = try cluster.start(
            "controller",
            ["controller", "-f", try cluster.resources(Self.streams), "--listen", "127.0.0.1:0",
             "--liveness-timeout", "\(seconds)"])
        controllerAddress = try await controller.listeningAddress(role: "controller")
        for index in 0..<Self.nodes {
            let process = try Self.startStorage(index, cluster: cluster, controller: controllerAddress)
            storage.append(process)
            storageAddresses.append(try await process.listeningAddress(role: "storage"))
        }
        gateway = try cluster.start(
            "gateway", ["gateway", "--listen", "127.0.0.1:0", "--controller", "http://\(controllerAddress)"])
        gatewayAddress = try await gateway.listeningAddress(role: "gateway")
        _ = try await eventually("the gateway to be ready") { () -> Bool? in
            try await self.request(.get, "/readyz").status == .ok ? true : nil
        }
        try await waitUntilFullyInSync()
    }

    static func nodeID(_ index: Int) -> String { "storage-\(index)" }
    func nodeID(_ index: Int) -> String { Self.nodeID(index) }
    func dataDirectory(_ index: Int) -> String { Self.dataDirectory(index, cluster: cluster) }

    private static func dataDirectory(_ index: Int, cluster: LocalCluster) -> String {
        cluster.directory.path + "/\(nodeID(index))"
    }

    private static func startStorage(_ index: Int, cluster: LocalCluster, controller: String) throws -> ChildProcess {
        try cluster.start(
            nodeID(index),
            // Three nodes share this machine's cores: one network thread each, as the bench runs them.
            ["storage", "--node-id", nodeID(index), "--listen", "127.0.0.1:0", "--data-dir",
             dataDirectory(index, cluster: cluster), "--controller", "http://\(controller)", "--event-loops", "1"])
    }

    /// SIGKILLs node `index`.
    func kill(_ index: Int) async { await storage[index].kill() }

    /// Starts node `index` again on its data directory (after ``kill(_:)``).
    func restart(_ index: Int) async throws {
        storage[index] = try Self.startStorage(index, cluster: cluster, controller: controllerAddress)
        storageAddresses[index] = try await storage[index].listeningAddress(role: "storage")
    }

    func stop() {
        for process in [gateway] + storage + [controller] { process.killNow() }
    }

    // MARK: - Topology

    func topology() async throws -> Topology {
        let response = try await cluster.client.execute(
            InternalRequest(method: .get, path: "/v1/topology"), to: controllerAddress, timeout: .seconds(10))
        return try JSONDecoder().decode(Topology.self, from: Data(response.body.readableBytesView))
    }

    func partition(_ partition: Int) async throws -> PartitionInfo {
        try #require(try await topology().stream(named: "events")?.partition(partition))
    }

    /// Waits until every partition is online with all three replicas in sync.
    func waitUntilFullyInSync(timeout: Duration = .seconds(60)) async throws {
        _ = try await eventually(timeout: timeout, "every partition online with a full ISR") { () -> Bool? in
            let partitions = try await self.topology().stream(named: "events")?.partitions ?? []
            let ready = partitions.count == Self.partitions
                && partitions.allSatisfy { $0.state == .online && $0.isr.count == Self.nodes }
            return ready ? true : nil
        }
    }

}
