import Foundation
public import Logging
public import ServiceLifecycle

/// Keeps the webhook's serving certificate current and, on the Lease holder, its CA in the webhook
/// configuration: reads the source, installs what changed into the slot the server's handshakes use, and
/// repeats every `interval` (a mounted Secret rotates at the kubelet's pace; an issued one is renewed 30 days
/// before it expires).
public struct WebhookCertificateMaintainer: Service {
    public enum Source: Sendable {
        /// Files mounted from a cert-manager Secret; its cainjector keeps the `caBundle` in step.
        case directory(WebhookCertificateDirectory)
        /// Issued by the operator and shared through a Secret; the leader patches the `caBundle`.
        case secret(WebhookCertificateSecret, injector: WebhookCABundleInjector)
    }

    private let source: Source
    private let slot: ServingCertificateSlot
    private let leadership: any LeadershipCheck
    private let interval: Duration
    private let logger: Logger

    public init(
        source: Source, slot: ServingCertificateSlot, leadership: any LeadershipCheck, interval: Duration,
        logger: Logger
    ) {
        self.source = source
        self.slot = slot
        self.leadership = leadership
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    await refresh()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the server stops on its own; nothing to release.
        }
    }

    /// One round. A follower only reads its source; the leader also reads the configuration and writes only
    /// when a webhook lacks the bundle.
    func refresh() async {
        let certificate: ServingCertificate
        do {
            switch source {
            case .directory(let directory): certificate = try directory.read()
            case .secret(let secret, _): certificate = try await secret.ensure()
            }
            if try slot.install(certificate) {
                logger.info("Serving a new webhook certificate")
            }
        } catch {
            logger.error("No usable webhook certificate", metadata: ["error": "\(error)"])
            return
        }
        guard case .secret(_, let injector) = source, let bundle = certificate.caBundlePEM,
            await leadership.confirmLeadership()
        else { return }
        do {
            let outcome = try await injector.inject(caBundlePEM: bundle)
            switch outcome {
            case .patched(let count):
                logger.info(
                    "Wrote the webhook CA into the webhook configuration",
                    metadata: ["configuration": "\(injector.configurationName)", "webhooks": "\(count)"])
            case .missing:
                logger.debug(
                    "No webhook configuration to write the CA into",
                    metadata: ["configuration": "\(injector.configurationName)"])
            case .unchanged:
                break
            }
        } catch {
            logger.warning(
                "Could not write the webhook CA into the webhook configuration",
                metadata: ["configuration": "\(injector.configurationName)", "error": "\(error)"])
            return
        }
    }
}
