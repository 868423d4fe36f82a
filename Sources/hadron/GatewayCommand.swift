import ArgumentParser
import HadronGateway
import HadronHTTP
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `hadron gateway --listen HOST:PORT [--tls-cert F --tls-key F] (--controller URL | --kubernetes)
/// [--resolve NAME=HOST:PORT]`: one gateway process.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run a gateway: the public HTTP API (publish, read, consumer groups) in front of storage.")

    @Option(
        help:
            "Address to listen on (HOST:PORT; port 0 picks a free port). Default 0.0.0.0:8080, 8443 with TLS (HADRON_LISTEN)."
    )
    var listen: String = HadronEnvironment.value(forFlag: "listen", default: "")

    @Option(
        name: .customLong("tls-cert"),
        help: "PEM certificate chain; serves TLS with ALPN h2 and http/1.1 (HADRON_TLS_CERT).")
    var tlsCertificate: String = HadronEnvironment.value(forFlag: "tls-cert", default: "")

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (HADRON_TLS_KEY).")
    var tlsKey: String = HadronEnvironment.value(forFlag: "tls-key", default: "")

    @Option(
        help:
            "The local controller's URL (http://HOST:PORT), where topology and leadership come from (HADRON_CONTROLLER)."
    )
    var controller: String = HadronEnvironment.value(forFlag: "controller", default: "")

    @OptionGroup var cluster: KubernetesOptions

    @OptionGroup var loops: EventLoopOptions

    @Option(
        name: .customLong("linger-ms"),
        help: ArgumentHelp(
            "How long a partition's first waiting publish holds its record batch open for others while publishing "
                + "is busy, in milliseconds, 0 to 1 (HADRON_LINGER_MS)."))
    var lingerMilliseconds: Double =
        Double(HadronEnvironment.value(forFlag: "linger-ms", default: "\(Self.defaultLinger)")) ?? .nan

    private static var defaultLinger: Double {
        let (seconds, attoseconds) = GatewayConfiguration.defaultLinger.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    func validate() throws {
        guard tlsCertificate.isEmpty == tlsKey.isEmpty else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if cluster.kubernetes {
            guard controller.isEmpty else { throw ValidationError("--controller and --kubernetes exclude each other") }
        } else if controller.isEmpty {
            throw ValidationError("--controller (or HADRON_CONTROLLER) or --kubernetes is required")
        }
        guard lingerMilliseconds >= 0, lingerMilliseconds <= 1 else {
            throw ValidationError("--linger-ms must be between 0 and 1")
        }
        guard ServerAddress(listenAddress) != nil else {
            throw ValidationError("--listen must be HOST:PORT, got \(listenAddress)")
        }
    }

    private var listenAddress: String {
        !listen.isEmpty ? listen : (tlsCertificate.isEmpty ? "0.0.0.0:8080" : "0.0.0.0:8443")
    }

    func run() async throws {
        LargeAllocations.keepInHeap()
        // Also a little less idle memory than Swift's default pool (39.1-39.4 against 39.7-39.8 MiB resident).
        let onEventLoops = loops.install()
        let logger = CommandLogging.logger(label: "hadron.gateway")
        if !onEventLoops {
            logger.warning("Swift concurrency could not be moved onto the event loops; running on its default pool")
        }
        // The process's one metrics bootstrap; the gateway registers its own metrics in the same registry.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var configuration = GatewayConfiguration(listen: ServerAddress(listenAddress)!)
        if !tlsCertificate.isEmpty {
            configuration.tls = try GatewayConfiguration.tlsConfiguration(
                certificatePath: tlsCertificate, keyPath: tlsKey)
        }
        configuration.resolve = cluster.addressOverrides
        configuration.linger = .microseconds(Int64((lingerMilliseconds * 1000).rounded()))
        let controllerClient = InternalClient(resolve: cluster.addressOverrides, logger: logger)
        let source: any TopologySource
        if cluster.kubernetes {
            let watch = try cluster.topologyWatch(logger: logger)
            configuration.routing = .partitionService(cluster: watch.cluster, namespace: watch.namespace)
            source = KubernetesTopologyFollower(watch: watch)
        } else {
            source = try TopologyFollower(controller: controller, client: controllerClient, logger: logger)
        }
        let gateway = try Gateway(
            configuration: configuration, topologySource: source, registry: registry, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [gateway], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                // Fails only when the server stopped before it listened; group.run() reports why.
                if let line = try? await gateway.readyLine() { CommandLogging.announce(line) }
            }
            try await tasks.waitForAll()
        }
        await controllerClient.shutdown()
    }
}
