import KubeAPI
import Synchronization

/// Since when this process has seen each storage pod not Ready, for one term of leadership: the
/// "since" of ``StreamFailover/PodHealth``.
///
/// Taken from the local monotonic clock at the first observation, not from the pod's Ready
/// condition `lastTransitionTime`: that timestamp is written by another machine's wall clock (the
/// kubelet's) at one-second resolution, so comparing it to this clock would fail over early or late
/// by the skew — KUBE-API-FACTS.md gives the same rule for Lease timestamps. A pod that is gone has no
/// condition at all, and a terminating one may still report Ready. The cost is that a new term (a new
/// operator leader, or a restart) waits a full timeout again before failing a pod it finds not Ready:
/// failover is late by at most one timeout, never early.
final class PodReadinessHistory: Sendable {
    private struct Key: Hashable {
        let namespace: String
        let pod: String
    }

    private let notReadySince = Mutex<[Key: ContinuousClock.Instant]>([:])

    /// `pod`'s health now, from its informer copy (nil: gone). Not Ready, gone or terminating starts
    /// (or continues) the not-ready interval; Ready ends it.
    func observe(namespace: String, pod name: String, _ pod: Pod?, now: ContinuousClock.Instant)
        -> StreamFailover.PodHealth
    {
        let key = Key(namespace: namespace, pod: name)
        let ready = pod.map { $0.metadata.deletionTimestamp == nil && $0.status?.isReady == true } ?? false
        return notReadySince.withLock { history in
            guard !ready else {
                history[key] = nil
                return .ready
            }
            if let since = history[key] { return .notReady(since: since) }
            history[key] = now
            return .notReady(since: now)
        }
    }
}
