import Foundation
public import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
import Placement
public import Prometheus
public import ServiceLifecycle

/// The operator's plain-HTTP listener (HTTP/1.1 and h2c): `/healthz` for the kubelet, `/metrics` for Prometheus,
/// and the ISR reports of partition leaders (DESIGN.md §6),
/// `POST /v1/namespaces/{namespace}/streams/{stream}/partitions/{p}/isr` with an ``ISRChange`` body, answered with
/// the partition as recorded in the Stream's status.
///
/// Storage pods reach the operator through its Service, which may pick any replica; only the Lease holder records,
/// so a replica that does not lead forwards the report to the one that does (``ISRReportForwarder``).
public struct OperatorHTTPServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// - Parameters:
    ///   - recordISR: records a report on this replica; throws ``NotReconciling`` when it does not lead.
    ///   - forwarder: sends a report to the leading replica; nil answers 503 instead.
    ///   - onListening: called with the bound address once the server listens (port 0 allowed).
    public init(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        recordISR: @escaping @Sendable (_ namespace: String, ISRChange) async throws -> PartitionInfo,
        forwarder: ISRReportForwarder?,
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
        router.post("/v1/namespaces/{namespace}/streams/{stream}/partitions/{partition}/isr") { request, context in
            let namespace = try context.parameters.require("namespace")
            let body = try await request.body.collect(upTo: 1 << 20)
            let change = try ISRReportRequest.decode(
                body, stream: try context.parameters.require("stream"),
                partition: try context.parameters.require("partition"))
            do {
                let recorded = try await recordISR(namespace, change)
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(recorded))))
            } catch let refusal as ISRChangeRefusal {
                throw ProblemDetails(refusal)
            } catch is NotReconciling {
                // Forwarded once at most: a replica that got a forwarded report and does not lead either answers
                // 503, and the storage node asks again on its next heartbeat.
                guard let forwarder, request.headers[ISRReportForwarder.forwardedField] == nil else {
                    throw ProblemDetails(
                        .serviceUnavailable, "this operator replica does not lead; ask again",
                        headers: [.retryAfter: "1"])
                }
                let response = try await forwarder.forward(
                    path: request.uri.path, body: body, contentType: request.headers[.contentType])
                var headers = HTTPFields()
                headers[.contentType] = response.headerFields[.contentType] ?? "application/json"
                if let retryAfter = response.headerFields[.retryAfter] { headers[.retryAfter] = retryAfter }
                return Response(status: response.status, headers: headers, body: .init(byteBuffer: response.body))
            } catch let problem as ProblemDetails {
                throw problem
            } catch {
                throw ProblemDetails(
                    .serviceUnavailable, "the ISR change could not be recorded: \(error)", headers: [.retryAfter: "1"])
            }
        }
        application = Application(
            router: router,
            server: .http1AndH2C(),
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
