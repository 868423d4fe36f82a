public import Foundation

/// Everything needed to reach one API server as one identity.
public struct KubeConfiguration: Sendable {
    /// Base URL, e.g. `https://10.96.0.1:443`.
    public var server: String
    public var tls: TLSSettings
    /// `nil` when the identity is a client certificate only.
    public var token: BearerTokenSource?
    /// The namespace of the context (kubeconfig) or of the pod (in-cluster); `default` otherwise.
    public var namespace: String
    public var userAgent: String

    public init(
        server: String,
        tls: TLSSettings = TLSSettings(),
        token: BearerTokenSource? = nil,
        namespace: String = "default",
        userAgent: String = "hadron/0.1"
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.tls = tls
        self.token = token
        self.namespace = namespace
        self.userAgent = userAgent
    }

    /// The directory a pod's service-account credentials are mounted at.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Loads the configuration the way client-go does for a controller: in-cluster when running in a
    /// pod (`KUBERNETES_SERVICE_HOST` set and a service-account token mounted), else the kubeconfig
    /// (`$KUBECONFIG`, then `~/.kube/config`).
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws -> KubeConfiguration {
        if environment["KUBERNETES_SERVICE_HOST"] != nil,
            FileManager.default.fileExists(atPath: serviceAccountDirectory + "/token")
        {
            return try inCluster(environment: environment, serviceAccountDirectory: serviceAccountDirectory)
        }
        return try Kubeconfig.load(environment: environment).configuration()
    }

    /// The configuration of a pod: server from `KUBERNETES_SERVICE_HOST/PORT`, the mounted CA, and
    /// the mounted token, re-read as it rotates.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws -> KubeConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeConfigError.notFound(
                "not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"
            )
        }
        let tokenPath = serviceAccountDirectory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError.notFound("no service-account token at \(tokenPath)")
        }
        let token = BearerTokenSource.file(tokenPath)
        _ = try token.token()
        let caPath = serviceAccountDirectory + "/ca.crt"
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw KubeConfigError.unreadable("cannot read the service-account CA \(caPath)")
        }
        let namespace = FileManager.default.contents(atPath: serviceAccountDirectory + "/namespace")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfiguration(
            server: "https://\(hostPart):\(port)",
            tls: TLSSettings(certificateAuthorityPEM: Array(ca)),
            token: token,
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        )
    }
}
