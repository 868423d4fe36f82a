import HadronHTTP
import HTTPTypes
import Hummingbird
import NIOCore

/// Routes the gateway's HTTP API (DESIGN.md §3) and measures every request.
///
/// Routing is by hand over the path's segments rather than through Hummingbird's trie router: the gateway has a
/// handful of fixed shapes, a path that exists with a wrong method must answer 405 with `Allow` (the trie answers
/// 404), and the metrics need the route template, which the dispatch knows for free.
struct GatewayResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let publish: PublishHandler
    let reads: ReadHandler
    let subscriptions: SubscriptionHandler
    let topology: TopologyEndpoint
    let view: TopologyView
    let metrics: GatewayMetrics

    /// Route templates: the `route` label of the request metrics.
    enum Route {
        static let stream = "/v1/streams/{stream}"
        static let partitionEvents = "/v1/streams/{stream}/partitions/{partition}/events"
        static let groupEvents = "/v1/streams/{stream}/subscriptions/{group}/events"
        static let groupAck = "/v1/streams/{stream}/subscriptions/{group}/ack"
        static let groupNack = "/v1/streams/{stream}/subscriptions/{group}/nack"
        static let topology = "/v1/topology"
        static let healthz = "/healthz"
        static let readyz = "/readyz"
        static let metrics = "/metrics"
        static let unknown = "unknown"
    }

    static let webhookRequestOrigin = HTTPField.Name("WebHook-Request-Origin")!
    static let webhookAllowedOrigin = HTTPField.Name("WebHook-Allowed-Origin")!
    static let webhookAllowedRate = HTTPField.Name("WebHook-Allowed-Rate")!
    static let allow = HTTPField.Name("Allow")!

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var route = Route.unknown
        var received = 0
        let response: Response
        do {
            response = try await dispatch(request, route: &route, received: &received)
        } catch {
            response = try error.response(from: request, context: context)
        }
        metrics.request(
            route: route, status: response.status.code, duration: start.duration(to: .now), received: received,
            sent: response.body.contentLength ?? 0)
        return response
    }

    private func dispatch(
        _ request: Request, route: inout String, received: inout Int
    ) async throws(ProblemDetails) -> Response {
        let segments = request.uri.path.split(separator: "/")
        let method = request.method
        switch segments.count {
        case 1:
            switch segments[0] {
            case "healthz":
                route = Route.healthz
                try allow([.get, .head], method)
                return Self.text("ok\n")
            case "readyz":
                route = Route.readyz
                try allow([.get, .head], method)
                guard let snapshot = view.snapshot else {
                    throw ProblemDetails(.serviceUnavailable, "the gateway has no topology yet")
                }
                if let reason = snapshot.unreadyReason { throw ProblemDetails(.serviceUnavailable, reason) }
                return Self.text("ready\n")
            case "metrics":
                route = Route.metrics
                try allow([.get], method)
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(
                    status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
            default: break
            }
        case 2 where segments[0] == "v1" && segments[1] == "topology":
            route = Route.topology
            try allow([.get], method)
            return try topology.respond(request)
        case 3 where segments[0] == "v1" && segments[1] == "streams":
            route = Route.stream
            let stream = String(segments[2])
            switch method {
            case .post: return try await publish.publish(request, stream: stream, received: &received)
            case .options: return try webhookHandshake(request, stream: stream)
            default: throw methodNotAllowed([.post, .options], method)
            }
        case 6 where segments[0] == "v1" && segments[1] == "streams":
            let stream = String(segments[2])
            switch (segments[3], segments[5]) {
            case ("partitions", "events"):
                route = Route.partitionEvents
                try allow([.get], method)
                return try await reads.read(request, stream: stream, partition: segments[4])
            case ("subscriptions", "events"):
                route = Route.groupEvents
                try allow([.get], method)
                return try await subscriptions.pull(request, stream: stream, group: segments[4])
            case ("subscriptions", "ack"), ("subscriptions", "nack"):
                let positive = segments[5] == "ack"
                route = positive ? Route.groupAck : Route.groupNack
                try allow([.post], method)
                return try await subscriptions.acknowledge(
                    request, stream: stream, group: segments[4], positive: positive)
            default: break
            }
        default: break
        }
        throw ProblemDetails(.notFound, "no such resource: \(request.uri.path)")
    }

    /// The CloudEvents webhook abuse-protection handshake: this endpoint accepts deliveries from any origin, at any
    /// rate (rate limits are the operator's business, not the handshake's).
    private func webhookHandshake(_ request: Request, stream: String) throws(ProblemDetails) -> Response {
        if let snapshot = view.snapshot, snapshot.streams[stream] == nil {
            throw ProblemDetails(.notFound, "stream \(stream) does not exist")
        }
        var headers = HTTPFields()
        headers[Self.allow] = "POST, OPTIONS"
        headers[Self.webhookAllowedOrigin] = request.headers[Self.webhookRequestOrigin] ?? "*"
        headers[Self.webhookAllowedRate] = "*"
        return Response(status: .ok, headers: headers)
    }

    private func allow(_ methods: [HTTPRequest.Method], _ method: HTTPRequest.Method) throws(ProblemDetails) {
        guard methods.contains(method) else { throw methodNotAllowed(methods, method) }
    }

    private func methodNotAllowed(_ methods: [HTTPRequest.Method], _ method: HTTPRequest.Method) -> ProblemDetails {
        let allowed = methods.map(\.rawValue).joined(separator: ", ")
        return ProblemDetails(
            .methodNotAllowed, "method \(method.rawValue) is not allowed here; use \(allowed)",
            headers: [Self.allow: allowed])
    }

    private static func text(_ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
