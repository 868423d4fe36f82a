public import HTTPTypes
public import NIOCore
import NIOHTTPTypes

/// One long-lived HTTP/2 stream that carries a conversation: the request body is written piece by piece while the
/// response body is read piece by piece, for as long as both sides keep the stream open.
///
/// A follower's replication fetches and a gateway partition writer's appends are such conversations
/// (docs/internal-api.md, ``SessionExchange``): one request after another, each answered before the next is sent.
/// As separate requests, each opened a stream on both nodes, built its pipeline, and on the storage node passed it
/// through Hummingbird's per-stream task; on a replicated partition that was three such streams per batch, and
/// stream setup was the largest single cost of replication. The conversation opens its stream once.
///
/// Everything runs on the stream's event loop (``DuplexHandler``); this object hands requests to it from any thread.
/// The application frames its own messages inside the body: HTTP/2 keeps their bytes in order but not their
/// boundaries.
public final class DuplexExchange: Sendable {
    /// The peer's response head; the body follows through ``next(timeout:)``.
    public let head: HTTPResponse
    private let stream: any Channel
    private let handler: NIOLoopBound<DuplexHandler>

    init(head: HTTPResponse, stream: any Channel, handler: NIOLoopBound<DuplexHandler>) {
        self.head = head
        self.stream = stream
        self.handler = handler
    }

    /// Writes `pieces` as the next pieces of the request body and flushes them together.
    public func send(_ pieces: ByteBuffer...) {
        send(pieces)
    }

    /// Writes `pieces` as the next pieces of the request body and flushes them together.
    public func send(_ pieces: [ByteBuffer]) {
        let handler = handler
        stream.eventLoop.execute { handler.value.send(pieces) }
    }

    /// The next piece of the response body as it arrived, nil once the peer ended its side. Throws when the stream
    /// fails, or closes it and throws when nothing arrives within `timeout`.
    public func next(timeout: Duration) async throws -> ByteBuffer? {
        let stream = stream
        return try await withTaskCancellationHandler {
            try await nextPiece(timeout: timeout).get()
        } onCancel: {
            stream.close(promise: nil)
        }
    }

    /// ``next(timeout:)`` through a future completed on the stream's event loop, for callers without a task.
    public func nextPiece(timeout: Duration) -> EventLoopFuture<ByteBuffer?> {
        let handler = handler
        return stream.eventLoop.flatSubmit { handler.value.next(timeout: timeout) }
    }

    /// Ends the conversation: the stream is reset, and the peer sees it close.
    public func close() {
        stream.close(promise: nil)
    }
}

/// The stream-side half of a ``DuplexExchange``: writes the request head when the stream opens, then body pieces
/// as the exchange sends them, and hands response body pieces to one waiting reader at a time.
final class DuplexHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPRequestPart

    private let request: InternalRequest
    private let authority: String
    let head: EventLoopPromise<HTTPResponse>
    private var context: ChannelHandlerContext?
    private var sentHead = false
    private var received = CircularBuffer<ByteBuffer>()
    private var ended = false
    private var failure: (any Error)?
    private var waiting: (promise: EventLoopPromise<ByteBuffer?>, deadline: Scheduled<Void>)?

    init(request: InternalRequest, authority: String, eventLoop: any EventLoop) {
        self.request = request
        self.authority = authority
        self.head = eventLoop.makePromise()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendHead(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        fail(InternalClientError(address: authority, message: "the stream was closed"))
    }

    func channelActive(context: ChannelHandlerContext) {
        sendHead(context: context)
        context.fireChannelActive()
    }

    private func sendHead(context: ChannelHandlerContext) {
        guard !sentHead else { return }
        sentHead = true
        let head = request.head(authority: authority)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body, body.readableBytes > 0 { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.flush()
    }

    func send(_ pieces: [ByteBuffer]) {
        guard let context, failure == nil else { return }
        for piece in pieces { context.write(wrapOutboundOut(.body(piece)), promise: nil) }
        context.flush()
    }

    func next(timeout: Duration) -> EventLoopFuture<ByteBuffer?> {
        let eventLoop = head.futureResult.eventLoop
        if let piece = received.popFirst() { return eventLoop.makeSucceededFuture(piece) }
        if ended { return eventLoop.makeSucceededFuture(nil) }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        precondition(waiting == nil, "one reader at a time")
        let promise = eventLoop.makePromise(of: ByteBuffer?.self)
        let authority = authority
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let error = InternalClientError(address: authority, message: "nothing arrived within \(timeout)")
            bound.value.fail(error)
            bound.value.context?.close(promise: nil)
        }
        waiting = (promise, deadline)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response) where response.status.kind != .informational:
            head.succeed(response)
        case .head:
            break
        case .body(let piece):
            if let (promise, deadline) = waiting {
                waiting = nil
                deadline.cancel()
                promise.succeed(piece)
            } else {
                received.append(piece)
            }
        case .end:
            ended = true
            if let (promise, deadline) = waiting {
                waiting = nil
                deadline.cancel()
                promise.succeed(nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(InternalClientError(address: authority, message: "\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(InternalClientError(address: authority, message: "the stream ended"))
        context.fireChannelInactive()
    }

    /// Fails the head, if it has not come, and the waiting reader; later reads fail too, once what arrived is read.
    private func fail(_ error: any Error) {
        guard failure == nil else { return }
        failure = error
        head.fail(error)
        if let (promise, deadline) = waiting {
            waiting = nil
            deadline.cancel()
            // A stream the peer ended properly has nothing more to say: the reader sees the end, not an error.
            if ended { promise.succeed(nil) } else { promise.fail(error) }
        }
    }
}

@available(*, unavailable)
extension DuplexHandler: Sendable {}
