import HadronTestSupport
import CloudEvents
import Foundation
import HadronCore
import HadronGateway
import HadronHTTP
import HTTPTypes
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Testing

/// A gateway on port 0 in front of a ``FakeStorage``, with its topology fed directly: one stream `events`, every
/// partition led by the double at its epoch.
final class GatewayHarness: Sendable {
    let storage: FakeStorage
    let feed: TopologyFeed
    let gateway: Gateway
    let port: Int
    let client: InternalClient
    let partitions: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(
        storage: FakeStorage, feed: TopologyFeed, gateway: Gateway, port: Int, client: InternalClient, partitions: Int,
        group: ServiceGroup, task: Task<Void, any Error>
    ) {
        self.storage = storage
        self.feed = feed
        self.gateway = gateway
        self.port = port
        self.client = client
        self.partitions = partitions
        self.group = group
        self.task = task
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Runs `body` against a fresh harness, stopping it afterwards whatever happens.
    static func with<Result: Sendable>(
        partitions: Int = 3, publishTopology: Bool = true,
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        _ body: (GatewayHarness) async throws -> Result
    ) async throws -> Result {
        let harness = try await start(partitions: partitions, publishTopology: publishTopology, configure: configure)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    static func start(
        partitions: Int, publishTopology: Bool, configure: (inout GatewayConfiguration) -> Void
    ) async throws -> GatewayHarness {
        let storage = try await FakeStorage.start()
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        var configuration = GatewayConfiguration(listen: ServerAddress(host: "127.0.0.1", port: 0))
        configuration.keepAliveInterval = .milliseconds(500)
        configuration.writeRetryWindow = .seconds(3)
        configure(&configuration)
        let feed = TopologyFeed()
        let gateway = try Gateway(
            configuration: configuration, topologySource: feed, registry: PrometheusCollectorRegistry(), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [gateway], logger: logger))
        let task = Task { try await group.run() }
        let port = try await gateway.listeningAddress().port
        let harness = GatewayHarness(
            storage: storage, feed: feed, gateway: gateway, port: port, client: InternalClient(logger: logger),
            partitions: partitions, group: group, task: task)
        if publishTopology {
            feed.publish(harness.topology(epoch: 1))
            try await eventually("the gateway is ready") { gateway.isReady }
        }
        return harness
    }

    /// The topology of stream `events` led by the double at `epoch` (no leader when `leader` is false).
    func topology(epoch: Int32, leader: Bool = true, version: Int64 = 1) -> Topology {
        let infos = (0..<partitions).map { partition in
            PartitionInfo(
                partition: partition, leader: leader ? "storage-0" : nil, epoch: epoch, replicas: ["storage-0"],
                isr: ["storage-0"], state: leader ? .online : .unavailable)
        }
        return Topology(
            version: version, streams: [StreamTopology(name: "events", partitions: infos)],
            nodes: [NodeInfo(id: "storage-0", address: storage.address, ready: true)])
    }

    /// Starts the gateway's graceful shutdown without waiting for it.
    func beginShutdown() async {
        await group.triggerGracefulShutdown()
    }

    func stop() async {
        await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = await task.result
        await storage.stop()
    }

    // MARK: Requests

    /// A request over h2c (the same port as HTTP/1.1).
    func h2c(
        _ method: HTTPRequest.Method, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try await client.execute(
            InternalRequest(
                method: method, path: path, headerFields: fields, body: body.isEmpty ? nil : ByteBuffer(bytes: body)),
            to: address, timeout: .seconds(30))
        return TestResponse(
            status: Int(response.status.code),
            headers: response.headerFields.map { ($0.name.canonicalName, $0.value) },
            body: Array(response.body.readableBytesView))
    }

    /// A request over HTTP/1.1 on its own connection.
    func http1(
        _ method: HTTPRequest.Method, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        try await HTTP1Connection.request(
            port: port, .init(rawValue: method.rawValue), path, headers: headers, body: body)
    }

    /// Reads partition `partition` from `offset` and decodes the batch, with the gateway's added attributes.
    func read(partition: Int, offset: Int64 = 0, max: Int = 100) async throws -> [CloudEvent] {
        let response = try await http1(
            .get, "/v1/streams/events/partitions/\(partition)/events?offset=\(offset)&max=\(max)")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("content-type") == "application/cloudevents-batch+json")
        return try JSONEventFormat.decodeBatch(response.body)
    }
}

/// Decodes `{"events":[{"partition":P,"offset":O}…]}`.
func acceptedPositions(_ response: TestResponse) throws -> [(partition: Int, offset: Int64)] {
    let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
    let events = try #require(object?["events"] as? [[String: Any]], "\(response.text)")
    return try events.map { entry in
        (try #require(entry["partition"] as? Int), Int64(try #require(entry["offset"] as? Int)))
    }
}

/// The members of a problem+json body.
func problem(_ response: TestResponse) throws -> [String: Any] {
    try #require(response.header("content-type") == "application/problem+json", "\(response.status) \(response.text)")
    return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
}

/// Waits for `condition` to hold, checking every few milliseconds, failing after `timeout`.
func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A binary-mode event's headers.
func binaryHeaders(id: String, key: String? = nil, contentType: String = "application/json") -> [(String, String)] {
    var headers = [
        ("ce-specversion", "1.0"), ("ce-id", id), ("ce-source", "/tests"), ("ce-type", "com.example.test"),
        ("Content-Type", contentType),
    ]
    if let key { headers.append(("ce-partitionkey", key)) }
    return headers
}
