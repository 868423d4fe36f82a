public import HadronCore
public import HadronHTTP
import HTTPTypes
import Foundation
import NIOCore

/// Where a storage node learns which replicas it hosts and who leads them.
///
/// The node reports itself every heartbeat interval and applies the topology it gets back. Behind this protocol:
/// the local controller over HTTP (``ControllerTopologySource``), the controller in the same process
/// (`hadron dev`, ``HeartbeatTopologySource``), a test feeding a topology directly, and later the Kubernetes watch.
public protocol StorageTopologySource: Sendable {
    /// Reports `heartbeat` for node `nodeID` and returns the current topology.
    func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology

    /// Asks the controller to record a partition leader's new in-sync replica set and returns the topology after
    /// it. Throws when the controller refuses (the caller no longer leads at that epoch) or cannot be reached; the
    /// leader keeps its recorded ISR and asks again later.
    func changeISR(_ change: ISRChange) async throws -> Topology
}

/// A topology source made of closures: the in-process controller of `hadron dev`, or a test's own topology.
public struct HeartbeatTopologySource: StorageTopologySource {
    private let heartbeatBody: @Sendable (String, NodeHeartbeat) async throws -> Topology
    private let changeISRBody: @Sendable (ISRChange) async throws -> Topology

    public init(
        heartbeat: @escaping @Sendable (_ nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology,
        changeISR: @escaping @Sendable (_ change: ISRChange) async throws -> Topology
    ) {
        self.heartbeatBody = heartbeat
        self.changeISRBody = changeISR
    }

    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology {
        try await heartbeatBody(nodeID, heartbeat)
    }

    public func changeISR(_ change: ISRChange) async throws -> Topology {
        try await changeISRBody(change)
    }
}

/// The local controller (`hadron controller`) over its internal API: `POST /v1/nodes/{id}/heartbeat`, answered
/// with the topology (docs/internal-api.md). Speaks h2c through the shared ``InternalClient``.
public struct ControllerTopologySource: StorageTopologySource {
    private let controller: ServerAddress
    private let client: InternalClient
    private let timeout: Duration

    /// `controllerURL` is `http://HOST:PORT` (a path, if any, is ignored: the API's paths are fixed).
    public init(controllerURL: String, client: InternalClient, timeout: Duration = .seconds(5))
        throws(TopologySourceError)
    {
        guard let address = Self.address(of: controllerURL) else {
            throw TopologySourceError.invalidControllerURL(controllerURL)
        }
        self.controller = address
        self.client = client
        self.timeout = timeout
    }

    /// Whether `url` is an `http://HOST:PORT` URL this source accepts.
    public static func isValidURL(_ url: String) -> Bool { address(of: url) != nil }

    static func address(of url: String) -> ServerAddress? {
        guard url.lowercased().hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return ServerAddress(String(authority))
    }

    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology {
        try await post(heartbeat, to: "/v1/nodes/\(nodeID)/heartbeat")
    }

    public func changeISR(_ change: ISRChange) async throws -> Topology {
        let path = "/v1/streams/\(change.stream)/partitions/\(change.partition)/isr"
        return try await post(change, to: path)
    }

    /// Posts `body` as JSON and decodes the topology the controller answers with.
    private func post(_ body: some Encodable, to path: String) async throws -> Topology {
        let encoded = try JSONEncoder().encode(body)
        var request = InternalRequest(method: .post, path: path, body: ByteBuffer(bytes: encoded))
        request.headerFields[.contentType] = "application/json"
        let response = try await client.execute(request, to: controller.description, timeout: timeout)
        guard response.status == .ok else {
            throw TopologySourceError.controllerRefused(
                status: response.status.code,
                detail: ProblemDetails.detail(in: response.body) ?? String(buffer: response.body))
        }
        return try JSONDecoder().decode(Topology.self, from: Data(response.body.readableBytesView))
    }
}

/// Why the controller could not be asked, or refused a heartbeat.
public struct TopologySourceError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case invalidControllerURL, controllerRefused, noTopologyYet
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func invalidControllerURL(_ url: String) -> TopologySourceError {
        TopologySourceError(.invalidControllerURL, "the controller URL \"\(url)\" is not http://HOST:PORT")
    }

    static func controllerRefused(status: Int, detail: String) -> TopologySourceError {
        TopologySourceError(.controllerRefused, "the controller answered \(status): \(detail)")
    }

    static let noTopologyYet = TopologySourceError(
        .noTopologyYet, "the Stream resources of the cluster have not been listed yet")

    /// The `--controller` value is not an `http://HOST:PORT` URL: a configuration error, not worth retrying.
    public var isInvalidControllerURL: Bool { code == .invalidControllerURL }

    public var description: String { message }
}
