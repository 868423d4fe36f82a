import Foundation

/// How a `WatchStream` reconnects: exponential backoff with jitter after failures, and a random
/// watch timeout per connection so that many watchers do not reconnect in step.
public struct ReconnectPolicy: Sendable {
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var multiplier: Double
    /// A delay `d` becomes a random value in `d ... d × (1 + jitter)` (client-go's `wait.Jitter`).
    public var jitter: Double
    /// `timeoutSeconds` of each watch request, drawn from this range (client-go: 5–10 minutes).
    public var watchTimeoutSeconds: ClosedRange<Int>
    /// Items per list page.
    public var pageSize: Int

    public init(
        initialBackoff: Duration = .milliseconds(800),
        maximumBackoff: Duration = .seconds(30),
        multiplier: Double = 2,
        jitter: Double = 1,
        watchTimeoutSeconds: ClosedRange<Int> = 300...600,
        pageSize: Int = 500
    ) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.pageSize = pageSize
    }

    /// The pause before attempt `failures + 1` after `failures` consecutive failures (≥ 1).
    public func delay(afterFailures failures: Int) -> Duration {
        let exponent = Double(max(0, failures - 1))
        let base = min(
            initialBackoff.seconds * pow(multiplier, exponent),
            maximumBackoff.seconds
        )
        return .seconds(base * (1 + Double.random(in: 0...max(0, jitter))))
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
