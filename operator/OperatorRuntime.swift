import HadronHTTP
public import KubeAPI
public import Logging
public import Prometheus
public import ServiceLifecycle
import Synchronization
public import UnixSignals

/// The operator process: the leader elector on the `hadron-operator` Lease, the health/metrics
/// listener and (when configured) the admission webhook with its certificate, run as one `ServiceGroup`
/// that shuts down gracefully on SIGTERM (releasing the Lease).
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
    /// `onWebhookListening` is called with the webhook's bound address once it serves HTTPS.
    public func makeServiceGroup(
        signals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (String, Int) -> Void,
        onWebhookListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
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
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: elector), .init(service: server),
        ]
        if let webhook = settings.webhook {
            services += webhookServices(webhook, onListening: onWebhookListening).map { .init(service: $0) }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: signals,
                logger: logger))
        return (group, elector)
    }
}

extension OperatorRuntime {
    /// The webhook's HTTPS server and the service that keeps its certificate (and, on the leader, the
    /// configuration's `caBundle`) current.
    func webhookServices(_ webhook: WebhookSettings, onListening: @escaping @Sendable (String, Int) -> Void)
        -> [any Service]
    {
        let slot = ServingCertificateSlot()
        let source: WebhookCertificateMaintainer.Source
        switch webhook.certificates {
        case .directory(let path):
            source = .directory(WebhookCertificateDirectory(path: path))
        case .secret(let name):
            source = .secret(
                WebhookCertificateSecret(
                    client: client, name: name, namespace: webhook.namespace,
                    dnsNames: WebhookCertificateIssuer.dnsNames(
                        service: webhook.serviceName, namespace: webhook.namespace),
                    ipAddresses: webhook.ipAddresses, logger: logger),
                injector: WebhookCABundleInjector(client: client, configurationName: webhook.configurationName))
        }
        return [
            WebhookCertificateMaintainer(
                source: source, slot: slot, leadership: leadership, interval: webhook.refreshInterval, logger: logger),
            AdmissionWebhookServer(
                host: webhook.host, port: webhook.port, reviewer: AdmissionReviewer(client: client, logger: logger),
                slot: slot, logger: logger, onListening: onListening),
        ]
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
