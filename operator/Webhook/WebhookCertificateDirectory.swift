import Foundation

/// A certificate mounted from a Secret (cert-manager's `Certificate` writes `tls.crt`, `tls.key` and `ca.crt`).
/// The kubelet swaps the files atomically when the Secret changes, so re-reading them is enough to follow a
/// rotation.
public struct WebhookCertificateDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func read() throws -> ServingCertificate {
        func file(_ name: String) throws -> String {
            let url = URL(fileURLWithPath: path).appendingPathComponent(name)
            do {
                return try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw WebhookCertificateError("cannot read \(url.path): \(error.localizedDescription)")
            }
        }
        let caBundle = try? file("ca.crt")
        return ServingCertificate(
            certificateChainPEM: try file("tls.crt"), privateKeyPEM: try file("tls.key"),
            caBundlePEM: caBundle.flatMap { $0.isEmpty ? nil : $0 })
    }
}
