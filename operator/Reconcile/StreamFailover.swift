public import HadronCore
import Placement

/// Which of a Stream's partitions fail over, decided from their recorded status and the readiness of
/// their replicas' storage pods (DESIGN.md §6) — pure, with the same ``LeaderElection`` rules as the
/// local controller, so both control planes fail over identically.
///
/// A pod *fails* when it has been not Ready (or gone, or terminating) for `timeout` or longer; a
/// failed leader loses its partition and a failed follower leaves the ISR. A new leader must be Ready
/// now: the partition Service reaches a pod only through its endpoints, which list ready pods only.
/// The two phases are separate results, so the reconciler publishes each as its own status write.
public struct StreamFailover: Sendable, Equatable {
    /// What the operator has observed of one storage pod.
    public enum PodHealth: Sendable, Equatable {
        case ready
        /// Not Ready, gone or terminating since at least `since` (as this process observed it).
        case notReady(since: ContinuousClock.Instant)
    }

    /// Phase one: every partition whose leader failed is `Electing` with no leader; the rest as recorded.
    public var electing: [PartitionInfo]
    /// Phase two: the elections' outcome (a new leader at a new epoch, or `Unavailable`), `Unavailable`
    /// partitions whose in-sync replica is Ready again re-elected, and failed followers out of ISRs.
    public var assigned: [PartitionInfo]
    /// The earliest instant a pod this stream depends on would fail if it stays not Ready: the pass
    /// to run then, since no watch event marks a timeout expiring. Nil when nothing is pending.
    public var nextDeadline: ContinuousClock.Instant?

    /// Whether phase one changes anything (some leader failed).
    public var beginsElection: Bool { electing != recorded }

    private let recorded: [PartitionInfo]

    /// - Parameters:
    ///   - partitions: the partitions as recorded in status (after placement).
    ///   - health: every replica's pod; a replica missing here counts as not Ready since `now`.
    ///   - allowsUncleanElection: the Stream's `spec.uncleanLeaderElection`.
    public init(
        partitions: [PartitionInfo], health: [String: PodHealth], now: ContinuousClock.Instant, timeout: Duration,
        allowsUncleanElection: Bool
    ) {
        recorded = partitions
        var ready: Set<String> = []
        var surviving: Set<String> = []
        var expiries: [String: ContinuousClock.Instant] = [:]
        let replicas = Set(partitions.flatMap(\.replicas))
        for pod in replicas {
            switch health[pod] ?? .notReady(since: now) {
            case .ready:
                ready.insert(pod)
                surviving.insert(pod)
            case .notReady(let since):
                let expiry = since + timeout
                guard now < expiry else { continue }
                surviving.insert(pod)
                expiries[pod] = expiry
            }
        }

        electing = partitions.map {
            LeaderElection.leaderFailed($0, alive: surviving) ? LeaderElection.begin($0) : $0
        }
        assigned = electing.map { partition in
            var next = partition
            if LeaderElection.canElect(partition, alive: ready, allowsUncleanElection: allowsUncleanElection) {
                next = LeaderElection.complete(partition, alive: ready, allowsUncleanElection: allowsUncleanElection)
            }
            return LeaderElection.removingDeadFollowers(next, alive: surviving)
        }
        // Only a pod whose failure would change something needs a pass when it expires: a leader or
        // in-sync follower of an Online partition.
        let assigned = assigned
        nextDeadline = expiries.filter { pod, _ in
            assigned.contains { $0.state == .online && $0.isr.contains(pod) }
        }.values.min()
    }
}
