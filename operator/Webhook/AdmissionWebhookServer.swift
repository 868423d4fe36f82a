import Foundation
import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle

/// The validating admission webhook's HTTPS listener: `POST /validate` takes an AdmissionReview for any Hadron
/// kind and answers with the reviewer's verdict. TLS 1.2 or later (the API server requires TLS).
///
/// HTTP/1.1 only, deliberately: the API server speaks it to any webhook, and on shutdown an idle HTTP/1.1
/// keep-alive connection is simply closed, whereas HTTP/2's graceful close waits for the client to answer a
/// GOAWAY — which a client with the connection idle in its pool does not read — and SIGTERM would hang until
/// the kubelet's SIGKILL.
///
/// It starts listening once the first certificate is in the slot; each handshake takes the slot's current
/// certificate, so a rotation needs no restart.
public struct AdmissionWebhookServer: Service {
    /// Larger than any AdmissionReview: two objects of at most 1.5 MiB (etcd's limit) plus the envelope.
    static let maximumBodySize = 8 << 20
    /// The API server keeps connections to webhooks open between calls; an idle one is closed after this.
    static let idleTimeout = TimeAmount.seconds(120)

    private let host: String
    private let port: Int
    private let reviewer: AdmissionReviewer
    private let slot: ServingCertificateSlot
    private let logger: Logger
    private let onListening: @Sendable (String, Int) -> Void

    /// - Parameter onListening: called with the bound address once the server listens (port 0 allowed).
    public init(
        host: String, port: Int, reviewer: AdmissionReviewer, slot: ServingCertificateSlot, logger: Logger,
        onListening: @escaping @Sendable (String, Int) -> Void
    ) {
        self.host = host
        self.port = port
        self.reviewer = reviewer
        self.slot = slot
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        // Graceful shutdown before any certificate arrived cancels the wait: nothing was served, nothing to drain.
        guard let first = await cancelWhenGracefulShutdown({ await self.slot.first() }) else { return }

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.key))
        tls.minimumTLSVersion = .tlsv12
        // Closing an idle connection sends close_notify and waits for the peer's; an idle client in a pool never
        // answers, so shutdown would wait out NIOSSL's default of five seconds per connection.
        tls.shutdownTimeout = .milliseconds(500)
        let slot = self.slot
        tls.sslContextCallback = { _, promise in
            var override = NIOSSLContextConfigurationOverride()
            if let current = slot.loaded {
                override.certificateChain = current.chain.map { .certificate($0) }
                override.privateKey = .privateKey(current.key)
            }
            promise.succeed(override)
        }

        let reviewer = self.reviewer
        let logger = self.logger
        let router = Router()
        router.post("validate") { request, _ -> Response in
            let body = try await request.body.collect(upTo: Self.maximumBodySize)
            let review: AdmissionReview.Request
            do {
                review = try AdmissionReviewer.decodeRequest(body.readableBytesView)
            } catch let error as AdmissionReviewer.MalformedReview {
                logger.warning("Malformed AdmissionReview", metadata: ["error": "\(error)"])
                return Self.plain(.badRequest, "\(error)\n")
            }
            let response = await reviewer.review(review)
            let reply = try JSONEncoder().encode(AdmissionReview.reply(response))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: reply)))
        }
        let host = self.host
        let port = self.port
        let onListening = self.onListening
        let application = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: Self.idleTimeout)), tlsConfiguration: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "hadron-operator-webhook"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? port) },
            logger: logger)
        try await application.run()
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
