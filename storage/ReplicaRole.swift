/// What a replica is for its partition at the newest epoch it has seen (DESIGN.md §6).
///
/// The epoch only grows: a replica obeys the highest epoch it has seen and fences callers that carry an older one.
/// The leader's node id travels with every role so a refusal can tell the caller where to go instead.
struct ReplicaRole: Sendable, Hashable, CustomStringConvertible {
    enum Kind: String, Sendable, Hashable {
        /// Assigns offsets, appends, advances the high watermark, serves reads and consumer groups.
        case leader
        /// Holds a copy and refuses client traffic; replication makes it fetch from the leader.
        case follower
        /// The data is on this node's disk but the topology does not (or not yet) place a replica here.
        case unassigned
    }

    var kind: Kind
    var epoch: Int32
    /// The node leading the partition at ``epoch``, when there is one.
    var leader: String?

    init(kind: Kind, epoch: Int32, leader: String?) {
        self.kind = kind
        self.epoch = epoch
        self.leader = leader
    }

    /// The role of a replica recovered from disk before any topology arrived: it serves nothing until told.
    static func recovered(epoch: Int32) -> ReplicaRole {
        ReplicaRole(kind: .unassigned, epoch: epoch, leader: nil)
    }

    var isLeader: Bool { kind == .leader }

    /// Admits a leader-only request that carries `callerEpoch` (nil when the caller sent none), or says why not:
    /// not the leader, or the caller knows a newer epoch than this replica (its topology is behind) → 421;
    /// leader at a newer epoch than the caller's → 409, the caller is fenced.
    func admitLeaderRequest(callerEpoch: Int32?) throws(ReplicaError) {
        guard kind == .leader else {
            throw .notLeader(epoch: epoch, leader: leader, "this replica is a \(kind.rawValue) at epoch \(epoch)")
        }
        guard let callerEpoch else { return }
        if callerEpoch < epoch {
            throw .fenced(epoch: epoch, "epoch \(callerEpoch) is older than the partition's epoch \(epoch)")
        }
        if callerEpoch > epoch {
            throw .notLeader(
                epoch: epoch, leader: leader, "epoch \(callerEpoch) is newer than this replica's epoch \(epoch)")
        }
    }

    var description: String { "\(kind.rawValue)@\(epoch)" }
}
