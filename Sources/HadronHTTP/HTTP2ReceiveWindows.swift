import NIOCore
import NIOHTTP2
import NIOTLS

/// Wide receive windows for the h2c side of ``HTTP1AndH2CChannel``, for servers whose peers are the cluster's own
/// processes (storage: 8 MiB per stream, 32 MiB per connection). Servers facing the outside keep HTTP/2's 64 KiB: a
/// window is memory a peer may fill before the server reads a byte.
///
/// Hummingbird builds its HTTP/2 pipeline with HTTP/2's 64 KiB windows and no way to change them, so a gateway's
/// record batch of a few hundred KiB waited for a WINDOW_UPDATE round trip per 64 KiB on its way into storage. This
/// handler sits on the socket side of the connection, before the HTTP/2 handler, and does what the handler's own
/// settings would have done:
/// - once the connection is HTTP/2, it sends a SETTINGS frame raising the initial stream window (every request is a
///   stream of its own, so each starts with the whole window) and the largest frame the peer may send, and a
///   WINDOW_UPDATE opening the connection window;
/// - it reads the frame headers of the inbound bytes and, for every eighth of the connection window of DATA the peer
///   has sent, gives the connection window that much back. It counts exactly what the peer spent, so the window
///   never grows past its target; the HTTP/2 handler's own small updates come on top only when the window runs
///   low, which it does not.
/// Frames it writes go through the HTTP/2 handler (written from the channel's tail), so its flow-control state
/// knows them.
final class HTTP2ReceiveWindows: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let sizes: HTTP2ReceiveWindowSizes
    /// DATA bytes consumed before they are given back in one WINDOW_UPDATE: an eighth of the connection window.
    private var grantStep: Int { sizes.connection / 8 }

    /// Set once the connection is HTTP/2: counts what the peer sends, from the client preface on.
    private var counter: FrameCounter?
    /// Whether the wide windows were announced.
    private var opened = false

    init(sizes: HTTP2ReceiveWindowSizes) { self.sizes = sizes }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        guard counter == nil, let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event
        else { return }
        if negotiated == "h2" {
            counter = FrameCounter()
        } else {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard counter != nil else {
            context.fireChannelRead(data)
            return
        }
        counter!.consume(unwrapInboundIn(data).readableBytesView)
        context.fireChannelRead(data)
        if !opened {
            // The HTTP/2 handler is in place once the negotiation handler has built the pipeline it was waiting for.
            guard (try? context.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)) != nil else { return }
            opened = true
            context.channel.write(
                HTTP2Frame(
                    streamID: .rootStream,
                    payload: .settings(
                        .settings([
                            HTTP2Setting(parameter: .initialWindowSize, value: sizes.stream),
                            HTTP2Setting(parameter: .maxFrameSize, value: sizes.maxFrameSize),
                        ]))),
                promise: nil)
            context.channel.write(
                HTTP2Frame(
                    streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: sizes.connection - 65_535)),
                promise: nil)
            context.channel.flush()
        }
        if counter!.unreturned >= grantStep {
            let increment = counter!.unreturned
            counter!.unreturned = 0
            context.channel.writeAndFlush(
                HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)), promise: nil)
        }
    }
}

/// Counts the flow-controlled bytes (DATA frame payloads) in an HTTP/2 byte stream from a client, across reads.
struct FrameCounter {
    /// The client connection preface, which precedes the first frame.
    private var prefaceRemaining = 24
    private var header: [UInt8] = []
    private var payloadRemaining = 0
    private var payloadIsData = false
    /// DATA payload bytes seen and not yet given back.
    var unreturned = 0

    mutating func consume(_ bytes: ByteBufferView) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if prefaceRemaining > 0 {
                let skipped = min(prefaceRemaining, bytes.endIndex - index)
                prefaceRemaining -= skipped
                index += skipped
            } else if payloadRemaining > 0 {
                let skipped = min(payloadRemaining, bytes.endIndex - index)
                payloadRemaining -= skipped
                if payloadIsData { unreturned += skipped }
                index += skipped
            } else {
                header.append(bytes[index])
                index += 1
                guard header.count == 9 else { continue }
                payloadRemaining = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                payloadIsData = header[3] == 0x0
                header.removeAll(keepingCapacity: true)
            }
        }
    }
}

@available(*, unavailable)
extension HTTP2ReceiveWindows: Sendable {}

/// Receive window sizes for ``HTTP1AndH2CChannel``'s h2c connections, in bytes.
public struct HTTP2ReceiveWindowSizes: Sendable, Hashable {
    public var stream: Int
    public var connection: Int
    /// The largest frame the peer may send (SETTINGS_MAX_FRAME_SIZE); HTTP/2's default is 16 KiB.
    public var maxFrameSize: Int

    public init(stream: Int, connection: Int, maxFrameSize: Int = 16_384) {
        precondition(
            (65_535...Int(Int32.max)).contains(stream) && (65_535...Int(Int32.max)).contains(connection),
            "HTTP/2 windows are between 64 KiB and 2 GiB")
        precondition((16_384...16_777_215).contains(maxFrameSize), "HTTP/2 frames are between 16 KiB and 16 MiB")
        self.stream = stream
        self.connection = connection
        self.maxFrameSize = maxFrameSize
    }

    /// For traffic between the cluster's processes, on both ends (storage's server and ``InternalClient``): a record
    /// batch of several MiB in one go, in frames of up to 1 MiB. With HTTP/2's 16 KiB frames a 1 MiB batch was 64
    /// DATA frames, each decoded, flow-controlled and passed through the stream's pipeline on its own.
    public static let internalTraffic = HTTP2ReceiveWindowSizes(
        stream: 8 << 20, connection: 32 << 20, maxFrameSize: 1 << 20)

    /// How a connection carrying these windows sizes its socket reads: growing up to one whole frame.
    ///
    /// NIO reads at most 64 KiB at a time by default, and HTTP/2 hands a DATA frame on in pieces as they are read, so
    /// a 400 KiB record batch reached the records handler as seven pieces to be copied together, and every read that
    /// split a frame header made the frame decoder copy the next read whole. NIO's adaptive allocator only grows a
    /// connection's reads while they come back full, so a connection that carries small requests keeps small reads.
    var readAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: max(65_536, maxFrameSize))
    }
}
