import HadronHTTP
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /v1/streams/{stream}` on the connection's event loop, in front of Hummingbird.
///
/// Publishing is the gateway's hottest path, and most of its cost under load was not the work but the bridging:
/// Hummingbird hands every request from the channel to a Swift task and every response part back, a few task
/// switches per request. This handler sits in each HTTP/1.1 connection's and HTTP/2 stream's pipeline after HTTP
/// decoding: it reads a publish's head and body itself, hands the events to the partition writers with a callback,
/// and writes the answer with one hop back to the event loop. Every other request passes through untouched to
/// ``GatewayResponder``, which also still answers publishes this handler lets through (see below), with the same
/// ``PublishHandler`` and the same answers.
///
/// HTTP/1.1 answers must leave in request order. A publish is taken only when no request passed to Hummingbird is
/// still unanswered (one pipelined behind such a request goes to Hummingbird too); while a taken publish waits for
/// storage, later request parts are held here, reading pauses once any arrive, and they are replayed once its answer
/// is written.
/// Hummingbird's connection-state handler after this one never sees taken requests, so a graceful-shutdown quiesce
/// event is held until the taken publish is answered.
final class PublishChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Passing a request to Hummingbird until its end.
        case forwarding
        /// Reading a taken publish's body.
        case collecting(Publish)
        /// Skipping the rest of a body whose request is already answered.
        case discarding
        /// Waiting for the partition writers.
        case publishing
        case closed
    }

    /// What becomes of an HTTP/1.1 connection after an answer (an HTTP/2 stream simply ends).
    private enum Closing {
        case keepAlive
        /// The client asked for it, or the request broke off: close now.
        case close
        /// The client may still be sending a body the answer made moot. Closing with unread bytes makes the kernel
        /// reset the connection, which can destroy the answer before the client reads it; so stop writing, read
        /// and drop what still comes, and close when the client does or after ``lingerLimit``.
        case linger
    }

    static let lingerLimit = TimeAmount.seconds(2)

    /// A taken publish being read.
    private struct Publish {
        var stream: String
        var fields: HTTPFields
        var closing: Closing
        var start: ContinuousClock.Instant
        var body: [UInt8] = []
    }

    /// Request parts and errors that arrived while a taken publish was waiting.
    private enum Held {
        case part(HTTPRequestPart)
        case error(any Error)
    }

    private let publish: PublishHandler
    private let metrics: GatewayMetrics
    private var state = State.idle
    /// Requests passed to Hummingbird whose answer has not been written to its end.
    private var unanswered = 0
    private var held = CircularBuffer<Held>()
    private var readPending = false
    private var quiescePending = false
    /// Whether this pipeline is one HTTP/2 stream rather than an HTTP/1.1 connection.
    private var isStream = false

    init(publish: PublishHandler, metrics: GatewayMetrics) {
        self.publish = publish
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        isStream = context.channel.isHTTP2Stream
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isHolding {
            held.append(.part(part))
            return
        }
        handle(part, context: context)
        releaseQuiesce(context: context)
    }

    private var isHolding: Bool {
        if case .publishing = state { return true }
        return !held.isEmpty
    }

    /// Whether a taken publish is being read or stored, so the connection must not be closed under it.
    private var isBusy: Bool {
        switch state {
        case .collecting, .publishing: true
        default: false
        }
    }

    /// Passes on a held quiesce event once no taken publish is in progress.
    private func releaseQuiesce(context: ChannelHandlerContext) {
        guard quiescePending, !isBusy else { return }
        quiescePending = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            guard unanswered == 0, head.method == .post, let stream = Self.stream(inPath: head.path) else {
                unanswered += 1
                state = .forwarding
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            take(head, stream: stream, context: context)
        case (.forwarding, _):
            if case .end = part { state = .idle }
            context.fireChannelRead(wrapInboundOut(part))
        case (.collecting(var publish), .body(let chunk)):
            guard publish.body.count + chunk.readableBytes <= self.publish.maxRequestBytes else {
                state = .discarding
                respond(to: publish, received: publish.body.count, with: .failure(self.publish.requestTooLarge),
                    context: context)
                return
            }
            state = .discarding  // drops the enum's reference to the bytes, so appending does not copy them
            publish.body.append(contentsOf: chunk.readableBytesView)
            state = .collecting(publish)
        case (.collecting(let publish), .end):
            state = .publishing
            let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            self.publish.publish(stream: publish.stream, fields: publish.fields, body: publish.body) { outcome in
                loop.eventLoop.execute {
                    let (handler, context) = loop.value
                    guard case .publishing = handler.state else { return }
                    handler.respond(to: publish, received: publish.body.count, with: outcome, context: context)
                    handler.state = .idle
                    handler.resume(context: context)
                }
            }
        case (.discarding, .end):
            state = .idle
        case (.discarding, _), (.closed, _):
            break
        case (.idle, _), (.collecting, .head), (.publishing, _):
            // HTTP decoding never yields these; pass them on and let Hummingbird refuse the connection.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// Takes a publish at its head: answers at once what needs no body, otherwise starts collecting it.
    private func take(_ head: HTTPRequest, stream: String, context: ChannelHandlerContext) {
        let expectsContinue = head.headerFields[.expect]?.lowercased() == "100-continue"
        var publish = Publish(
            stream: stream, fields: head.headerFields,
            closing: head.headerFields[.connection] == "close" ? .close : .keepAlive, start: .now)
        var refusal = self.publish.refusal(stream: stream)
        if refusal == nil, let declared = head.headerFields[.contentLength], let length = Int(declared),
            length > self.publish.maxRequestBytes
        {
            refusal = self.publish.requestTooLarge
        }
        if let refusal {
            // A client waiting for 100 Continue may or may not send the body now; the connection cannot tell which
            // bytes come next, so it closes after the answer.
            if expectsContinue { publish.closing = .linger }
            state = .discarding
            respond(to: publish, received: 0, with: .failure(refusal), context: context)
            return
        }
        if let declared = head.headerFields[.contentLength], let length = Int(declared) {
            publish.body.reserveCapacity(length)
        }
        state = .collecting(publish)
        // curl, among others, waits for this (a second, by default) before sending a large body.
        if expectsContinue {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
    }

    /// Replays what arrived while a publish waited, until that runs out or another publish waits; then reads on.
    private func resume(context: ChannelHandlerContext) {
        let replayed = !held.isEmpty
        while let next = held.first {
            if case .publishing = state { break }
            held.removeFirst()
            switch next {
            case .part(let part): handle(part, context: context)
            case .error(let error): context.fireErrorCaught(error)
            }
        }
        // Handlers after this one (Hummingbird's async channel among them) deliver what they were given when a read
        // completes; replayed parts arrive outside any read, so complete one for them.
        if replayed { context.fireChannelReadComplete() }
        if case .publishing = state { return }
        releaseQuiesce(context: context)
        if readPending {
            readPending = false
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch state {
        case .publishing:
            held.append(.error(error))
        case .collecting(var publish):
            // The request broke off mid-body (a malformed chunk): nothing of it is stored, and the connection
            // cannot be trusted to find the next request.
            state = .discarding
            publish.closing = .close
            let problem = ProblemDetails(.badRequest, "the request body could not be read: \(error)")
            respond(to: publish, received: publish.body.count, with: .failure(problem), context: context)
        default:
            if held.isEmpty { context.fireErrorCaught(error) } else { held.append(.error(error)) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, isBusy {
            quiescePending = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        held.removeAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state = .closed
        held.removeAll()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), unanswered > 0 { unanswered -= 1 }
        context.write(data, promise: promise)
    }

    /// Reads on while a taken publish waits, and stops only once something arrived behind it.
    ///
    /// A client that waits for each answer sends nothing meanwhile, and withholding the read would cost two
    /// `epoll_ctl` calls per request (NIO drops the socket's read interest when no read is pending and adds it back
    /// on the next one). A pipelining client fills ``held`` with at most one read's worth before reading stops.
    func read(context: ChannelHandlerContext) {
        if !held.isEmpty {
            readPending = true
            return
        }
        context.read()
    }

    // MARK: Answers

    private func respond(
        to publish: Publish, received: Int, with outcome: Result<ByteBuffer, ProblemDetails>,
        context: ChannelHandlerContext
    ) {
        let answer = PublishHandler.answer(outcome)
        var response = answer.head
        let body = answer.body
        let closing = isStream ? .keepAlive : publish.closing
        if closing != .keepAlive { response.headerFields[.connection] = "close" }
        context.writeWholeResponse(response, body: body)
        metrics.request(
            route: GatewayResponder.Route.stream, status: response.status.code,
            duration: publish.start.duration(to: .now), received: received, sent: body.readableBytes)
        switch closing {
        case .keepAlive:
            break
        case .close:
            context.close(promise: nil)
        case .linger:
            context.close(mode: .output, promise: nil)
            let channel = context.channel
            context.eventLoop.scheduleTask(in: Self.lingerLimit) { channel.close(promise: nil) }
        }
    }

    /// The stream of a `/v1/streams/{stream}` path (query ignored), the way ``GatewayResponder`` routes it.
    static func stream(inPath path: String?) -> String? {
        guard let path else { return nil }
        let parts = path.prefix { $0 != "?" }.split(separator: "/")
        guard parts.count == 3, parts[0] == "v1", parts[1] == "streams" else { return nil }
        return String(parts[2])
    }
}

@available(*, unavailable)
extension PublishChannelHandler: Sendable {}
