public import KubeAPI
public import Logging
public import Prometheus
public import ServiceLifecycle
public import UnixSignals

/// The operator process: the leader elector on the `hadron-operator` Lease and the health/metrics
/// listener, run as one `ServiceGroup` that shuts down gracefully on SIGTERM (releasing the Lease).
/// The reconcilers arrive as leader work with the operator issue.
public struct OperatorRuntime: Sendable {
    public let settings: OperatorSettings
    public let client: KubeClient
    public let registry: PrometheusCollectorRegistry
    public let logger: Logger

    public init(settings: OperatorSettings, client: KubeClient, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.settings = settings
        self.client = client
        self.registry = registry
        self.logger = logger
    }

    /// Builds the services; `signals` are those that start a graceful shutdown (none in tests).
    public func makeServiceGroup(
        signals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (String, Int) -> Void
    ) throws -> (ServiceGroup, LeaseElector) {
        let elector = try LeaseElector(
            configuration: settings.election, client: client, logger: logger,
            metricsFactory: PrometheusMetricsFactory(registry: registry))
        let server = OperatorHTTPServer(
            host: settings.host, port: settings.port, registry: registry, logger: logger, onListening: onListening)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: elector), .init(service: server)],
                gracefulShutdownSignals: signals,
                logger: logger))
        return (group, elector)
    }
}
