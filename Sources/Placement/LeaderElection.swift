public import HadronCore

/// Who leads a partition after its leader fails, and which replicas stay in sync (DESIGN.md §6): pure decisions on a
/// ``PartitionInfo``, so the local controller and the Kubernetes operator fail over identically and every rule is
/// tested without either.
///
/// An election has two phases, each published as its own topology version: ``begin(_:)`` marks the partition
/// `Electing`, ``complete(_:alive:reportedEpoch:logEndOffsets:allowsUncleanElection:)`` assigns the new leader at a
/// new epoch. Between them nobody leads, so no replica takes writes while leadership moves.
public enum LeaderElection {
    /// The first assignment of a newly placed partition: the first replica leads at an epoch above `reportedEpoch`.
    ///
    /// When no replica reported a log, the partition is new and every replica is trivially in sync. When some did,
    /// the controller is placing again what it forgot (it restarted); it cannot know who was in sync, so the replica
    /// most likely to hold every committed event leads — the newest leader epoch in its log, then the longest log,
    /// then replica order (a deposed leader's longer log may end in events that were never committed at its old
    /// epoch). The ISR is the replicas that reported the same newest epoch and end offset: a follower's log is a
    /// prefix of its epoch's leader's log, so those logs are identical. The others rejoin as they catch up, which the
    /// leader reports; putting them in at once could later elect a replica that lacks committed events.
    public static func firstAssignment(
        partition: Int, replicas: [String], reports: [String: ReplicaReport] = [:], reportedEpoch: Int32 = 0
    ) -> PartitionInfo {
        let epoch = reportedEpoch + 1
        let reporting = replicas.filter { reports[$0] != nil }
        guard !reporting.isEmpty else {
            return PartitionInfo(
                partition: partition, leader: replicas.first, epoch: epoch, replicas: replicas, isr: replicas,
                state: .online)
        }
        func progress(_ node: String) -> (Int32, Int64) {
            (reports[node]?.leaderEpoch ?? 0, reports[node]?.logEndOffset ?? 0)
        }
        var leader = reporting[0]
        for node in reporting.dropFirst() where progress(node) > progress(leader) { leader = node }
        return PartitionInfo(
            partition: partition, leader: leader, epoch: epoch, replicas: replicas,
            isr: reporting.filter { progress($0) == progress(leader) }, state: .online)
    }

    /// Whether `partition` has lost its leader: it is `Online` and the leader is not among the `alive` nodes.
    public static func leaderFailed(_ partition: PartitionInfo, alive: Set<String>) -> Bool {
        guard partition.state == .online, let leader = partition.leader else { return false }
        return !alive.contains(leader)
    }

    /// Whether an election could change `partition` now: it is `Electing`, or `Unavailable` after placement (it has
    /// replicas) and a replica that may lead is alive again — an in-sync one, or any one when unclean election is
    /// allowed.
    public static func canElect(_ partition: PartitionInfo, alive: Set<String>, allowsUncleanElection: Bool) -> Bool {
        switch partition.state {
        case .online: return false
        case .electing: return true
        case .unavailable:
            guard !partition.replicas.isEmpty else { return false }
            return partition.isr.contains(where: alive.contains)
                || (allowsUncleanElection && partition.replicas.contains(where: alive.contains))
        }
    }

    /// Phase one: the partition is `Electing` and has no leader.
    ///
    /// The leader is cleared rather than kept: storage already refuses writes from a replica of an `Electing`
    /// partition, and without a leader every other reader of the topology — a gateway routing appends, its `/readyz`,
    /// the operator's per-partition Service — stops pointing at a node that is gone instead of learning each rule
    /// about `Electing` separately. The epoch, the replicas and the ISR stay: the ISR is what phase two elects from,
    /// and the epoch moves only with the new leader.
    public static func begin(_ partition: PartitionInfo) -> PartitionInfo {
        var next = partition
        next.state = .electing
        next.leader = nil
        return next
    }

    /// Phase two: the first replica in `replicas` order that is in the ISR and alive leads at a new epoch, and the ISR
    /// keeps only its live members.
    ///
    /// The new epoch is above both the partition's and `reportedEpoch`, the newest epoch any replica reported, so no
    /// log holds the new epoch already (a controller that restarted may know less than the logs do).
    ///
    /// With no live ISR member the partition is `Unavailable` with no leader, epoch unchanged, and the ISR stays the
    /// last in-sync set: only those replicas hold every committed event, so when one of them returns it can be
    /// elected. Electing another replica would lose committed events — unless the stream opts in with
    /// `allowsUncleanElection`: then the live replica with the highest reported log end offset leads (ties go to
    /// replica order; a replica that reported nothing ranks below every one that did), alone in its ISR, since no one is known to
    /// hold what it holds.
    public static func complete(
        _ partition: PartitionInfo, alive: Set<String>, reportedEpoch: Int32 = 0, logEndOffsets: [String: Int64] = [:],
        allowsUncleanElection: Bool = false
    ) -> PartitionInfo {
        var next = partition
        let epoch = max(partition.epoch, reportedEpoch) + 1
        if let leader = partition.replicas.first(where: { partition.isr.contains($0) && alive.contains($0) }) {
            next.leader = leader
            next.isr = partition.replicas.filter { partition.isr.contains($0) && alive.contains($0) }
        } else if allowsUncleanElection,
            let leader = mostAdvanced(partition.replicas.filter(alive.contains), logEndOffsets)
        {
            next.leader = leader
            next.isr = [leader]
        } else {
            next.leader = nil
            next.state = .unavailable
            return next
        }
        next.epoch = epoch
        next.state = .online
        return next
    }

    /// The ISR without replicas that are not `alive` — except the leader: the controller records a dead follower's
    /// removal itself, as Kafka's controller does for a fenced broker, because a dead node cannot be elected and the
    /// leader should not wait for it. The leader's own failure is an election, never a shrink, so the ISR never drops
    /// the current leader and never becomes empty. Only an `Online` partition with a leader changes.
    public static func removingDeadFollowers(_ partition: PartitionInfo, alive: Set<String>) -> PartitionInfo {
        guard partition.state == .online, let leader = partition.leader, partition.isr.contains(leader) else {
            return partition
        }
        var next = partition
        next.isr = partition.isr.filter { $0 == leader || alive.contains($0) }
        return next
    }

    /// The first of `candidates` with the highest log end offset.
    private static func mostAdvanced(_ candidates: [String], _ logEndOffsets: [String: Int64]) -> String? {
        var best: (node: String, offset: Int64)?
        for node in candidates {
            let offset = logEndOffsets[node] ?? -1
            if best == nil || offset > best!.offset { best = (node, offset) }
        }
        return best?.node
    }
}
