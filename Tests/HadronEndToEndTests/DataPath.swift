import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import Testing

/// `hadron controller`, `hadron storage` and `hadron gateway` as three real processes on loopback, as in a cluster
/// (one process per pod), with the storage node restartable on its data directory.
final class DataPath: @unchecked Sendable {
    // @unchecked: `storage` is replaced only by `restartStorage()`, which tests call from one task at a time.
    let cluster: LocalCluster
    let controller: ChildProcess
    let controllerAddress: String
    private(set) var storage: ChildProcess
    let gateway: ChildProcess
    let gatewayAddress: String
    let storageDirectory: String

    static let streams = """
        apiVersion: hadron.dev/v1alpha1
        kind: Stream
        metadata: {name: events}
        spec: {partitions: 3}
        """

    init(streams yaml: String = DataPath.streams) async throws {
        cluster = try LocalCluster()
        (controller, controllerAddress) = try await cluster.controller(streams: yaml)
        storageDirectory = cluster.directory.path + "/storage-0"
        storage = try Self.startStorage(cluster, controller: controllerAddress, directory: storageDirectory)
        _ = try await storage.listeningAddress(role: "storage")
        gateway = try cluster.start(
            "gateway", ["gateway", "--listen", "127.0.0.1:0", "--controller", "http://\(controllerAddress)"])
        gatewayAddress = try await gateway.listeningAddress(role: "gateway")
        try await waitUntilReady()
    }

    private static func startStorage(_ cluster: LocalCluster, controller: String, directory: String) throws -> ChildProcess {
        try cluster.start(
            "storage",
            ["storage", "--node-id", "storage-0", "--listen", "127.0.0.1:0", "--data-dir", directory,
             "--controller", "http://\(controller)"])
    }

    var gatewayPort: Int { ServerAddress(gatewayAddress)!.port }

    /// The gateway's `/readyz` answers 200 once every partition has a leader it can reach.
    func waitUntilReady() async throws {
        _ = try await eventually("the gateway to be ready") { () -> Bool? in
            let response = try await self.request(.get, "/readyz")
            return response.status == .ok ? true : nil
        }
    }

    /// SIGKILLs the storage node and starts it again on the same data directory.
    func restartStorage() async throws {
        await storage.kill()
        storage = try Self.startStorage(cluster, controller: controllerAddress, directory: storageDirectory)
        _ = try await storage.listeningAddress(role: "storage")
    }

    /// Kills every process now; tests call it from `defer`.
    func stop() {
        for process in [gateway, storage, controller] { process.killNow() }
    }

    func request(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: [UInt8] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> InternalResponse {
        try await cluster.client.execute(
            InternalRequest(method: method, path: path, headerFields: headers, body: ByteBuffer(bytes: body)),
            to: gatewayAddress, timeout: timeout)
    }

    func publish(_ fields: HTTPFields, _ body: [UInt8]) async throws -> InternalResponse {
        try await request(.post, "/v1/streams/events", headers: fields, body: body)
    }

    /// Every event of a partition from `offset`, reading until a read comes back empty.
    func readAll(partition: Int, from offset: Int64 = 0) async throws -> [CloudEvent] {
        var events: [CloudEvent] = []
        var next = offset
        while true {
            let response = try await request(.get, "/v1/streams/events/partitions/\(partition)/events?offset=\(next)&max=1000")
            try #require(response.status == .ok, "read answered \(response.status): \(String(buffer: response.body))")
            let batch = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
            guard let last = batch.last else { return events }
            events += batch
            next = last.offset + 1
        }
    }
}

/// The published acknowledgement: `{"events":[{"partition":P,"offset":O}]}`.
struct Acknowledgement: Decodable {
    struct Position: Decodable, Hashable {
        var partition: Int
        var offset: Int64
    }
    var events: [Position]

    init(_ response: InternalResponse) throws {
        self = try JSONDecoder().decode(Acknowledgement.self, from: Data(response.body.readableBytesView))
    }
}

extension CloudEvent {
    /// The `hadronoffset` a read added.
    var offset: Int64 {
        if case .string(let text) = extensions["hadronoffset"], let value = Int64(text) { return value }
        return -1
    }

    var partition: Int {
        if case .integer(let value) = extensions["hadronpartition"] { return Int(value) }
        return -1
    }

    /// The event as published: without the attributes reads add.
    var withoutReadAttributes: CloudEvent {
        var copy = self
        copy.extensions["hadronoffset"] = nil
        copy.extensions["hadronpartition"] = nil
        return copy
    }
}
