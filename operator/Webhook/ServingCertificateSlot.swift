import Foundation
import NIOSSL
import Synchronization

/// The certificate the webhook's TLS handshakes use right now. The maintainer installs a new one when the
/// source rotates; every later handshake picks it up (through the TLS context callback), while established
/// connections finish on the old one.
public final class ServingCertificateSlot: Sendable {
    /// A certificate parsed once for NIOSSL, so a handshake does no PEM parsing.
    struct Loaded: Sendable {
        var source: ServingCertificate
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    private struct State {
        var current: Loaded?
        var waiters: [UUID: CheckedContinuation<Loaded?, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Parses and installs `certificate`; a certificate that does not parse leaves the current one in place.
    /// Returns whether the served certificate changed.
    @discardableResult
    public func install(_ certificate: ServingCertificate) throws -> Bool {
        if state.withLock({ $0.current?.source == certificate }) { return false }
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificateChainPEM.utf8))
        guard !chain.isEmpty else { throw WebhookCertificateError("the certificate holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)
        let loaded = Loaded(source: certificate, chain: chain, key: key)
        let waiters = state.withLock { state in
            state.current = loaded
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: loaded) }
        return true
    }

    /// The certificate being served, if any yet.
    public var current: ServingCertificate? { state.withLock { $0.current?.source } }

    var loaded: Loaded? { state.withLock { $0.current } }

    /// The first installed certificate, waiting for it if needed; nil if the task is cancelled first.
    func first() async -> Loaded? {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Loaded?, Never>) in
                let ready: Loaded?? = state.withLock { state in
                    if let current = state.current { return .some(current) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}
