public import HTTPTypes
public import Logging
public import NIOCore
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
public import NIOPosix
import Synchronization

/// A request between Hadron's tiers (docs/internal-api.md).
public struct InternalRequest: Sendable {
    public var method: HTTPRequest.Method
    public var path: String
    public var headerFields: HTTPFields
    public var body: ByteBuffer?

    public init(method: HTTPRequest.Method, path: String, headerFields: HTTPFields = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.path = path
        self.headerFields = headerFields
        self.body = body
    }

    /// The HTTP/2 request head for a peer at `authority`.
    func head(authority: String) -> HTTPRequest {
        var head = HTTPRequest(method: method, scheme: "http", authority: authority, path: path)
        head.headerFields = headerFields
        return head
    }
}

/// A complete response: internal answers are bounded (a fetch is capped by `maxBytes`), so they are collected.
public struct InternalResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: ByteBuffer

    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: ByteBuffer) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }
}

/// Why an internal request did not produce a response.
public struct InternalClientError: Error, Sendable, CustomStringConvertible {
    public let address: String
    public let message: String
    /// False when the request certainly did not reach the peer (no connection, no stream, not fully written), so
    /// sending it again cannot apply it twice. True when the peer may have acted on it before the failure.
    public let requestMayHaveBeenProcessed: Bool

    public init(address: String, message: String, requestMayHaveBeenProcessed: Bool = true) {
        self.address = address
        self.message = message
        self.requestMayHaveBeenProcessed = requestMayHaveBeenProcessed
    }

    public var description: String { "\(address): \(message)" }

    /// Whether `error`, thrown by an ``InternalClient`` call, leaves open that the peer processed the request.
    public static func mayHaveBeenProcessed(_ error: any Error) -> Bool {
        (error as? InternalClientError)?.requestMayHaveBeenProcessed ?? true
    }
}

/// The HTTP/2 client the tiers talk to each other with: one persistent h2c connection per peer, every request its
/// own stream, so concurrent appends, fetches and long polls to one leader share a socket without head-of-line
/// blocking. A connection that fails is dropped and the next request reconnects.
public final class InternalClient: Sendable {
    private let pool: ConnectionPool
    private let logger: Logger

    /// - Parameter resolve: host names to dial elsewhere (`--resolve NAME=HOST:PORT`, DESIGN.md §6): a request to
    ///   `NAME:any-port` connects to `HOST:PORT`, as curl's `--resolve` does, so processes outside a cluster can stand
    ///   in for its Services and pods. Requests still name `NAME` (the `:authority`); only the connection moves.
    public init(
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, resolve: AddressOverrides = .init(),
        logger: Logger
    ) {
        self.pool = ConnectionPool(eventLoopGroup: eventLoopGroup, resolve: resolve, logger: logger)
        self.logger = logger
    }

    /// Sends `request` to `address` (`HOST:PORT`) and waits for the whole response, at most `timeout`.
    ///
    /// A pooled connection the peer has just closed (an idle timeout, a GOAWAY, a restart) fails the request before
    /// any of it is sent; that request is sent once more on a fresh connection, since it cannot have been applied.
    /// - Parameter cancellation: ends the request early from outside the waiting task (it fails with
    ///   `CancellationError`), without a task of its own to watch for the reason.
    public func execute(
        _ request: InternalRequest, to address: String, timeout: Duration = .seconds(30),
        cancellation: RequestCancellation? = nil
    ) async throws -> InternalResponse {
        let pooled = pool.established(address)
        let connection: MultiplexedConnection
        if let pooled {
            connection = pooled
        } else {
            connection = try await pool.connection(to: address)
        }
        do {
            return try await connection.execute(
                request, authority: address, timeout: timeout, cancellation: cancellation)
        } catch {
            // A stream failure can mean a dead connection: let the next request start a fresh one.
            guard !connection.channel.isActive else { throw error }
            await pool.forget(connection, address: address)
            guard pooled != nil, !InternalClientError.mayHaveBeenProcessed(error) else { throw error }
            return try await pool.connection(to: address).execute(
                request, authority: address, timeout: timeout, cancellation: cancellation)
        }
    }

    /// Sends `request` on the established connection to `address` and calls `completion` with the whole response
    /// or the error, on the connection's event loop; no task is involved. Returns false, calling nothing, when no
    /// connection is established: connecting, and resending after a dead pooled connection, are ``execute(_:to:timeout:cancellation:)``'s.
    public func start(
        _ request: InternalRequest, to address: String, timeout: Duration, cancellation: RequestCancellation? = nil,
        completion: @escaping @Sendable (Result<InternalResponse, any Error>) -> Void
    ) -> Bool {
        guard let connection = pool.established(address) else { return false }
        connection.start(request, authority: address, timeout: timeout, cancellation: cancellation)
            .whenComplete(completion)
        return true
    }

