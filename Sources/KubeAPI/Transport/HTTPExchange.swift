/// One HTTP request as the transport sends it; the Kubernetes layer builds these.
public struct HTTPRequestSpec: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Bound on the whole exchange; `nil` for streams that stay open (watches).
    public var timeout: Duration?

    public init(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeout: Duration? = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// Status line and headers of a response, available before its body.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    /// 1 for HTTP/1.x, 2 for HTTP/2 — as negotiated by libcurl.
    public var httpMajorVersion: Int
}

/// A response read completely.
public struct HTTPResponseData: Sendable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public var status: Int { head.status }
}

/// A response whose body arrives as it streams (watches).
public struct HTTPStreamingResponse: Sendable {
    public var head: HTTPResponseHead
    /// Body bytes in the pieces libcurl delivered them; ends when the server ends the response.
    public var body: AsyncThrowingStream<[UInt8], any Error>

    /// Reads the rest of the body (for error responses, which are short).
    public func collectBody(limit: Int = 1 << 20) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await piece in body {
            bytes += piece
            if bytes.count > limit { break }
        }
        return bytes
    }
}
