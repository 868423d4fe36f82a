/// What libcurl needs to trust the API server and to present a client identity.
///
/// Everything is held as PEM bytes in memory (`CURLOPT_*_BLOB`): kubeconfig `*-data` fields never
/// touch the disk, and file-based credentials are read when the configuration is loaded.
public struct TLSSettings: Sendable, Equatable {
    /// CA bundle for the server certificate; `nil` uses the system trust store.
    public var certificateAuthorityPEM: [UInt8]?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// `insecure-skip-tls-verify`: accept any server certificate (never in production).
    public var insecureSkipVerify: Bool

    public init(
        certificateAuthorityPEM: [UInt8]? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil,
        insecureSkipVerify: Bool = false
    ) {
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
    }
}
