public import ClusterTopology
import Foundation
public import HadronCore
public import HadronHTTP
import NIOCore

/// The topology source of `hadron storage --kubernetes`: the cluster's Stream custom resources, as the operator
/// records leadership in their status (DESIGN.md §6), and the operator's HTTP API for ISR reports.
///
/// There is no heartbeat to send in Kubernetes — the operator judges a storage pod by its readiness — so a heartbeat
/// only answers with the topology the watch last saw. ISR reports go to the operator (`--operator-url`, its Service);
/// the operator answers once the change is in the Stream's status, and this source then waits until its own watch
/// shows it, so the node applies a topology that already holds the record (a shrink counts only once recorded:
/// KIP-497).
public struct KubernetesTopologySource: StorageTopologySource {
    private let watch: ClusterTopologyWatch
    private let operatorAddress: ServerAddress
    private let client: InternalClient
    private let timeout: Duration

    /// - Parameters:
    ///   - operatorURL: `http://HOST:PORT` of the operator's HTTP API (any replica: followers forward to the leader).
    public init(
        watch: ClusterTopologyWatch, operatorURL: String, client: InternalClient, timeout: Duration = .seconds(10)
    ) throws(TopologySourceError) {
        guard let address = ControllerTopologySource.address(of: operatorURL) else {
            throw TopologySourceError.invalidControllerURL(operatorURL)
        }
        self.watch = watch
        self.operatorAddress = address
        self.client = client
        self.timeout = timeout
    }

    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology {
        guard let topology = await watch.current else { throw TopologySourceError.noTopologyYet }
        return topology
    }

    public func changeISR(_ change: ISRChange) async throws -> Topology {
        let path =
            "/v1/namespaces/\(watch.namespace)/streams/\(change.stream)/partitions/\(change.partition)/isr"
        var request = InternalRequest(method: .post, path: path, body: ByteBuffer(bytes: try JSONEncoder().encode(change)))
        request.headerFields[.contentType] = "application/json"
        let response = try await client.execute(request, to: operatorAddress.description, timeout: timeout)
        guard response.status == .ok else {
            throw TopologySourceError.controllerRefused(
                status: response.status.code,
                detail: ProblemDetails.detail(in: response.body) ?? String(buffer: response.body))
        }
        let recorded = try JSONDecoder().decode(PartitionInfo.self, from: Data(response.body.readableBytesView))
        let shown = await watch.waitUntil(timeout: timeout) { topology in
            guard let partition = topology.stream(named: change.stream)?.partition(change.partition) else { return false }
            return partition.epoch > recorded.epoch || (partition.epoch == recorded.epoch && partition.isr == recorded.isr)
        }
        guard let shown else { throw TopologySourceError.noTopologyYet }
        return shown
    }
}
