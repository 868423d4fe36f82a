import HadronCore
import Synchronization

/// The partition replicas this node holds, found by every request without an actor hop, and the topology they
/// were last assigned from (to tell a caller who leads a partition this node does not host).
final class HostedReplicas: Sendable {
    struct Key: Hashable, Sendable {
        let stream: String
        let partition: Int
    }

    private struct State {
        var replicas: [Key: PartitionReplica] = [:]
        var topology: Topology?
        var draining = false
    }

    private let state = Mutex(State())

    func replica(stream: String, partition: Int) -> PartitionReplica? {
        state.withLock { $0.replicas[Key(stream: stream, partition: partition)] }
    }

    /// Every hosted replica, in stream and partition order.
    var all: [PartitionReplica] {
        state.withLock { state in
            state.replicas.sorted { ($0.key.stream, $0.key.partition) < ($1.key.stream, $1.key.partition) }.map(\.value)
        }
    }

    func insert(_ replica: PartitionReplica) {
        let draining = state.withLock { state in
            state.replicas[Key(stream: replica.stream, partition: replica.partition)] = replica
            return state.draining
        }
        if draining { replica.drainLongPolls() }
    }

    var topology: Topology? {
        get { state.withLock { $0.topology } }
        set { state.withLock { $0.topology = newValue } }
    }

    /// The epoch and leader the last topology gives a partition, for the 421 of a partition not hosted here.
    func leadership(stream: String, partition: Int) -> (epoch: Int32, leader: String?)? {
        state.withLock { state in
            state.topology?.stream(named: stream)?.partition(partition).map { ($0.epoch, $0.leader) }
        }
    }

    /// Whether the node is shutting down (``drain()``).
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Ends every long poll now and makes later ones return at once: the node is shutting down.
    func drain() {
        let replicas = state.withLock { state in
            state.draining = true
            return Array(state.replicas.values)
        }
        for replica in replicas { replica.drainLongPolls() }
    }
}
