/// Timing and identity of a `LeaseElector`. Defaults are client-go's.
public struct LeaderElectionConfiguration: Sendable {
    public var leaseName: String
    public var namespace: String
    /// This candidate's name in `holderIdentity` (the pod name in a cluster).
    public var identity: String
    /// How long a candidate waits, after it last saw the Lease change, before taking it over.
    public var leaseDuration: Duration
    /// A leader that has not renewed for this long stops all leader work.
    public var renewDeadline: Duration
    /// Pause between attempts; acquisition attempts are jittered by `jitterFactor`.
    public var retryPeriod: Duration
    public var jitterFactor: Double
    /// Write an empty holder with `leaseDurationSeconds: 1` on graceful shutdown, so a waiting
    /// candidate takes over at its next attempt instead of after `leaseDuration`.
    public var releaseOnShutdown: Bool
    /// Prefix of the metrics `<prefix>_is_leader` and `<prefix>_leadership_changes_total`.
    public var metricsPrefix: String

    public init(
        leaseName: String,
        namespace: String,
        identity: String,
        leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10),
        retryPeriod: Duration = .seconds(2),
        jitterFactor: Double = 1.2,
        releaseOnShutdown: Bool = true,
        metricsPrefix: String = "hadron_operator"
    ) {
        self.leaseName = leaseName
        self.namespace = namespace
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.jitterFactor = jitterFactor
        self.releaseOnShutdown = releaseOnShutdown
        self.metricsPrefix = metricsPrefix
    }

    /// The Lease's `leaseDurationSeconds` (whole seconds, rounded up).
    var leaseDurationSeconds: Int { max(1, Int((leaseDuration.seconds).rounded(.up))) }

    /// client-go's rules: leaseDuration > renewDeadline > jitterFactor × retryPeriod, all positive.
    public func validate() throws {
        func fail(_ message: String) -> LeaderElectionError { .invalidConfiguration(message) }
        if leaseName.isEmpty { throw fail("lease name must not be empty") }
        if identity.isEmpty { throw fail("identity must not be empty") }
        if leaseDuration <= .zero || renewDeadline <= .zero || retryPeriod <= .zero {
            throw fail("leaseDuration, renewDeadline and retryPeriod must be positive")
        }
        if jitterFactor < 0 { throw fail("jitterFactor must not be negative") }
        if leaseDuration <= renewDeadline { throw fail("leaseDuration must be greater than renewDeadline") }
        if renewDeadline.seconds <= jitterFactor * retryPeriod.seconds {
            throw fail("renewDeadline must be greater than retryPeriod × jitterFactor")
        }
    }
}

/// A leader election that cannot run.
public struct LeaderElectionError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case invalidConfiguration
    }

    private let code: Code
    public let message: String

    static func invalidConfiguration(_ message: String) -> LeaderElectionError {
        LeaderElectionError(code: .invalidConfiguration, message: message)
    }

    public var description: String { "leader election: \(message)" }
}
