import Hummingbird
import KubeAPI
import NIOCore
import NIOSSL
import Synchronization

/// Request context that keeps the channel, to read the TLS client certificate off the connection.
struct DoubleRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// One request as the double received it, for tests to assert on.
public struct RecordedRequest: Sendable {
    public enum Authentication: Sendable, Equatable {
        case bearerToken(String)
        case clientCertificate(commonName: String)
    }

    public var method: String
    public var path: String
    public var query: [String: String]
    public var contentType: String?
    public var authentication: Authentication?
    /// 2 when the request came over HTTP/2.
    public var httpMajorVersion: Int
    /// The request body as received (empty for none), so tests can compare what a client sent.
    public var body: [UInt8] = []

    /// POST, PUT, PATCH or DELETE: a request that may change the store.
    public var isWrite: Bool { ["POST", "PUT", "PATCH", "DELETE"].contains(method) }
}

/// The HTTP face of the double: authentication, the request log, JSON and watch responses.
struct DoubleResponder: HTTPResponder {
    typealias Context = DoubleRequestContext

    let state: APIServerState
    let access: AccessControl
    let log: RequestLog
    let clientCommonName: String

    init(state: APIServerState, access: AccessControl, clientCommonName: String) {
        self.state = state
        self.access = access
        self.log = RequestLog()
        self.clientCommonName = clientCommonName
    }

    func respond(to request: Request, context: DoubleRequestContext) async throws -> Response {
        // An HTTP/2 stream channel's parent is the connection; a connection's parent is the listener.
        let isHTTP2 = context.channel.parent?.parent != nil
        let connection = isHTTP2 ? context.channel.parent! : context.channel
        var token: String?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            token = String(header.dropFirst("Bearer ".count))
        }
        // Like the API server's union authenticator: a verified client certificate first, then the token.
        var authentication: RecordedRequest.Authentication?
        if (try? await connection.nioSSL_peerCertificate().get()) != nil {
            authentication = .clientCertificate(commonName: clientCommonName)
        } else if let token, access.accepts(token: token) {
            authentication = .bearerToken(token)
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let method = request.method.rawValue
        let path = request.uri.path
        let body = try await request.body.collect(upTo: 16 << 20)
        log.entries.withLock {
            $0.append(
                RecordedRequest(
                    method: method, path: path, query: query, contentType: request.headers[.contentType],
                    authentication: authentication, httpMajorVersion: isHTTP2 ? 2 : 1, body: Array(buffer: body)))
        }
        if await access.holdIfBlackholed(token) {
            return Self.json(
                APIFailure(code: 503, reason: "ServiceUnavailable", message: "unreachable").body, status: 503)
        }
        guard authentication != nil else { return Self.json(APIFailure.unauthorized().body, status: 401) }

        if method == "GET", let (status, value) = Discovery.answer(path: path, settings: await state.settings) {
            return Self.json(value, status: status)
        }
        do {
            let (rule, namespace, name, subresource) = try APIRequest.resolve(path: path)
            let apiRequest = APIRequest(
                method: method, rule: rule, namespace: namespace, name: name, subresource: subresource, query: query,
                body: Array(buffer: body), contentType: request.headers[.contentType] ?? "",
                userAgent: request.headers[.userAgent] ?? "")
            switch try await state.handle(apiRequest) {
            case .json(let status, let value):
                return Self.json(value, status: status)
            case .watch(let feed, let timeout, let bookmarks):
                return watchResponse(feed: feed, timeout: timeout, bookmarks: bookmarks)
            }
        } catch let failure as APIFailure {
            return Self.json(failure.body, status: failure.code)
        }
    }

    static func json(_ value: JSONValue, status: Int) -> Response {
        Response(
            status: .init(code: status),
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// Streams a watch: events as newline-delimited JSON, every batch deliberately cut inside its
    /// first event (so the client must reassemble it) with the rest of the batch — often several
    /// events — in the next chunk. Ends at the timeout, or when the test ends all watches.
    private func watchResponse(feed: WatchFeed, timeout: Duration, bookmarks: Bool) -> Response {
        let state = self.state
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody { writer in
                let gap = await state.settings.chunkGap
                let interval = await state.settings.bookmarkInterval
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    feed.finish()
                }
                let bookmarker = Task {
                    guard bookmarks else { return }
                    while !Task.isCancelled {
                        try await Task.sleep(for: interval)
                        await state.bookmark(feed.id)
                    }
                }
                defer {
                    timer.cancel()
                    bookmarker.cancel()
                }
                do {
                    while let batch = await feed.next() {
                        let bytes = batch.flatMap { $0 }
                        let cut = max(1, (batch.first?.count ?? 1) / 2)
                        if bytes.count > cut {
                            try await writer.write(ByteBuffer(bytes: bytes[..<cut]))
                            try await Task.sleep(for: gap)
                            try await writer.write(ByteBuffer(bytes: bytes[cut...]))
                        } else {
                            try await writer.write(ByteBuffer(bytes: bytes))
                        }
                    }
                } catch {
                    await state.endWatch(feed.id)
                    throw error
                }
                await state.endWatch(feed.id)
                try await writer.finish(nil)
            })
    }

    var requests: [RecordedRequest] { log.entries.withLock { $0 } }
}

/// The requests received, in order.
final class RequestLog: Sendable {
    let entries = Mutex<[RecordedRequest]>([])
}
