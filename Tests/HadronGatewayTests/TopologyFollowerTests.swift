import Foundation
import HadronCore
import HadronGateway
import HadronHTTP
import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A controller double: each topology watch gets the next version, split across chunks, then the stream ends.
private struct WatchOnceController: HTTPResponder {
    typealias Context = BasicRequestContext
    let watches: WatchCounter

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.uri.path == "/v1/topology", request.uri.queryParameters["watch"] == "true" else {
            return Response(status: .notFound)
        }
        let version = watches.next()
        let json = try JSONEncoder().encode(Topology(version: version))
        let event = Array("event: topology\ndata: ".utf8) + Array(json) + Array("\n\n".utf8)
        let half = event.count / 2
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: .init { writer in
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                try await writer.write(ByteBuffer(bytes: event[..<half]))
                try await writer.write(ByteBuffer(bytes: event[half...]))
                try await writer.finish(nil)
            })
    }
}

/// Counts the watches the double has answered.
private final class WatchCounter: Sendable {
    private let count = Mutex<Int64>(0)

    func next() -> Int64 {
        count.withLock { count in
            count += 1
            return count
        }
    }
}

@Suite("Following the controller")
struct TopologyFollowerTests {
    @Test("the follower decodes watch events split across chunks and reconnects when the watch ends")
    func reconnects() async throws {
        var logger = Logger(label: "follower-test")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: WatchOnceController(watches: WatchCounter()), server: .plaintextHTTP2(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let client = InternalClient(logger: logger)
        var follower = try TopologyFollower(controller: "http://127.0.0.1:\(port)/", client: client, logger: logger)
        follower.initialBackoff = .milliseconds(10)
        let seen = Mutex<[Int64]>([])
        let following = Task { [follower] in
            try await follower.follow { topology in seen.withLock { $0.append(topology.version) } }
        }
        try await eventually("two watches delivered") { seen.withLock { $0.count >= 2 } }
        following.cancel()
        _ = await following.result
        #expect(Array(seen.withLock { $0 }.prefix(2)) == [1, 2])
        await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = await server.result
    }

    @Test("a controller URL that is not http://HOST:PORT is refused")
    func badURL() {
        let logger = Logger(label: "follower-test")
        let client = InternalClient(logger: logger)
        #expect(throws: GatewayError.self) {
            try TopologyFollower(controller: "https://c:1", client: client, logger: logger)
        }
        #expect(throws: GatewayError.self) {
            try TopologyFollower(controller: "http://c", client: client, logger: logger)
        }
        #expect(throws: GatewayError.self) {
            try TopologyFollower(controller: "http://c:1/x", client: client, logger: logger)
        }
    }
}
