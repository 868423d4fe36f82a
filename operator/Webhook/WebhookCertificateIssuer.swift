import Crypto
public import Foundation
import SwiftASN1
import X509

/// Issues the webhook's own certificate when no cert-manager certificate is mounted: a CA made for this one
/// purpose, and a serving certificate it signs for the webhook Service's DNS names.
///
/// The CA's key is thrown away once it has signed: nothing else ever needs it, and a renewal makes a new CA
/// (the old one stays in the bundle until it expires, so replicas still serving the old certificate keep
/// being trusted while they catch up).
public enum WebhookCertificateIssuer {
    /// How long an issued certificate is valid.
    public static let validity: TimeInterval = 365 * 86_400

    /// The names the API server may dial: `SERVICE.NAMESPACE.svc` is what it uses for a `service`
    /// clientConfig; the others cover in-cluster clients and tests.
    public static func dnsNames(service: String, namespace: String) -> [String] {
        [
            service, "\(service).\(namespace)", "\(service).\(namespace).svc",
            "\(service).\(namespace).svc.cluster.local",
        ]
    }

    /// - Parameters:
    ///   - previousCABundlePEM: the bundle being replaced; its certificates still valid at `now` stay in the new
    ///     bundle after the new CA.
    ///   - ipAddresses: IPv4/IPv6 addresses to name as well (tests dial 127.0.0.1).
    public static func issue(
        dnsNames: [String], ipAddresses: [[UInt8]] = [], now: Date = Date(), previousCABundlePEM: String? = nil
    ) throws -> ServingCertificate {
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(validity)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("Hadron")
            CommonName("hadron-operator-webhook-ca")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))

        let key = P256.Signing.PrivateKey()
        let names =
            dnsNames.map { GeneralName.dnsName($0) }
            + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: caName,
            subject: try DistinguishedName { CommonName(dnsNames.first ?? "hadron-operator-webhook") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))

        var bundle = try ca.serializeAsPEM().pemString
        for document in (try? PEMDocument.parseMultiple(pemString: previousCABundlePEM ?? "")) ?? [] {
            guard let previous = try? Certificate(pemDocument: document), previous.notValidAfter > now else { continue }
            bundle += "\n" + document.pemString
        }
        return ServingCertificate(
            certificateChainPEM: try leaf.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation,
            caBundlePEM: bundle + "\n")
    }
}
