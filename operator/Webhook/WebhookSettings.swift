/// How `hadron operator` serves the validating admission webhook.
public struct WebhookSettings: Sendable {
    /// Where the serving certificate comes from.
    public enum Certificates: Sendable {
        /// `tls.crt`, `tls.key` (and `ca.crt`) in a directory, as cert-manager's Secret is mounted.
        case directory(String)
        /// Issued by the operator and stored in this Secret in ``namespace``.
        case secret(String)
    }

    public var host: String
    public var port: Int
    public var certificates: Certificates
    /// The Service in front of the operator pods: the certificate's DNS names are `SERVICE.NAMESPACE.svc` and
    /// its variants.
    public var serviceName: String
    /// The operator's own namespace (the Secret's and the Service's).
    public var namespace: String
    /// The ValidatingWebhookConfiguration whose `caBundle` the leader keeps in step with an issued certificate.
    public var configurationName: String
    /// How often the certificate source is re-read (and the `caBundle` checked by the leader).
    public var refreshInterval: Duration
    /// Addresses an issued certificate names besides the DNS names (tests dial 127.0.0.1).
    public var ipAddresses: [[UInt8]]

    public init(
        host: String = "0.0.0.0", port: Int = 9443,
        certificates: Certificates = .secret("hadron-operator-webhook-cert"),
        serviceName: String = "hadron-operator", namespace: String,
        configurationName: String = "hadron-operator", refreshInterval: Duration = .seconds(60),
        ipAddresses: [[UInt8]] = []
    ) {
        self.host = host
        self.port = port
        self.certificates = certificates
        self.serviceName = serviceName
        self.namespace = namespace
        self.configurationName = configurationName
        self.refreshInterval = refreshInterval
        self.ipAddresses = ipAddresses
    }
}
