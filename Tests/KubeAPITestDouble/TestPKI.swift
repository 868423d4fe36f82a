import Crypto
public import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority with a server certificate for 127.0.0.1/localhost and a client
/// certificate, generated at test time and written to a temporary directory (never committed).
public struct TestPKI: Sendable {
    public let directory: URL
    public let certificateAuthorityPEM: String
    public let serverCertificatePEM: String
    public let serverKeyPEM: String
    public let clientCertificatePEM: String
    public let clientKeyPEM: String
    /// The client certificate's common name: the user the double reports for it.
    public let clientCommonName: String

    public var certificateAuthorityPath: String { directory.appendingPathComponent("ca.crt").path }
    public var clientCertificatePath: String { directory.appendingPathComponent("client.crt").path }
    public var clientKeyPath: String { directory.appendingPathComponent("client.key").path }

    public static func generate(clientCommonName: String = "hadron-operator") throws -> TestPKI {
        let now = Date()
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(86_400)

        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Hadron test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))

        func leaf(_ name: String, usage: ExtendedKeyUsage.Usage, names: [GeneralName]) throws -> (
            Certificate, P256.Signing.PrivateKey
        ) {
            let key = P256.Signing.PrivateKey()
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
                notValidAfter: notAfter, issuer: caName, subject: try DistinguishedName { CommonName(name) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([usage])
                    AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
                    if !names.isEmpty { SubjectAlternativeNames(names) }
                },
                issuerPrivateKey: .init(caKey))
            return (certificate, key)
        }

        let (server, serverKey) = try leaf(
            "kube-apiserver", usage: .serverAuth,
            names: [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
        let (client, clientKey) = try leaf(clientCommonName, usage: .clientAuth, names: [])

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hadron-kube-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pki = TestPKI(
            directory: directory,
            certificateAuthorityPEM: try ca.serializeAsPEM().pemString,
            serverCertificatePEM: try server.serializeAsPEM().pemString,
            serverKeyPEM: serverKey.pemRepresentation,
            clientCertificatePEM: try client.serializeAsPEM().pemString,
            clientKeyPEM: clientKey.pemRepresentation,
            clientCommonName: clientCommonName)
        try pki.certificateAuthorityPEM.write(toFile: pki.certificateAuthorityPath, atomically: false, encoding: .utf8)
        try pki.clientCertificatePEM.write(toFile: pki.clientCertificatePath, atomically: false, encoding: .utf8)
        try pki.clientKeyPEM.write(toFile: pki.clientKeyPath, atomically: false, encoding: .utf8)
        return pki
    }

    /// Deletes the temporary directory.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
