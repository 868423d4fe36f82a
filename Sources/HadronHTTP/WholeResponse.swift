public import HTTPTypes
public import NIOCore
import NIOHTTPTypes

extension ProblemDetails {
    /// The head of this problem's answer: its status and headers, as problem+json.
    public var responseHead: HTTPResponse {
        var head = HTTPResponse(status: status)
        head.headerFields = headers
        head.headerFields[.contentType] = ProblemDetails.contentType
        return head
    }
}

extension ChannelHandlerContext {
    /// Writes a whole answer from a channel handler that answers in front of Hummingbird: the head with its
    /// Content-Length, the body and the end, then flushes.
    public func writeWholeResponse(_ head: HTTPResponse, body: ByteBuffer) {
        var head = head
        head.headerFields[.contentLength] = String(body.readableBytes)
        write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        write(NIOAny(HTTPResponsePart.body(body)), promise: nil)
        writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
    }
}
