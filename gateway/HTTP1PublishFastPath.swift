import HadronHTTP
import HTTPTypes
import NIOCore

/// Reads and answers HTTP/1.1 publishes straight from a connection's bytes, in front of NIO's HTTP decoder.
///
/// A single-event publish is a small request, and the gateway's cost for it was mostly HTTP framing: the llhttp
/// parser and its callbacks, NIO's request head, its conversion to `HTTPTypes`, and the response's way back through
/// two encoders and four handlers (about a third of the gateway's CPU per request). This handler parses the plain
/// shape of a publish itself, hands the events to ``PublishHandler`` as ``PublishChannelHandler`` does, and writes
/// the answer as bytes.
///
/// The plain shape is `POST /v1/streams/{stream} HTTP/1.1` with a Content-Length within the limit, header lines of
/// tokens and visible ASCII, and no Transfer-Encoding, Expect, Upgrade or Connection other than keep-alive or close,
/// to a stream that exists. The first request of any other shape (another route, a chunked body, `100-continue`,
/// anything malformed or refused at its head) hands the connection over for good: its bytes from that request on go
/// to NIO's decoder, ``PublishChannelHandler`` and Hummingbird, which answer exactly as they did before this handler
/// existed, errors included, and this handler leaves the pipeline. So it needs no error path of its own: what it
/// does not recognise, it does not judge.
///
/// Answers leave in request order because the handler answers only requests it took, and hands over only between
/// requests, after the last answer it owes. While a publish waits for storage, later bytes wait here; reading pauses
/// only once some arrive (see ``read(context:)``).
final class HTTP1PublishFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A head still unterminated at this size goes to NIO's decoder, which enforces its own limits (80 KiB).
    static let maxHeadBytes = 16 * 1024

    private enum State {
        /// Between requests, or with part of a head buffered.
        case readingHead
        /// A taken publish's head is parsed; waiting for the rest of its body.
        case readingBody(Head)
        /// Waiting for the partition writers.
        case publishing(Head)
        /// Handed over or closed: bytes pass through.
        case passing
    }

    /// A publish taken at its head.
    struct Head {
        var stream: String
        var fields: HTTPFields
        /// Bytes of the request line and header lines, the blank line included.
        var headLength: Int
        var bodyLength: Int
        var close: Bool
        var start: ContinuousClock.Instant
    }

    private let publish: PublishHandler
    private let metrics: GatewayMetrics
    private var state = State.readingHead
    /// Bytes received and not yet taken.
    private var pending = ByteBuffer()
    /// How many bytes of `pending` were already searched for the end of the head.
    private var scanned = 0
    private var readPending = false
    /// Events that arrived during a publish (the end of input, say), passed on once it is answered.
    private var heldEvents: [Any] = []
    /// A graceful shutdown asked the connection to quiesce while a publish was in progress: answer it, then close.
    private var closeAfterAnswer = false

    init(publish: PublishHandler, metrics: GatewayMetrics) {
        self.publish = publish
        self.metrics = metrics
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if case .passing = state {
            context.fireChannelRead(wrapInboundOut(incoming))
            return
        }
        if pending.readableBytes == 0 {
            pending = incoming
        } else {
            pending.writeBuffer(&incoming)
        }
        advance(context: context)
    }

    /// Takes what the buffered bytes hold: a head, a body, or the decision to hand over.
    private func advance(context: ChannelHandlerContext) {
        while true {
            switch state {
            case .readingHead:
                guard pending.readableBytes > 0 else { return }
                switch takeHead() {
                case .incomplete:
                    if pending.readableBytes > Self.maxHeadBytes { handOver(context: context) }
                    return
                case .other:
                    handOver(context: context)
                    return
                case .publish(let head):
                    state = .readingBody(head)
                }
            case .readingBody(let head):
                guard pending.readableBytes >= head.headLength + head.bodyLength else { return }
                pending.moveReaderIndex(forwardBy: head.headLength)
                let body = pending.readBytes(length: head.bodyLength)!
                if pending.readableBytes == 0 { pending = ByteBuffer() }  // lets NIO reuse its read buffer
                scanned = 0
                state = .publishing(head)
                let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                publish.publish(stream: head.stream, fields: head.fields, body: body) { outcome in
                    loop.eventLoop.execute {
                        let (handler, context) = loop.value
                        handler.answer(outcome, context: context)
                    }
                }
                return
            case .publishing, .passing:
                return
            }
        }
    }

    /// Hands the connection to the standard HTTP/1.1 pipeline from the buffered request on, passes on `events` after
    /// the bytes, and leaves.
    private func handOver(context: ChannelHandlerContext, then events: [Any] = []) {
        state = .passing
        let bytes = pending
        pending = ByteBuffer()
        context.fireChannelRead(wrapInboundOut(bytes))
        // Outside a read (after an answer) nothing else completes one for the decoder and Hummingbird after it.
        context.fireChannelReadComplete()
        for event in events { context.fireUserInboundEventTriggered(event) }
        // The standard pipeline owns the request in progress now, and with it the quiesce this handler held.
        if closeAfterAnswer { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        if readPending {
            readPending = false
            context.read()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private var isBusy: Bool {
        switch state {
        case .readingBody, .publishing: true
        case .readingHead, .passing: false
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The handlers after this one have seen no request, so they act on events as if between requests: a quiesce
        // would close the connection under a publish this handler took, and so might the end of input.
        if event is ChannelShouldQuiesceEvent, isBusy {
            closeAfterAnswer = true
            return
        }
        if case .publishing = state {
            heldEvents.append(event)
            return
        }
        // With part of a request here (its input ended, say), the standard pipeline judges it as it always did.
        if pending.readableBytes > 0 || isBusy {
            handOver(context: context, then: [event])
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .passing
        pending = ByteBuffer()
        heldEvents = []
        context.fireChannelInactive()
    }

    // MARK: Outbound

    /// Reads on while a publish waits, and stops only once bytes arrived behind it.
    ///
    /// A client that waits for each answer sends nothing meanwhile, and withholding the read would cost two
    /// `epoll_ctl` calls per request (NIO drops the socket's read interest when no read is pending and adds it back
    /// on the next one). A pipelining client leaves at most one read's worth here before reading stops.
    func read(context: ChannelHandlerContext) {
        if case .publishing = state, pending.readableBytes > 0 {
            readPending = true
            return
        }
        context.read()
    }

    // MARK: Answers

    private func answer(_ outcome: Result<ByteBuffer, ProblemDetails>, context: ChannelHandlerContext) {
        guard case .publishing(let head) = state else { return }
        let close = head.close || closeAfterAnswer
        var bytes: ByteBuffer
        let status: Int
        let sent: Int
        switch outcome {
        case .success(var accepted):
            // Most answers: written without building a response head first.
            status = 202
            sent = accepted.readableBytes
            bytes = context.channel.allocator.buffer(capacity: 160 + sent)
            bytes.writeStaticString("HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ndate: ")
            bytes.writeString(HTTPDate.shared.now)
            bytes.writeStaticString("\r\n")
            Self.writeEnd(body: &accepted, close: close, to: &bytes)
        case .failure:
            let (response, body) = PublishHandler.answer(outcome)
            status = response.status.code
            sent = body.readableBytes
            bytes = context.channel.allocator.buffer(capacity: 256 + sent)
            Self.write(response, body: body, close: close, to: &bytes)
        }
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
        metrics.request(
            route: GatewayResponder.Route.stream, status: status, duration: head.start.duration(to: .now),
            received: head.bodyLength, sent: sent)
        if close {
            state = .passing
            pending = ByteBuffer()
            context.close(promise: nil)
            return
        }
        state = .readingHead
        advance(context: context)
        guard case .readingHead = state else { return }
        if !heldEvents.isEmpty {
            let events = heldEvents
            heldEvents = []
            // With part of a request here, the standard pipeline judges it, as below.
            if pending.readableBytes > 0 { return handOver(context: context, then: events) }
            for event in events { context.fireUserInboundEventTriggered(event) }
        }
        if readPending {
            readPending = false
            context.read()
        }
    }

    /// An HTTP/1.1 response: status line, `head`'s fields, Content-Length, the body.
    private static func write(_ head: HTTPResponse, body: ByteBuffer, close: Bool, to bytes: inout ByteBuffer) {
        bytes.writeStaticString("HTTP/1.1 ")
        bytes.writeString(String(head.status.code))
        bytes.writeStaticString(" ")
        bytes.writeString(head.status.reasonPhrase)
        bytes.writeStaticString("\r\n")
        for field in head.headerFields {
            bytes.writeString(field.name.rawName)
            bytes.writeStaticString(": ")
            bytes.writeString(field.value)
            bytes.writeStaticString("\r\n")
        }
        var body = body
        writeEnd(body: &body, close: close, to: &bytes)
    }

    /// The head's last fields (Content-Length, Connection), its blank line, then the body.
    private static func writeEnd(body: inout ByteBuffer, close: Bool, to bytes: inout ByteBuffer) {
        bytes.writeStaticString("content-length: ")
        bytes.writeString(String(body.readableBytes))
        bytes.writeStaticString(close ? "\r\nconnection: close\r\n\r\n" : "\r\n\r\n")
        bytes.writeBuffer(&body)
    }

    // MARK: Reading a head

    private enum HeadReading {
        case incomplete
        /// Not a publish of the plain shape: for the standard pipeline.
        case other
        case publish(Head)
    }

    /// Parses the buffered head, if it is whole, into a publish this handler takes.
    private func takeHead() -> HeadReading {
        let from = max(0, scanned - 3)
        let reading = pending.withUnsafeReadableBytes { bytes -> (HeadReading, scanned: Int) in
            guard let end = HeadParser.end(of: bytes, from: from) else { return (.incomplete, bytes.count) }
            guard let head = HeadParser.parse(bytes, length: end) else { return (.other, 0) }
            guard head.bodyLength <= publish.maxRequestBytes, publish.refusal(stream: head.stream) == nil else {
                return (.other, 0)
            }
            return (.publish(head), 0)
        }
        scanned = reading.scanned
        return reading.0
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state = .passing
        pending = ByteBuffer()
    }
}

@available(*, unavailable)
extension HTTP1PublishFastPath: Sendable {}

/// The byte-level reading of a plain publish head (see ``HTTP1PublishFastPath``). Anything it does not accept is
/// left to NIO's decoder, so it accepts only what that decoder would read the same way.
enum HeadParser {
    private static let requestPrefix = Array("POST /v1/streams/".utf8)
    private static let versionSuffix = Array(" HTTP/1.1\r\n".utf8)
    private static let hostName = HTTPField.Name("host")!

    /// The length of the head (through its blank line), if `bytes` hold all of it; the search starts at `from`.
    static func end(of bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = from
        while index + 3 < bytes.count {
            if bytes[index + 3] != 0x0A {
                index += bytes[index + 3] == 0x0D ? 1 : 4
                continue
            }
            if bytes[index] == 0x0D, bytes[index + 1] == 0x0A, bytes[index + 2] == 0x0D { return index + 4 }
            index += 1
        }
        return nil
    }

    /// The publish a whole head of `length` bytes asks for, or nil for any other request.
    static func parse(_ bytes: UnsafeRawBufferPointer, length: Int) -> HTTP1PublishFastPath.Head? {
        guard length >= requestPrefix.count + versionSuffix.count + 2,
            bytes.prefix(requestPrefix.count).elementsEqual(requestPrefix)
        else { return nil }
        // The stream name, then an optional query, then the version.
        var index = requestPrefix.count
        let nameStart = index
        while index < length, isStreamNameByte(bytes[index]) { index += 1 }
        guard index > nameStart else { return nil }
        let stream = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<index]), as: UTF8.self)
        if bytes[index] == UInt8(ascii: "?") {
            while index < length, bytes[index] > 0x20, bytes[index] < 0x7F { index += 1 }
        }
        guard index + versionSuffix.count <= length,
            UnsafeRawBufferPointer(rebasing: bytes[index..<index + versionSuffix.count]).elementsEqual(versionSuffix)
        else { return nil }
        index += versionSuffix.count

        var fields = HTTPFields()
        var bodyLength: Int?
        var close = false
        // Header lines up to the blank line that ends the head.
        while index < length - 2 {
            let lineStart = index
            while index < length, isTokenByte(bytes[index]) { index += 1 }
            guard index > lineStart, bytes[index] == UInt8(ascii: ":") else { return nil }
            let nameEnd = index
            index += 1
            while bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            let valueStart = index
            while isValueByte(bytes[index]) { index += 1 }
            guard bytes[index] == 0x0D, bytes[index + 1] == 0x0A else { return nil }
            var valueEnd = index
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            index += 2

            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<nameEnd])
            let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            guard let name = HTTPField.Name(String(decoding: nameBytes, as: UTF8.self)) else { return nil }
            let value = String(decoding: valueBytes, as: UTF8.self)
            switch name {
            case .contentLength:
                guard bodyLength == nil, let declared = contentLength(valueBytes) else { return nil }
                bodyLength = declared
            case .transferEncoding, .expect, .upgrade:
                return nil
            case .connection:
                switch value.lowercased() {
                case "keep-alive": break
                case "close": close = true
                default: return nil
                }
            case hostName:
                continue  // HTTPTypes keeps Host apart, as the request's authority; publishing does not use it
            default:
                break
            }
            fields.append(HTTPField(name: name, value: value))
        }
        return HTTP1PublishFastPath.Head(
            stream: stream, fields: fields, headLength: length, bodyLength: bodyLength ?? 0, close: close,
            start: .now)
    }

    /// A Content-Length of up to ten digits (the request limit is far below that).
    private static func contentLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 10 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Letters, digits and `-._~`: stream names are DNS labels; anything else (`%`, `/`) is the router's to judge.
    private static func isStreamNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"),
            UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Visible ASCII, space and tab. Other bytes (controls, non-ASCII) are left to the decoder.
    private static func isValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte < 0x7F) || byte == 0x09
    }
}
