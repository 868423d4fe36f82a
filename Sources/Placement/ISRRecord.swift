public import HadronCore

/// Whether a controller records a partition leader's ISR report (DESIGN.md §6) — the one rule the local controller
/// and the operator share, so a report is accepted or refused identically by both.
///
/// A report is recorded only from the partition's current leader at its current epoch (a deposed leader cannot rewrite
/// its successor's ISR); the set must name the leader and only distinct replicas; and it may not add a replica the
/// controller itself considers failed (it removed that replica, and a leader that has not seen the removal yet must
/// not put it back, or an election could pick it — Kafka's KIP-841).
public enum ISRRecord {
    /// The partition with `change` recorded, its ISR in replica order so it reads the same wherever it is shown.
    ///
    /// - Parameters:
    ///   - partition: the partition as recorded now; nil when the stream has no such partition.
    ///   - isEligible: whether a replica may join the ISR (its node is heard from, its pod is Ready).
    ///   - ineligibility: why a replica that is not eligible cannot join, for the refusal's message.
    public static func record(
        _ change: ISRChange, in partition: PartitionInfo?, isEligible: (String) -> Bool, ineligibility: String
    ) throws(ISRChangeRefusal) -> PartitionInfo {
        guard var partition else {
            throw ISRChangeRefusal(.unknownPartition, "stream \(change.stream) has no partition \(change.partition)")
        }
        guard partition.state == .online, partition.leader == change.leader, partition.epoch == change.epoch else {
            throw ISRChangeRefusal(
                .notLeader,
                "\(change.leader) at epoch \(change.epoch) does not lead \(change.stream)/\(change.partition): "
                    + "its leader is \(partition.leader ?? "none") at epoch \(partition.epoch) (\(partition.state.rawValue))"
            )
        }
        guard change.isr.contains(change.leader), Set(change.isr).isSubset(of: partition.replicas),
            Set(change.isr).count == change.isr.count
        else {
            throw ISRChangeRefusal(
                .invalid,
                "the in-sync set \(change.isr) must name the leader and only distinct replicas of \(partition.replicas)")
        }
        let joiningIneligible = change.isr.filter { !partition.isr.contains($0) && !isEligible($0) }
        guard joiningIneligible.isEmpty else {
            throw ISRChangeRefusal(
                .ineligibleReplica,
                "\(joiningIneligible.joined(separator: ", ")) cannot join the in-sync set of "
                    + "\(change.stream)/\(change.partition): \(ineligibility)")
        }
        partition.isr = partition.replicas.filter(change.isr.contains)
        return partition
    }
}
