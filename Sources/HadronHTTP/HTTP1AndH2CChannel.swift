public import HummingbirdCore
public import HummingbirdHTTP2
public import Logging
public import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOTLS

/// HTTP/1.1 (keep-alive) and h2c (HTTP/2 with prior knowledge) on one plaintext port.
///
/// Hummingbird's plaintext HTTP/2 channel speaks only h2c, and its HTTP/1.1 channel only HTTP/1.1; senders use
/// both against the same URL (curl, webhook sources, Knative). The first bytes of a connection decide: the HTTP/2
/// connection preface (`PRI * HTTP/2.0…`) means h2c, anything else HTTP/1.1. The decision is announced the way TLS
/// announces ALPN, so NIO's protocol negotiation handler builds the right pipeline and buffers bytes meanwhile.
public struct HTTP1AndH2CChannel: ServerChildChannel {
    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<HTTP1Channel.Value, HTTP2Channel.Value>>
        public let channel: any Channel
    }

    private let http1: HTTP1Channel
    private let http2: HTTP2Channel
    private let receiveWindows: HTTP2ReceiveWindowSizes?
    private let http1Front: @Sendable () -> [any RemovableChannelHandler]

    /// - Parameters:
    ///   - receiveWindows: h2c receive windows wider than HTTP/2's 64 KiB (``HTTP2ReceiveWindows``).
    ///   - http1Front: handlers that see an HTTP/1.1 connection's bytes before HTTP decoding and write bytes
    ///     straight to the connection, made per connection.
    public init(
        responder: @escaping HTTPChannelHandler.Responder,
        http1Configuration: HTTP1Channel.Configuration = .init(),
        http2Configuration: HTTP2Channel.Configuration = .init(),
        receiveWindows: HTTP2ReceiveWindowSizes? = nil,
        http1Front: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) {
        self.http1 = HTTP1Channel(responder: responder, configuration: http1Configuration)
        self.http2 = HTTP2Channel(responder: responder, configuration: http2Configuration)
        self.receiveWindows = receiveWindows
        self.http1Front = http1Front
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<
                NIONegotiatedHTTPVersion<HTTP1Channel.Value, HTTP2Channel.Value>
            > { result, channel in
                switch result {
                case .negotiated("h2"):
                    if let receiveWindows = self.receiveWindows {
                        do {
                            try channel.syncOptions?.setOption(
                                ChannelOptions.recvAllocator, value: receiveWindows.readAllocator)
                        } catch {
                            return channel.eventLoop.makeFailedFuture(error)
                        }
                    }
                    return self.http2.setup(channel: channel, logger: logger).map { .http2($0) }
                default:
                    return self.http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
                        // In front of the response encoder, which comes first of the HTTP/1.1 handlers: what the
                        // front handlers write is bytes, and what they pass on reaches the decoder.
                        let front = self.http1Front()
                        if !front.isEmpty {
                            let pipeline = channel.pipeline.syncOperations
                            let encoder = try pipeline.context(handlerType: HTTPResponseEncoder.self)
                            try pipeline.addHandlers(front, position: .before(encoder.handler))
                        }
                        return .http1_1(value)
                    }
                }
            }
            try channel.pipeline.syncOperations.addHandler(HTTP2PrefaceSniffer())
            if let receiveWindows {
                // Between the sniffer and the HTTP/2 handler: it sees the announcement and every byte after it.
                try channel.pipeline.syncOperations.addHandler(HTTP2ReceiveWindows(sizes: receiveWindows))
            }
            try channel.pipeline.syncOperations.addHandler(negotiation)
            return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let http1Value): await http1.handle(value: http1Value, logger: logger)
            case .http2(let http2Value): await http2.handle(value: http2Value, logger: logger)
            }
        } catch {
            logger.debug("Connection closed before its protocol was known", metadata: ["error": "\(error)"])
        }
    }
}

extension Channel {
    /// Whether this channel is one HTTP/2 stream rather than a connection, for handlers that serve both. A stream's
    /// parent is its connection; an accepted connection's parent is the listening channel, which has none. (Asking
    /// a socket channel for an HTTP/2 stream option instead would trap in NIO, not throw.)
    public var isHTTP2Stream: Bool { parent?.parent != nil }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 and h2c on one port (see ``HTTP1AndH2CChannel``).
    public static func http1AndH2C(
        http1Configuration: HTTP1Channel.Configuration = .init(),
        http2Configuration: HTTP2Channel.Configuration = .init(),
        receiveWindows: HTTP2ReceiveWindowSizes? = nil,
        http1Front: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        .init { responder in
            HTTP1AndH2CChannel(
                responder: responder, http1Configuration: http1Configuration, http2Configuration: http2Configuration,
                receiveWindows: receiveWindows, http1Front: http1Front)
        }
    }
}

/// Reads just enough of a new connection to tell the HTTP/2 preface from an HTTP/1.1 request line, announces the
/// protocol as an ALPN result, replays what it read and leaves the pipeline.
final class HTTP2PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var buffered: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!.readableBytesView
        let compared = min(bytes.count, Self.preface.count)
        let matches = bytes.prefix(compared).elementsEqual(Self.preface.prefix(compared))
        guard !matches || compared == Self.preface.count else { return }  // need more bytes to decide
        context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: matches ? "h2" : "http/1.1"))
        let replay = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(replay))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// A graceful shutdown asks every connection to quiesce. One that has not shown its protocol yet has no request
    /// in progress and no HTTP handler to act on the request: close it, or shutdown would wait on it forever.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let replay = buffered {
            buffered = nil
            context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: "http/1.1"))
            context.fireChannelRead(wrapInboundOut(replay))
        }
        context.fireChannelInactive()
    }
}

/// Channel handlers run on one event loop; this one keeps its buffer in a plain stored property.
@available(*, unavailable)
extension HTTP2PrefaceSniffer: Sendable {}
