public import KubeAPI

/// What `hadron operator` needs to start, resolved from flags and the environment.
public struct OperatorSettings: Sendable {
    /// Host and port of the `/healthz` and `/metrics` listener.
    public var host: String
    public var port: Int
    public var election: LeaderElectionConfiguration
    /// What the reconcilers watch and how often they resync.
    public var controller: OperatorController.Settings
    /// The validating admission webhook; nil serves none (a local operator outside the cluster).
    public var webhook: WebhookSettings?

    public init(
        host: String, port: Int, election: LeaderElectionConfiguration,
        controller: OperatorController.Settings = OperatorController.Settings(), webhook: WebhookSettings? = nil
    ) {
        self.host = host
        self.port = port
        self.election = election
        self.controller = controller
        self.webhook = webhook
    }

    /// The namespace to elect in: `NAMESPACE` (the downward API), else the pod's service-account
    /// namespace, else the kubeconfig context's namespace.
    public static func namespace(environment: [String: String], configuration: KubeConfiguration) -> String {
        if let namespace = environment["NAMESPACE"], !namespace.isEmpty { return namespace }
        return configuration.namespace
    }

    /// The candidate identity: `POD_NAME` (the downward API), else `HOSTNAME`, else the host name
    /// with the process id (two local operators on one machine must not share an identity).
    public static func identity(environment: [String: String], hostName: String, processID: Int32) -> String {
        if let pod = environment["POD_NAME"], !pod.isEmpty { return pod }
        if let host = environment["HOSTNAME"], !host.isEmpty { return host }
        return "\(hostName)-\(processID)"
    }
}
