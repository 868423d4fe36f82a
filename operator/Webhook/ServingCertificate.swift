import Foundation
import SwiftASN1
import X509

/// The certificate the admission webhook serves, with the CA bundle the API server must trust to call it.
public struct ServingCertificate: Sendable, Equatable {
    /// The serving certificate (first) and any intermediates, PEM.
    public var certificateChainPEM: String
    /// Its private key, PEM (PKCS#8 or SEC1).
    public var privateKeyPEM: String
    /// What goes into the webhook configuration's `caBundle`, PEM; nil when the source has no CA (a
    /// cert-manager Secret from a public issuer) — then something else keeps the `caBundle` in step.
    public var caBundlePEM: String?

    public init(certificateChainPEM: String, privateKeyPEM: String, caBundlePEM: String?) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.caBundlePEM = caBundlePEM
    }

    /// The leaf certificate, parsed.
    func leaf() throws -> Certificate {
        guard let first = try PEMDocument.parseMultiple(pemString: certificateChainPEM).first else {
            throw WebhookCertificateError("the certificate file holds no PEM certificate")
        }
        return try Certificate(pemDocument: first)
    }

    /// Whether this certificate can keep serving: it parses, names every DNS name the API server may use,
    /// and stays valid longer than `margin` from `now`.
    func isUsable(for dnsNames: [String], now: Date, margin: TimeInterval) -> Bool {
        guard let leaf = try? leaf() else { return false }
        guard leaf.notValidAfter.timeIntervalSince(now) > margin, leaf.notValidBefore <= now.addingTimeInterval(3600)
        else { return false }
        let names = Set(
            ((try? leaf.extensions.subjectAlternativeNames) ?? nil)?.compactMap { name -> String? in
                if case .dnsName(let dns) = name { return dns }
                return nil
            } ?? [])
        return Set(dnsNames).isSubset(of: names)
    }
}

/// Why the webhook has no certificate to serve.
public struct WebhookCertificateError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
