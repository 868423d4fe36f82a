import Foundation
import Hummingbird
import HummingbirdHTTP2
public import KubeAPI
public import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// A Kubernetes API server double on a loopback port, for tests: TLS with HTTP/2 (ALPN), a bearer
/// token or the test CA's client certificate accepted, and the API server's rules for everything
/// Hadron sends (see `APIServerState`). Its own tests (`TestDoubleTests`) pin its behaviour.
public final class KubeAPIDouble: Sendable {
    public let pki: TestPKI
    /// The bearer token the double accepts by default.
    public let token: String
    public let port: Int
    let state: APIServerState
    let access: AccessControl
    let responder: DoubleResponder
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public var url: String { "https://127.0.0.1:\(port)" }

    private init(
        pki: TestPKI, token: String, port: Int, state: APIServerState, access: AccessControl,
        responder: DoubleResponder, group: ServiceGroup, task: Task<Void, any Error>
    ) {
        self.pki = pki
        self.token = token
        self.port = port
        self.state = state
        self.access = access
        self.responder = responder
        self.group = group
        self.task = task
    }

    /// Starts the double on 127.0.0.1, port 0; returns once it listens.
    public static func start(settings: DoubleSettings = DoubleSettings(), logger: Logger? = nil) async throws
        -> KubeAPIDouble
    {
        let pki = try TestPKI.generate()
        let token = "hadron-test-token-\(UUID().uuidString)"
        let state = APIServerState(settings: settings)
        let access = AccessControl(tokens: [token])
        let responder = DoubleResponder(state: state, access: access, clientCommonName: pki.clientCommonName)

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [
                .certificate(try NIOSSLCertificate(bytes: Array(pki.serverCertificatePEM.utf8), format: .pem))
            ],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.serverKeyPEM.utf8), format: .pem)))
        tls.trustRoots = .certificates([
            try NIOSSLCertificate(bytes: Array(pki.certificateAuthorityPEM.utf8), format: .pem)
        ])
        tls.certificateVerification = .optionalVerification

        var quiet = logger ?? Logger(label: "kube-api-double")
        if logger == nil { quiet.logLevel = .critical }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: responder,
            server: try .http2Upgrade(tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "kube-api-double"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw CancellationError()
        }
        return KubeAPIDouble(
            pki: pki, token: token, port: port, state: state, access: access, responder: responder, group: group,
            task: task)
    }

    /// Stops the server, ends watches and held requests, removes the certificates.
    public func stop() async {
        access.healAll()
        await state.endWatches()
        await group.triggerGracefulShutdown()
        let task = self.task
        let watchdog = Task {
            try await Task.sleep(for: .seconds(5))
            task.cancel()
        }
        _ = await task.result
        watchdog.cancel()
        pki.remove()
    }

    // MARK: Client configurations

    /// A configuration that authenticates with a bearer token (the double's own by default).
    public func tokenConfiguration(token: String? = nil, namespace: String = "default") -> KubeConfiguration {
        KubeConfiguration(
            server: url, tls: TLSSettings(certificateAuthorityPEM: Array(pki.certificateAuthorityPEM.utf8)),
            token: .fixed(token ?? self.token), namespace: namespace)
    }

    /// A configuration that authenticates with the test CA's client certificate.
    public func certificateConfiguration(namespace: String = "default") -> KubeConfiguration {
        KubeConfiguration(
            server: url,
            tls: TLSSettings(
                certificateAuthorityPEM: Array(pki.certificateAuthorityPEM.utf8),
                clientCertificatePEM: Array(pki.clientCertificatePEM.utf8),
                clientKeyPEM: Array(pki.clientKeyPEM.utf8)),
            namespace: namespace)
    }

    /// Writes a kubeconfig file for processes (`hadron --kubeconfig`, kubectl) that authenticates with a bearer
    /// token (the double's own by default) and trusts the test CA.
    public func writeKubeconfig(to path: String, token: String? = nil, namespace: String = "default") throws {
        try """
            apiVersion: v1
            kind: Config
            clusters:
              - name: double
                cluster: {server: "\(url)", certificate-authority: "\(pki.certificateAuthorityPath)"}
            users:
              - name: user
                user: {token: "\(token ?? self.token)"}
            contexts:
              - name: double
                context: {cluster: double, user: user, namespace: \(namespace)}
            current-context: double
            """.write(toFile: path, atomically: false, encoding: .utf8)
    }

    // MARK: Test hooks

    /// Another accepted bearer token (one per simulated pod, so each can be cut off alone).
    public func addToken(_ token: String) { access.addToken(token) }

    /// Requests with this token hang until `heal` (a network partition between one client and the server).
    public func blackhole(token: String) { access.blackhole(token) }

    public func heal(token: String) { access.heal(token) }

    /// Expires every resourceVersion up to now (etcd compaction): older watches and continue tokens get 410.
    public func compact() async { await state.compact() }

    /// Ends every open watch, as the server does at a watch's timeout.
    public func endWatches() async { await state.endWatches() }

    public func openWatchCount() async -> Int { await state.openWatchCount }

    public func update(_ change: @Sendable (inout DoubleSettings) -> Void) async { await state.update(change) }

    /// The current global resourceVersion.
    public func currentResourceVersion() async -> Int { await state.revision }

    /// The stored object, as the server holds it (managedFields included).
    public func storedObject(_ descriptor: ResourceDescriptor, namespace: String?, name: String) async -> JSONValue? {
        await state.object(descriptor, namespace: namespace, name: name)
    }

    /// Every request received so far.
    public var requests: [RecordedRequest] { responder.requests }
}