    /// Opens a stream for a conversation (``DuplexExchange``): sends `request`'s head (and body, if any) without
    /// ending it, and returns once the response head arrives, at most `timeout`.
    public func openDuplex(
        _ request: InternalRequest, to address: String, timeout: Duration
    ) async throws -> DuplexExchange {
        let connection = try await pool.connection(to: address)
        return try await connection.openDuplex(request, authority: address, timeout: timeout)
    }

    /// Sends `request` and returns the response head with its body as a stream of chunks, for responses that do not
    /// end by themselves (the controller's topology watch). Cancelling the consuming task closes the stream.
    public func stream(
        _ request: InternalRequest, to address: String
    ) async throws -> (head: HTTPResponse, body: AsyncThrowingStream<ByteBuffer, any Error>) {
        let connection = try await pool.connection(to: address)
        return try await connection.stream(request, authority: address)
    }

    /// Closes the connection to `address`, if any: the next request dials again. For a name whose target moves
    /// underneath it — a Kubernetes Service whose selector now picks another pod keeps established connections on
    /// the old one.
    public func closeConnection(to address: String) async {
        await pool.close(address: address)
    }

    /// Closes every connection.
    public func shutdown() async {
        await pool.closeAll()
    }
}

/// Cancels one ``InternalClient`` request from outside the task that waits for it: a callback (a topology change
/// that moved the request's partition) can end the request at once, which a task would otherwise need a sibling
/// task, and a task group, to do.
public final class RequestCancellation: Sendable {
    private enum State {
        case pending([@Sendable () -> Void])
        case cancelled
    }

    private let state = Mutex(State.pending([]))

    public init() {}

    public var isCancelled: Bool {
        state.withLock { if case .cancelled = $0 { true } else { false } }
    }

    /// Cancels the request (or the next one given this token); only the first call does anything.
    public func cancel() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard case .pending(let actions) = state else { return [] }
            state = .cancelled
            return actions
        }
        for action in actions { action() }
    }

    /// Runs `action` on cancellation, at once if that already happened.
    public func whenCancelled(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard case .pending(var actions) = state else { return true }
            actions.append(action)
            state = .pending(actions)
            return false
        }
        if now { action() }
    }
}

/// One h2c connection and its stream multiplexers: the synchronous one for request-response exchanges, the async
/// one for streamed responses.
final class MultiplexedConnection: Sendable {
    let channel: any Channel
    fileprivate let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    private let streams: NIOHTTP2Handler.StreamMultiplexer

    init(
        channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>,
        streams: NIOHTTP2Handler.StreamMultiplexer
    ) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.streams = streams
    }

    /// Sends `request` on a new stream and waits for the whole response (see ``ResponseCollector``).
    func execute(
        _ request: InternalRequest, authority: String, timeout: Duration, cancellation: RequestCancellation?
    ) async throws -> InternalResponse {
        let exchange = Exchange(eventLoop: channel.eventLoop)
        open(exchange, request, authority: authority, timeout: timeout, cancellation: cancellation)
        return try await withTaskCancellationHandler {
            try await exchange.response.get()
        } onCancel: {
            exchange.cancel()
        }
    }

    /// ``execute(_:authority:timeout:cancellation:)`` answered through a future instead of a waiting task.
    func start(
        _ request: InternalRequest, authority: String, timeout: Duration, cancellation: RequestCancellation?
    ) -> EventLoopFuture<InternalResponse> {
        let exchange = Exchange(eventLoop: channel.eventLoop)
        open(exchange, request, authority: authority, timeout: timeout, cancellation: cancellation)
        return exchange.response
    }

    private func open(
        _ exchange: Exchange, _ request: InternalRequest, authority: String, timeout: Duration,
        cancellation: RequestCancellation?
    ) {
        cancellation?.whenCancelled { exchange.cancel() }
        let created = channel.eventLoop.makePromise(of: (any Channel).self)
        streams.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                try stream.pipeline.syncOperations.addHandler(
                    ResponseCollector(request: request, authority: authority, timeout: timeout, exchange: exchange))
            }
        }
        let peer = channel.remoteAddress.map { "\($0)" } ?? "peer"
        created.futureResult.whenFailure { error in
            exchange.fail(
                InternalClientError(
                    address: peer, message: "cannot open a stream: \(error)", requestMayHaveBeenProcessed: false))
        }
    }
}

