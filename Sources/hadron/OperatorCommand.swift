import ArgumentParser
import Foundation
import HadronOperator
import KubeAPI
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `hadron operator`: the Kubernetes control plane. Elects a leader on the `hadron-operator` Lease,
/// serves `/healthz` and `/metrics`, and — while leading — reconciles HadronClusters and Streams.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Run the Kubernetes operator (in-cluster config or $KUBECONFIG).")

    @Option(help: "Address of /healthz and /metrics (HADRON_LISTEN).")
    var listen: String?

    @Option(help: "Kubeconfig file; default: in-cluster, else $KUBECONFIG, else ~/.kube/config (HADRON_KUBECONFIG).")
    var kubeconfig: String?

    @Option(help: "Name of the leader-election Lease (HADRON_LEASE_NAME).")
    var leaseName: String?

    @Option(help: "Namespace of the Lease; default $NAMESPACE, else the pod's or the context's (HADRON_NAMESPACE).")
    var namespace: String?

    @Option(help: "This replica's identity; default $POD_NAME, else the host name (HADRON_IDENTITY).")
    var identity: String?

    @Option(help: "Seconds a lease is valid without renewal (HADRON_LEASE_DURATION).")
    var leaseDuration: Double?

    @Option(help: "Seconds a leader may fail to renew before it stops leading (HADRON_RENEW_DEADLINE).")
    var renewDeadline: Double?

    @Option(help: "Seconds between election attempts (HADRON_RETRY_PERIOD).")
    var retryPeriod: Double?

    @Option(help: "Namespace whose Hadron resources to reconcile; default: all (HADRON_WATCH_NAMESPACE).")
    var watchNamespace: String?

    @Option(help: "Image of HadronClusters that set no spec.image (HADRON_DEFAULT_IMAGE).")
    var defaultImage: String?

    @Option(help: "Seconds between full resyncs of every resource (HADRON_RESYNC_PERIOD).")
    var resyncPeriod: Double?

    @Option(
        help:
            "Seconds a partition leader's pod may be not ready before another replica is elected (HADRON_FAILOVER_TIMEOUT)."
    )
    var failoverTimeout: Double?

    @Option(
        name: .customLong("operator-url"),
        help:
            "URL storage pods send ISR reports to, the operator's Service; default http://hadron-operator.NAMESPACE.svc:PORT (HADRON_OPERATOR_URL)."
    )
    var operatorURL: String?

    @Option(help: "Address of the HTTPS admission webhook; empty serves none (HADRON_WEBHOOK_LISTEN).")
    var webhookListen: String?

    @Option(help: "Directory with the webhook's tls.crt and tls.key; default: issue one (HADRON_WEBHOOK_CERT_DIR).")
    var webhookCertDir: String?

    @Option(help: "Secret holding the operator-issued webhook certificate (HADRON_WEBHOOK_SECRET).")
    var webhookSecret: String?

    @Option(help: "Service in front of the webhook, named in its certificate (HADRON_WEBHOOK_SERVICE).")
    var webhookService: String?

    @Option(help: "ValidatingWebhookConfiguration whose caBundle to keep current (HADRON_WEBHOOK_CONFIGURATION).")
    var webhookConfiguration: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ flag: String?, _ name: String) -> String? {
            flag ?? HadronEnvironment.value(forFlag: name)
        }
        func seconds(_ flag: Double?, _ name: String, default value: Double) throws -> Duration {
            guard let text = flag.map({ String($0) }) ?? HadronEnvironment.value(forFlag: name) else {
                return .seconds(value)
            }
            guard let parsed = Double(text), parsed > 0 else {
                throw ValidationError("--\(name) must be a positive number of seconds")
            }
            return .seconds(parsed)
        }

        let logger = CommandLogging.logger(label: "hadron.operator")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let (host, port) = try Self.parseAddress(setting(listen, "listen") ?? "0.0.0.0:8081")
        let configuration: KubeConfiguration
        if let path = setting(kubeconfig, "kubeconfig") {
            configuration = try Kubeconfig.load(paths: [path]).configuration()
        } else {
            configuration = try KubeConfiguration.load(environment: environment)
        }
        let election = LeaderElectionConfiguration(
            leaseName: setting(leaseName, "lease-name") ?? "hadron-operator",
            namespace: setting(namespace, "namespace")
                ?? OperatorSettings.namespace(environment: environment, configuration: configuration),
            identity: setting(identity, "identity")
                ?? OperatorSettings.identity(
                    environment: environment, hostName: ProcessInfo.processInfo.hostName,
                    processID: ProcessInfo.processInfo.processIdentifier),
            leaseDuration: try seconds(leaseDuration, "lease-duration", default: 15),
            renewDeadline: try seconds(renewDeadline, "renew-deadline", default: 10),
            retryPeriod: try seconds(retryPeriod, "retry-period", default: 2))
        do {
            try election.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        logger.info(
            "Starting the operator",
            metadata: [
                "kube.server": "\(configuration.server)", "lease": "\(election.namespace)/\(election.leaseName)",
                "identity": "\(election.identity)",
            ])

        let watched = setting(watchNamespace, "watch-namespace").flatMap { $0.isEmpty ? nil : $0 }
        let controller = OperatorController.Settings(
            namespace: watched, resyncPeriod: try seconds(resyncPeriod, "resync-period", default: 30),
            defaultImage: setting(defaultImage, "default-image").flatMap { $0.isEmpty ? nil : $0 },
            failoverTimeout: try seconds(failoverTimeout, "failover-timeout", default: 5),
            operatorURL: setting(operatorURL, "operator-url") ?? "http://hadron-operator.\(election.namespace).svc:\(port)")
        var webhook: WebhookSettings?
        // An empty HADRON_WEBHOOK_LISTEN disables the webhook as `--webhook-listen ""` does.
        let webhookAddress = webhookListen ?? environment["HADRON_WEBHOOK_LISTEN"] ?? "0.0.0.0:9443"
        if !webhookAddress.isEmpty {
            let (webhookHost, webhookPort) = try Self.parseAddress(webhookAddress, flag: "webhook-listen")
            let directory = setting(webhookCertDir, "webhook-cert-dir").flatMap { $0.isEmpty ? nil : $0 }
            webhook = WebhookSettings(
                host: webhookHost, port: webhookPort,
                certificates: directory.map { .directory($0) }
                    ?? .secret(setting(webhookSecret, "webhook-secret") ?? "hadron-operator-webhook-cert"),
                serviceName: setting(webhookService, "webhook-service") ?? "hadron-operator",
                namespace: election.namespace,
                configurationName: setting(webhookConfiguration, "webhook-configuration") ?? "hadron-operator")
        }
        let runtime = OperatorRuntime(
            settings: OperatorSettings(
                host: host, port: port, election: election, controller: controller, webhook: webhook),
            client: KubeClient(configuration: configuration, logger: logger),
            registry: registry,
            logger: logger)
        let (group, _) = try runtime.makeServiceGroup(
            onListening: { host, port in
                CommandLogging.announce("hadron operator listening on http://\(host):\(port)")
            },
            onWebhookListening: { host, port in
                CommandLogging.announce("hadron operator webhook listening on https://\(host):\(port)")
            })
        try await group.run()
    }

    static func parseAddress(_ text: String, flag: String = "listen") throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ValidationError("--\(flag) must be HOST:PORT, got \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}
