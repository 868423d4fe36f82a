public import Foundation
public import KubeAPI
public import Logging

/// The operator-issued webhook certificate, kept in a Secret so that every operator replica serves the same
/// one (the API server may call any of them, and trusts one `caBundle`).
///
/// Replicas race to create it: the first create wins, the others get 409 AlreadyExists and read the winner's.
/// Renewal (expired, within ``renewalMargin`` of expiry, or issued for other DNS names) is a PUT conditional
/// on the resourceVersion read, so of two replicas renewing at once one wins and the other reads its result.
public struct WebhookCertificateSecret: Sendable {
    /// Renew this long before expiry: far more than any outage the operator should survive unattended.
    public static let renewalMargin: TimeInterval = 30 * 86_400

    public let client: KubeClient
    public let name: String
    public let namespace: String
    /// The DNS names the certificate must carry.
    public let dnsNames: [String]
    /// Addresses to put in the certificate too (tests).
    public let ipAddresses: [[UInt8]]
    private let logger: Logger

    public init(
        client: KubeClient, name: String, namespace: String, dnsNames: [String], ipAddresses: [[UInt8]] = [],
        logger: Logger
    ) {
        self.client = client
        self.name = name
        self.namespace = namespace
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.logger = logger
    }

    /// The certificate to serve: the stored one while usable, else a new one stored first.
    public func ensure(now: Date = Date()) async throws -> ServingCertificate {
        for _ in 0..<5 {
            let existing: Secret?
            do {
                existing = try await client.get(Secret.self, name: name, namespace: namespace)
            } catch let error as KubeAPIError where error.isNotFound {
                existing = nil
            }
            guard let existing else {
                let issued = try WebhookCertificateIssuer.issue(dnsNames: dnsNames, ipAddresses: ipAddresses, now: now)
                do {
                    _ = try await client.create(secret(issued, over: nil), namespace: namespace)
                    logger.info("Created the webhook certificate Secret", metadata: ["secret": "\(namespace)/\(name)"])
                    return issued
                } catch let error as KubeAPIError where error.isAlreadyExists {
                    continue  // Another replica created it first: use theirs.
                }
            }
            let stored = Self.certificate(in: existing)
            if let stored, stored.isUsable(for: dnsNames, now: now, margin: Self.renewalMargin) { return stored }
            let issued = try WebhookCertificateIssuer.issue(
                dnsNames: dnsNames, ipAddresses: ipAddresses, now: now, previousCABundlePEM: stored?.caBundlePEM)
            do {
                _ = try await client.replace(secret(issued, over: existing))
                logger.info(
                    "Renewed the webhook certificate", metadata: ["secret": "\(namespace)/\(name)"])
                return issued
            } catch let error as KubeAPIError where error.isConflict {
                continue  // Another replica renewed it first: read theirs.
            }
        }
        throw WebhookCertificateError("the Secret \(namespace)/\(name) kept changing while it was being read")
    }

    /// The certificate a Secret holds (`tls.crt`, `tls.key`, `ca.crt`), or nil when it holds none.
    static func certificate(in secret: Secret) -> ServingCertificate? {
        func text(_ key: String) -> String? {
            secret.data?[key].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        guard let chain = text("tls.crt"), let key = text("tls.key") else { return nil }
        return ServingCertificate(certificateChainPEM: chain, privateKeyPEM: key, caBundlePEM: text("ca.crt"))
    }

    private func secret(_ certificate: ServingCertificate, over existing: Secret?) -> Secret {
        var metadata = existing?.metadata ?? ObjectMeta(name: name, namespace: namespace)
        metadata.labels = (metadata.labels ?? [:]).merging(
            [ClusterNames.managedByLabel: ClusterNames.fieldManager, ClusterNames.partOfLabel: "hadron"]
        ) { _, new in new }
        var data = [
            "tls.crt": Data(certificate.certificateChainPEM.utf8).base64EncodedString(),
            "tls.key": Data(certificate.privateKeyPEM.utf8).base64EncodedString(),
        ]
        if let bundle = certificate.caBundlePEM { data["ca.crt"] = Data(bundle.utf8).base64EncodedString() }
        var secret = Secret(metadata: metadata, type: "kubernetes.io/tls", data: data)
        secret.metadata.managedFields = nil
        return secret
    }
}
