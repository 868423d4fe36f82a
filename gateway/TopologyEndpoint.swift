import HadronHTTP
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /v1/topology`: the gateway's latest copy of the cluster's topology, once or (`?watch=true`) as server-sent
/// events in the controller's own format (`event: topology`, keep-alive comments), so that clients and tools can
/// follow leadership through any gateway without reaching the controller.
struct TopologyEndpoint: Sendable {
    let view: TopologyView
    let keepAliveInterval: Duration

    func respond(_ request: Request) throws(ProblemDetails) -> Response {
        guard let snapshot = view.snapshot else {
            throw ProblemDetails(.serviceUnavailable, "the gateway has no topology yet", headers: [.retryAfter: "1"])
        }
        if request.uri.queryParameters["watch"] == "true" || RequestParameters.wantsEventStream(request) {
            return watch()
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: snapshot.json)))
    }

    private enum Item: Sendable {
        case topology([UInt8])
        case keepAlive
    }

    private func watch() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = ResponseBodies.eventStreamContentType
        headers[.cacheControl] = "no-cache"
        let view = self.view
        let interval = keepAliveInterval
        return Response(
            status: .ok, headers: headers,
            body: .init { writer in
                let (items, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(8))
                // Two producers feed the one writer: topology changes, and a keep-alive timer.
                let producers = Task {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await snapshot in view.watch() { continuation.yield(.topology(snapshot.json)) }
                        }
                        group.addTask {
                            while (try? await Task.sleep(for: interval)) != nil { continuation.yield(.keepAlive) }
                        }
                        group.addTask {
                            // Graceful shutdown ends the stream, so an open watch does not hold the process.
                            try? await gracefulShutdown()
                        }
                        await group.next()
                        group.cancelAll()
                    }
                    continuation.finish()
                }
                defer { producers.cancel() }
                for await item in items {
                    switch item {
                    case .topology(let json):
                        var event = ByteBuffer(string: "event: topology\ndata: ")
                        event.writeBytes(json)
                        event.writeString("\n\n")
                        try await writer.write(event)
                    case .keepAlive:
                        try await writer.write(ResponseBodies.keepAlive)
                    }
                }
                try await writer.finish(nil)
            })
    }
}
