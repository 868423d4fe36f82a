import Foundation
import HadronCore
public import HadronHTTP
import Hummingbird
public import Logging
import NIOCore
import Placement
public import ServiceLifecycle

/// `hadron controller`'s HTTP face (docs/internal-api.md): topology as JSON and as a Server-Sent Events watch, and
/// the heartbeat storage nodes register with. HTTP/1.1 and h2c on one port.
public struct LocalControllerServer: Service {
    public let controller: LocalController
    private let host: String
    private let port: Int
    private let logger: Logger
    private let onListening: @Sendable (ServerAddress) async -> Void

    public init(
        controller: LocalController, host: String, port: Int, logger: Logger,
        onListening: @escaping @Sendable (ServerAddress) async -> Void = { _ in }
    ) {
        self.controller = controller
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router()
        let controller = controller
        router.get("/healthz") { _, _ in Response(status: .ok) }
        router.get("/v1/topology") { request, _ -> Response in
            guard request.uri.queryParameters.get("watch") == "true" else {
                return Self.json(try Self.encoder.encode(await controller.current()))
            }
            let updates = await controller.watch()
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // The watch ends when the server shuts down gracefully, so SIGTERM is not held up by watchers.
                    let events = AsyncStream<ByteBuffer> { continuation in
                        let relay = Task {
                            await cancelWhenGracefulShutdown {
                                for await topology in updates {
                                    var event = "event: topology\ndata: "
                                    event += String(decoding: (try? Self.encoder.encode(topology)) ?? Data(), as: UTF8.self)
                                    continuation.yield(ByteBuffer(string: event + "\n\n"))
                                }
                            }
                            continuation.finish()
                        }
                        continuation.onTermination = { _ in relay.cancel() }
                    }
                    for await event in events { try await writer.write(event) }
                    try await writer.finish(nil)
                })
        }
        router.post("/v1/nodes/{id}/heartbeat") { request, context -> Response in
            let id = try context.parameters.require("id")
            guard DNSName.isValidLabel(id) else {
                throw ProblemDetails(.badRequest, "node id \"\(id)\" is not a DNS-1123 label ([a-z0-9-], at most 63)")
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            let heartbeat: NodeHeartbeat
            do {
                heartbeat = try JSONDecoder().decode(NodeHeartbeat.self, from: Data(body.readableBytesView))
            } catch {
                throw ProblemDetails(.badRequest, "heartbeat body: \(error)")
            }
            return Self.json(try Self.encoder.encode(await controller.heartbeat(nodeID: id, heartbeat)))
        }
        router.post("/v1/streams/{stream}/partitions/{partition}/isr") { request, context -> Response in
            let change = try ISRReportRequest.decode(
                try await request.body.collect(upTo: 1 << 20), stream: try context.parameters.require("stream"),
                partition: try context.parameters.require("partition"))
            let topology: Topology
            do {
                topology = try await controller.changeISR(change)
            } catch let refusal as ISRChangeRefusal {
                throw ProblemDetails(refusal)
            }
            return Self.json(try Self.encoder.encode(topology))
        }
        let onListening = onListening
        let app = Application(
            router: router, server: .http1AndH2C(),
            configuration: .init(address: .hostname(host, port: port), serverName: "hadron-controller"),
            services: [LivenessTicker(controller: controller)],
            onServerRunning: { channel in
                if let address = ListeningAnnouncement.boundAddress(of: channel) { await onListening(address) }
            },
            logger: logger)
        try await app.runService()
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ data: Data) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Re-evaluates node liveness every half second, so a node whose heartbeats stop shows as not ready.
public struct LivenessTicker: Service {
    public let controller: LocalController

    public init(controller: LocalController) { self.controller = controller }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            await controller.tick()
        }
    }
}
