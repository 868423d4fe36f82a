import HadronControl
import HadronCore
import Testing

/// Failover (DESIGN.md §6) with a short liveness timeout: live nodes keep heartbeating, the silent one fails.
@Suite(.timeLimit(.minutes(2))) struct LocalControllerFailoverTests {
    let orders = StreamResource(name: "orders", partitions: 3, replicationFactor: 3)
    /// Long enough that a live node's heartbeat every 50 ms is never late on a loaded machine, short enough to fail
    /// over within a test.
    let livenessTimeout = Duration.milliseconds(1000)

    func register(_ controller: LocalController, _ nodes: [String]) async {
        for (index, node) in nodes.enumerated() {
            _ = await controller.heartbeat(
                nodeID: node, NodeHeartbeat(address: "127.0.0.1:\(9101 + index)", partitions: []))
        }
    }

    /// Heartbeats for `nodes` every 50 ms until cancelled: those nodes stay alive, and their heartbeats are what makes
    /// the controller notice the silent one. The sleep paces the heartbeats; nothing waits on it.
    func keepAlive(
        _ controller: LocalController, _ nodes: [String], reports: [String: [ReplicaReport]] = [:]
    ) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                for node in nodes {
                    let port = 9101 + Int(node.split(separator: "-").last.flatMap { Int($0) } ?? 0)
                    _ = await controller.heartbeat(
                        nodeID: node, NodeHeartbeat(address: "127.0.0.1:\(port)", partitions: reports[node] ?? []))
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// The first topology from `updates` that satisfies `condition`, and every topology seen before it.
    func firstTopology(
        in updates: AsyncStream<Topology>, where condition: (Topology) -> Bool
    ) async -> (match: Topology?, seen: [Topology]) {
        var seen: [Topology] = []
        for await topology in updates {
            if condition(topology) { return (topology, seen) }
            seen.append(topology)
        }
        return (nil, seen)
    }

    @Test func aSilentLeaderIsReplacedAfterAnElectingVersion() async throws {
        let controller = LocalController(streams: [orders], livenessTimeout: livenessTimeout)
        await register(controller, ["storage-0", "storage-1", "storage-2"])
        let before = await controller.current().stream(named: "orders")!.partition(0)!
        #expect(before.leader == "storage-0" && before.state == .online)
        let updates = await controller.watch()

        let alive = keepAlive(controller, ["storage-1", "storage-2"])
        defer { alive.cancel() }
        let (elected, seen) = await firstTopology(in: updates) {
            $0.stream(named: "orders")!.partition(0)!.state == .online
                && $0.stream(named: "orders")!.partition(0)!.leader != "storage-0"
        }
        let partition = try #require(elected?.stream(named: "orders")?.partition(0))
        #expect(partition.leader == "storage-1")
        #expect(partition.epoch == before.epoch + 1)
        #expect(partition.isr == ["storage-1", "storage-2"])
        let electing = seen.last { $0.stream(named: "orders")!.partition(0)!.state == .electing }
        #expect(electing?.stream(named: "orders")!.partition(0)!.leader == nil)
        #expect(electing?.stream(named: "orders")!.partition(0)!.epoch == before.epoch)
        #expect(electing.map { $0.version < elected!.version } == true, "no Electing version before the new leader")
        #expect(elected?.node(id: "storage-0")?.ready == false)
        // storage-0 followed the other partitions; the controller removed it from their ISRs itself.
        let others = elected!.stream(named: "orders")!.partitions.filter { $0.partition != 0 }
        for other in others {
            #expect(!other.isr.contains("storage-0"))
            #expect(other.leader != nil && other.isr.contains(other.leader!))
        }
    }

    @Test func withoutALiveInSyncReplicaThePartitionWaitsForOneToReturn() async throws {
        let single = StreamResource(name: "single", partitions: 1, replicationFactor: 1)
        let controller = LocalController(streams: [single], livenessTimeout: livenessTimeout)
        await register(controller, ["storage-0", "storage-1"])
        let before = await controller.current().stream(named: "single")!.partition(0)!
        #expect(before.leader == "storage-0")
        let updates = await controller.watch()

        let alive = keepAlive(controller, ["storage-1"])
        let (unavailable, _) = await firstTopology(in: updates) {
            $0.stream(named: "single")!.partition(0)!.state == .unavailable
        }
        alive.cancel()
        let lost = try #require(unavailable?.stream(named: "single")?.partition(0))
        #expect(lost.leader == nil)
        // storage-1 is alive but holds no replica; the ISR stays the last in-sync set.
        #expect(lost.isr == ["storage-0"])
        #expect(lost.epoch == before.epoch)

        let returned = await controller.heartbeat(
            nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        let elected = try #require(returned.stream(named: "single")?.partition(0))
        #expect(elected.state == .online && elected.leader == "storage-0")
        #expect(elected.epoch == before.epoch + 1)
    }

    /// Two replicas, the leader alone in sync (its follower lagged), then the leader fails: only the opt-in elects the
    /// follower, with the epoch above everything reported.
    @Test(arguments: [false, true])
    func uncleanElectionOnlyWhenTheStreamOptsIn(unclean: Bool) async throws {
        let pair = StreamResource(name: "pair", partitions: 1, replicationFactor: 2, uncleanLeaderElection: unclean)
        let controller = LocalController(streams: [pair], livenessTimeout: livenessTimeout)
        await register(controller, ["storage-0", "storage-1"])
        let placed = await controller.current().stream(named: "pair")!.partition(0)!
        #expect(placed.leader == "storage-0")
        _ = try await controller.changeISR(
            ISRChange(stream: "pair", partition: 0, leader: "storage-0", epoch: placed.epoch, isr: ["storage-0"]))
        let updates = await controller.watch()

        let report = ReplicaReport(
            stream: "pair", partition: 0, logStartOffset: 0, logEndOffset: 5, highWatermark: 5,
            leaderEpoch: placed.epoch)
        let alive = keepAlive(controller, ["storage-1"], reports: ["storage-1": [report]])
        defer { alive.cancel() }
        let (outcome, _) = await firstTopology(in: updates) {
            $0.stream(named: "pair")!.partition(0)!.state != .online
                || $0.stream(named: "pair")!.partition(0)!.leader != "storage-0"
        }
        // Skip the Electing version to the election's outcome.
        var partition = try #require(outcome?.stream(named: "pair")?.partition(0))
        if partition.state == .electing {
            let (next, _) = await firstTopology(in: updates) {
                $0.stream(named: "pair")!.partition(0)!.state != .electing
            }
            partition = try #require(next?.stream(named: "pair")?.partition(0))
        }
        if unclean {
            #expect(partition.state == .online && partition.leader == "storage-1")
            #expect(partition.isr == ["storage-1"])
            #expect(partition.epoch == placed.epoch + 1)
        } else {
            #expect(partition.state == .unavailable && partition.leader == nil)
            #expect(partition.isr == ["storage-0"])
        }
    }

    @Test func aSilentNodeCannotRejoinAnISR() async throws {
        let controller = LocalController(streams: [orders], livenessTimeout: livenessTimeout)
        await register(controller, ["storage-0", "storage-1", "storage-2"])
        let alive = keepAlive(controller, ["storage-1", "storage-2"])
        defer { alive.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        var partition = await controller.current().stream(named: "orders")!.partition(1)!
        while partition.isr.contains("storage-0") && ContinuousClock.now < deadline {
            await Task.yield()
            partition = await controller.current().stream(named: "orders")!.partition(1)!
        }
        #expect(partition.leader == "storage-1" && partition.isr == ["storage-1", "storage-2"])
        do {
            _ = try await controller.changeISR(
                ISRChange(
                    stream: "orders", partition: 1, leader: "storage-1", epoch: partition.epoch,
                    isr: ["storage-1", "storage-2", "storage-0"]))
            Issue.record("a silent node rejoined the ISR")
        } catch {
            #expect(error.reason == .ineligibleReplica)
        }
    }

    @Test func aPartitionIsPlacedOnlyOnLiveNodes() async throws {
        let pair = StreamResource(name: "pair", partitions: 2, replicationFactor: 2)
        let controller = LocalController(streams: [pair], livenessTimeout: livenessTimeout)
        await register(controller, ["storage-0"])
        // storage-0 falls silent before a second node registers: nothing may be placed on it.
        let deadline = ContinuousClock.now + .seconds(60)
        while await controller.current().node(id: "storage-0")?.ready == true && ContinuousClock.now < deadline {
            await Task.yield()
        }
        await register(controller, ["storage-1"])
        #expect(await controller.current().stream(named: "pair")!.partitions.allSatisfy { $0.state == .unavailable })
        let topology = await controller.heartbeat(
            nodeID: "storage-2", NodeHeartbeat(address: "127.0.0.1:9103", partitions: []))
        #expect(
            topology.stream(named: "pair")!.partitions.allSatisfy { Set($0.replicas) == ["storage-1", "storage-2"] })
    }
}
