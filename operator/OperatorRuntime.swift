import HadronHTTP
public import KubeAPI
public import Logging
public import Prometheus
public import ServiceLifecycle
import Synchronization
public import UnixSignals

/// The operator process: the leader elector on the `hadron-operator` Lease and the health/metrics
/// listener, run as one `ServiceGroup` that shuts down gracefully on SIGTERM (releasing the Lease).
/// The reconcilers (`OperatorController`) are the elector's leader work: they start when this
/// replica acquires the Lease and are cancelled as soon as it stops leading.
public struct OperatorRuntime: Sendable {
    public let settings: OperatorSettings
    public let client: KubeClient
    public let registry: PrometheusCollectorRegistry
    public let logger: Logger
    /// The reconcilers; they run only during this replica's terms of leadership.
    public let controller: OperatorController
    private let leadership: ElectorLeadership

    public init(settings: OperatorSettings, client: KubeClient, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.settings = settings
        self.client = client
        self.registry = registry
        self.logger = logger
        let leadership = ElectorLeadership()
        self.leadership = leadership
        self.controller = OperatorController(
            client: client, settings: settings.controller, leadership: leadership, logger: logger)
    }

    /// Builds the services; `signals` are those that start a graceful shutdown (none in tests).
    public func makeServiceGroup(
        signals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (String, Int) -> Void
    ) throws -> (ServiceGroup, LeaseElector) {
        let controller = self.controller
        let logger = self.logger
        let elector = try LeaseElector(
            configuration: settings.election, client: client, logger: logger,
            metricsFactory: PrometheusMetricsFactory(registry: registry),
            leaderWork: {
                // A term ends only when leadership does: should the reconcilers fail on their own
                // (an unreadable token file ends every watch), they start again while this replica leads.
                while true {
                    do {
                        try await controller.run()
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("Reconcilers failed; restarting", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            })
        leadership.elector.withLock { $0 = elector }
        let client = self.client
        let election = settings.election
        let boundPort = Atomic<Int>(settings.port)
        let forwarder = ISRReportForwarder(client: InternalClient(logger: logger)) {
            guard let leader = elector.currentLeader, leader != election.identity else { return nil }
            let pod = try await client.get(Pod.self, name: leader, namespace: election.namespace)
            guard let ip = pod.status?.podIP, !ip.isEmpty else { return nil }
            return ServerAddress(host: ip, port: boundPort.load(ordering: .relaxed)).description
        }
        let server = OperatorHTTPServer(
            host: settings.host, port: settings.port, registry: registry,
            recordISR: { namespace, change in try await controller.recordISR(namespace: namespace, change) },
            forwarder: forwarder, logger: logger,
            onListening: { host, port in
                boundPort.store(port, ordering: .relaxed)
                onListening(host, port)
            })
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: elector), .init(service: server)],
                gracefulShutdownSignals: signals,
                logger: logger))
        return (group, elector)
    }
}

/// The Lease check of forced writes, answered by the elector (made after the controller, which the
/// elector runs as leader work).
final class ElectorLeadership: LeadershipCheck {
    let elector = Mutex<LeaseElector?>(nil)

    func confirmLeadership() async -> Bool {
        guard let elector = elector.withLock({ $0 }) else { return false }
        return await elector.confirmLeadership()
    }
}
