import Hummingbird
public import Logging
import NIOCore
public import Prometheus
public import ServiceLifecycle

/// The operator's plain-HTTP listener: `/healthz` for the kubelet, `/metrics` for Prometheus.
public struct OperatorHTTPServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// - Parameter onListening: called with the bound address once the server listens (port 0 allowed).
    public init(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        onListening: @escaping @Sendable (String, Int) -> Void
    ) {
        let router = Router()
        router.get("healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("metrics") { _, _ in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "hadron-operator"),
            onServerRunning: { channel in
                onListening(host, channel.localAddress?.port ?? port)
            },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }
}