extension MultiplexedConnection {
    func openDuplex(_ request: InternalRequest, authority: String, timeout: Duration) async throws -> DuplexExchange {
        let eventLoop = channel.eventLoop
        let created = eventLoop.makePromise(of: (any Channel).self)
        let ready = eventLoop.makePromise(of: NIOLoopBound<DuplexHandler>.self)
        streams.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                let handler = DuplexHandler(request: request, authority: authority, eventLoop: stream.eventLoop)
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                try stream.pipeline.syncOperations.addHandler(handler)
                ready.succeed(NIOLoopBound(handler, eventLoop: stream.eventLoop))
            }
        }
        created.futureResult.whenFailure { ready.fail($0) }
        let stream: any Channel
        let handler: NIOLoopBound<DuplexHandler>
        do {
            stream = try await created.futureResult.get()
            handler = try await ready.futureResult.get()
        } catch {
            throw InternalClientError(
                address: authority, message: "cannot open a stream: \(error)", requestMayHaveBeenProcessed: false)
        }
        let head = eventLoop.flatSubmit {
            let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                handler.value.head.fail(InternalClientError(address: authority, message: "no response within \(timeout)"))
                stream.close(promise: nil)
            }
            let head = handler.value.head.futureResult
            head.whenComplete { _ in deadline.cancel() }
            return head
        }
        let response = try await withTaskCancellationHandler {
            try await head.get()
        } onCancel: {
            stream.close(promise: nil)
        }
        return DuplexExchange(head: response, stream: stream, handler: handler)
    }

    func stream(
        _ request: InternalRequest, authority: String
    ) async throws -> (head: HTTPResponse, body: AsyncThrowingStream<ByteBuffer, any Error>) {
        let stream = try await openStream()
        let (heads, headContinuation) = AsyncThrowingStream<HTTPResponse, any Error>.makeStream()
        let (chunks, chunkContinuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let pump = Task {
            do {
                try await stream.executeThenClose { inbound, outbound in
                    try await Self.send(request, authority: authority, on: outbound)
                    for try await part in inbound {
                        switch part {
                        case .head(let received) where received.status.kind != .informational:
                            headContinuation.yield(received)
                            headContinuation.finish()
                        case .head: continue
                        case .body(let chunk): chunkContinuation.yield(chunk)
                        case .end: break
                        }
                    }
                }
                headContinuation.finish(throwing: InternalClientError(address: authority, message: "no response head"))
                chunkContinuation.finish()
            } catch {
                headContinuation.finish(throwing: error)
                chunkContinuation.finish(throwing: error)
            }
        }
        chunkContinuation.onTermination = { _ in
            pump.cancel()
            stream.channel.close(promise: nil)
        }
        var iterator = heads.makeAsyncIterator()
        guard let head = try await iterator.next() else {
            throw InternalClientError(address: authority, message: "the stream ended before a response head")
        }
        return (head, chunks)
    }

    fileprivate func openStream() async throws -> NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart> {
        do {
            return try await multiplexer.openStream { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                    return try NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            throw InternalClientError(
                address: "\(channel.remoteAddress.map { "\($0)" } ?? "peer")",
                message: "cannot open a stream: \(error)", requestMayHaveBeenProcessed: false)
        }
    }

    /// Writes the request. Until its last part is written the peer cannot have acted on it, which the error says.
    fileprivate static func send(
        _ request: InternalRequest, authority: String, on outbound: NIOAsyncChannelOutboundWriter<HTTPRequestPart>
    ) async throws {
        do {
            let head = request.head(authority: authority)
            try await outbound.write(.head(head))
            if let body = request.body, body.readableBytes > 0 { try await outbound.write(.body(body)) }
            try await outbound.write(.end(nil))
        } catch {
            throw InternalClientError(
                address: authority, message: "the request could not be sent: \(error)", requestMayHaveBeenProcessed: false)
        }
    }
}

/// Connections by peer address; concurrent first requests to a peer share one connect.
actor ConnectionPool {
    private let eventLoopGroup: any EventLoopGroup
    private let resolve: AddressOverrides
    private let logger: Logger
    /// Guarded by a lock rather than the actor, so a request to a peer already connected does not hop onto the
    /// actor first; only connecting does.
    private nonisolated let connections = Mutex<[String: MultiplexedConnection]>([:])
    private var connecting: [String: Task<MultiplexedConnection, any Error>] = [:]

    init(eventLoopGroup: any EventLoopGroup, resolve: AddressOverrides, logger: Logger) {
        self.eventLoopGroup = eventLoopGroup
        self.resolve = resolve
        self.logger = logger
    }

    /// The live connection to `address`, if there is one; from any thread, without waiting for the actor.
    nonisolated func established(_ address: String) -> MultiplexedConnection? {
        connections.withLock { $0[address] }.flatMap { $0.channel.isActive ? $0 : nil }
    }

    func connection(to address: String) async throws -> MultiplexedConnection {
        if let connection = established(address) { return connection }
        if let pending = connecting[address] { return try await pending.value }
        let group = eventLoopGroup
        let resolve = resolve
        let task = Task { try await Self.connect(to: address, resolve: resolve, group: group) }
        connecting[address] = task
        defer { connecting[address] = nil }
        let connection = try await task.value
        connections.withLock { $0[address] = connection }
        connection.channel.closeFuture.whenComplete { [weak self] _ in
            Task { await self?.forget(connection, address: address) }
        }
        return connection
    }

    func forget(_ connection: MultiplexedConnection, address: String) {
        connections.withLock { connections in
            if connections[address] === connection { connections[address] = nil }
        }
    }

    func close(address: String) async {
        guard let connection = connections.withLock({ $0.removeValue(forKey: address) }) else { return }
        try? await connection.channel.close()
    }

    func closeAll() async {
        let all = connections.withLock { connections in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for connection in all { try? await connection.channel.close() }
    }

    /// Receive windows and frames sized for replication, the same a storage node announces
    /// (``HTTP2ReceiveWindowSizes/internalTraffic``): a follower's fetch answer carries up to `maxBytes` of batches
    /// (8 MiB by default) and a leader's batches are hundreds of KiB. HTTP/2's default 64 KiB windows made each such
    /// answer wait for a WINDOW_UPDATE round trip per 64 KiB; with these, one answer flows in one go. The connection
    /// window opens to its target with the first DATA frame (its initial size is fixed at 64 KiB by the protocol).
    static let http2Configuration: NIOHTTP2Handler.Configuration = {
        let sizes = HTTP2ReceiveWindowSizes.internalTraffic
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = nioDefaultSettings + [
            HTTP2Setting(parameter: .initialWindowSize, value: sizes.stream),
            HTTP2Setting(parameter: .maxFrameSize, value: sizes.maxFrameSize),
        ]
        configuration.connection.targetWindowSize = sizes.connection
        configuration.stream.targetWindowSize = sizes.stream
        return configuration
    }()

    private static func connect(
        to address: String, resolve: AddressOverrides, group: any EventLoopGroup
    ) async throws -> MultiplexedConnection {
        guard let named = ServerAddress(address) else {
            throw InternalClientError(
                address: address, message: "not a HOST:PORT address", requestMayHaveBeenProcessed: false)
        }
        let target = resolve.target(of: named)
        do {
            return try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(ChannelOptions.recvAllocator, value: HTTP2ReceiveWindowSizes.internalTraffic.readAllocator)
                .connectTimeout(.seconds(5))
                .connect(host: target.host, port: target.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                            mode: .client, configuration: Self.http2Configuration
                        ) { stream in
                            // Peers never open streams towards a client; refuse any that arrive.
                            stream.close()
                        }
                        let streams = try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
                            .syncMultiplexer()
                        return MultiplexedConnection(channel: channel, multiplexer: multiplexer, streams: streams)
                    }
                }
        } catch {
            throw InternalClientError(
                address: address, message: "cannot connect: \(error)", requestMayHaveBeenProcessed: false)
        }
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `--resolve NAME=HOST:PORT` entries: host names a client dials at another address (DESIGN.md §6).
public struct AddressOverrides: Sendable, Hashable {
    public private(set) var entries: [String: ServerAddress] = [:]

    public init() {}

    /// Parses `NAME=HOST:PORT` entries; throws a message naming the entry that is not one.
    public init(_ texts: [String]) throws(AddressOverrideError) {
        for text in texts {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex,
                let target = ServerAddress(String(text[text.index(after: equals)...])), target.port != 0
            else {
                throw AddressOverrideError(message: "--resolve takes NAME=HOST:PORT, got \"\(text)\"")
            }
            entries[text[..<equals].lowercased()] = target
        }
    }

    /// Where to connect for `address`: its override (DNS names are case-insensitive), else itself.
    public func target(of address: ServerAddress) -> ServerAddress {
        entries[address.host.lowercased()] ?? address
    }
}

public struct AddressOverrideError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
