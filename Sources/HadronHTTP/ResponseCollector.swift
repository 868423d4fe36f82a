import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One internal request on its own HTTP/2 stream, from the first write to the complete response, run entirely on
/// the connection's event loop.
///
/// Every append, fetch and long poll between the tiers is such an exchange. Driving it through `NIOAsyncChannel`
/// cost a thread hop for opening the stream, for each request part written and for each response part read; under
/// load those hops (futex wake-ups and context switches on two cores) were most of what an exchange cost. Here the
/// handler writes the request when the stream becomes active, collects the response parts, and completes one
/// promise: the waiting task resumes once.
///
/// The outcome is decided once, on the event loop: the response, or an ``InternalClientError`` saying whether the
/// peer may have acted on the request (only once the request's last part is written can it have), or
/// `CancellationError` when the waiting task was cancelled.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPRequestPart

    private let request: InternalRequest
    private let authority: String
    private let timeout: Duration
    private let exchange: Exchange
    private var head: HTTPResponse?
    private var body = ByteBuffer()
    private var sent = false
    private var requestWritten = false
    private var deadline: Scheduled<Void>?

    init(request: InternalRequest, authority: String, timeout: Duration, exchange: Exchange) {
        self.request = request
        self.authority = authority
        self.timeout = timeout
        self.exchange = exchange
    }

    func handlerAdded(context: ChannelHandlerContext) {
        exchange.attach(context.channel)
        // The deadline closes the stream; closing fails the exchange unless the response is already in.
        let channel = context.channel
        let timeout = timeout
        let exchange = exchange
        let authority = authority
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            exchange.fail(
                InternalClientError(address: authority, message: "no response within \(timeout)"), closing: channel)
        }
        if context.channel.isActive { send(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    /// Writes the request once: head, body, end, in one flush.
    private func send(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let head = request.head(authority: authority)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(body)), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { result in
            if case .success = result { loopBound.value.requestWritten = true }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received) where received.status.kind != .informational: head = received
        case .head: break
        case .body(var chunk): body.collectBodyPiece(&chunk)
        case .end:
            guard let head else {
                fail(context: context, "the response ended before its head")
                return
            }
            exchange.succeed(InternalResponse(status: head.status, headerFields: head.headerFields, body: body))
            // Once both sides have sent their end the stream closes by itself. Closing it here, before HTTP/2 has
            // processed that end, would send RST_STREAM: one per request, which servers count as a rapid-reset
            // attack (NIO's HTTP/2 server drops the connection past 200 resets in 30 s). Only a peer that
            // answered before reading the whole request gets a reset, which tells it to stop waiting for the rest.
            if !requestWritten { context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, "\(error)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, "the stream ended before a complete response")
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ message: String) {
        exchange.fail(
            InternalClientError(address: authority, message: message, requestMayHaveBeenProcessed: requestWritten),
            closing: context.channel)
    }
}

/// The outcome of one exchange and the stream it runs on, shared by the handler, the stream's creation and the
/// waiting task's cancellation. Touched only on the connection's event loop, which is what makes it Sendable.
final class Exchange: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let promise: EventLoopPromise<InternalResponse>
    private var stream: (any Channel)?
    private var decided = false
    private var cancelled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.promise = eventLoop.makePromise()
    }

    var response: EventLoopFuture<InternalResponse> { promise.futureResult }

    /// The stream exists; a cancellation that came first closes it at once.
    func attach(_ channel: any Channel) {
        eventLoop.preconditionInEventLoop()
        stream = channel
        if cancelled { channel.close(promise: nil) }
    }

    func succeed(_ response: InternalResponse) {
        eventLoop.preconditionInEventLoop()
        guard !decided else { return }
        decided = true
        promise.succeed(response)
    }

    /// Fails the exchange (a cancellation wins over the error its closing causes) and closes the stream.
    func fail(_ error: any Error, closing channel: (any Channel)? = nil) {
        eventLoop.preconditionInEventLoop()
        channel?.close(promise: nil)
        guard !decided else { return }
        decided = true
        promise.fail(cancelled ? CancellationError() : error)
    }

    /// The waiting task was cancelled: from any thread.
    func cancel() {
        eventLoop.execute {
            self.cancelled = true
            self.fail(CancellationError(), closing: self.stream)
        }
    }
}
