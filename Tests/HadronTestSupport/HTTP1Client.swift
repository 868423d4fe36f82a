import NIOCore
public import NIOHTTP1
import NIOPosix

/// A response as the test client read it.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal HTTP/1.1 client over NIO: one keep-alive connection, one request at a time, exact bytes. The gateway's
/// HTTP/1.1 path is what most webhook senders use, so tests speak it for real rather than through a framework.
public final class HTTP1Connection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    private init(
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Opens a connection to 127.0.0.1:`port`, runs `body` with it, closes it.
    public static func with<Result: Sendable>(
        port: Int, _ body: (HTTP1Connection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // As addHTTPClientHandlers, but 1xx answers reach the test (the default drops them).
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)))
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(HTTP1Connection(inbound: inbound.makeAsyncIterator(), outbound: outbound))
        }
    }

    /// Opens a TCP connection to 127.0.0.1:`port` that sends nothing while `body` runs, then closes it.
    public static func withIdle(port: Int, _ body: () async throws -> Void) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        do {
            try await body()
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }

    /// One request on a fresh connection.
    public static func request(
        port: Int, _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        try await with(port: port) { try await $0.request(method, path, headers: headers, body: body) }
    }

    public func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        try await send(method, path, headers: headers, body: body)
        return try await readResponse()
    }

    /// The next whole response; with requests pipelined, the answer to the oldest unanswered one.
    public func readResponse() async throws -> TestResponse {
        var response = try await readHead()
        while let chunk = try await readChunk() { response.body += chunk }
        return response
    }

    /// Whether the server closed the connection rather than sending anything more.
    public func isClosedByServer() async throws -> Bool {
        try await inbound.next() == nil
    }

    public func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        try await outbound.write(.head(head))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
    }

    /// The status and headers of the next response.
    public func readHead() async throws -> TestResponse {
        while let part = try await inbound.next() {
            if case .head(let head) = part, head.status.code >= 200 {
                return TestResponse(
                    status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: [])
            }
        }
        throw TestFailure("the connection closed before a response head")
    }

    /// The status of the next response head, informational (1xx) ones included.
    public func readAnyStatus() async throws -> Int {
        while let part = try await inbound.next() {
            if case .head(let head) = part { return Int(head.status.code) }
        }
        throw TestFailure("the connection closed before a response head")
    }

    /// The next piece of the body, nil at its end.
    public func readChunk() async throws -> [UInt8]? {
        while let part = try await inbound.next() {
            switch part {
            case .body(let buffer): return Array(buffer.readableBytesView)
            case .end: return nil
            case .head: continue
            }
        }
        throw TestFailure("the connection closed inside a response body")
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
