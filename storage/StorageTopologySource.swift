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
}

/// A topology source made of a closure: the in-process controller of `hadron dev`, or a test's fixed topology.
public struct HeartbeatTopologySource: StorageTopologySource {
    private let body: @Sendable (String, NodeHeartbeat) async throws -> Topology

    public init(_ body: @escaping @Sendable (_ nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology) {
        self.body = body
    }

    public func heartbeat(nodeID: String, _ heartbeat: NodeHeartbeat) async throws -> Topology {
        try await body(nodeID, heartbeat)
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
        let encoded = try JSONEncoder().encode(heartbeat)
        var request = InternalRequest(
            method: .post, path: "/v1/nodes/\(nodeID)/heartbeat", body: ByteBuffer(bytes: encoded))
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
        case invalidControllerURL, controllerRefused
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

    /// The `--controller` value is not an `http://HOST:PORT` URL: a configuration error, not worth retrying.
    public var isInvalidControllerURL: Bool { code == .invalidControllerURL }

    public var description: String { message }
}
