import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Testing

/// Failover driven by storage pod readiness (DESIGN.md §6), against the API server double. In the
/// serialized reconcile suite: each test runs a double and a controller.
extension ReconcileTests {
    static let streamStatusPath = "/apis/hadron.dev/v1alpha1/namespaces/default/streams/orders/status"
    static let service0Path = "/api/v1/namespaces/default/services/events-orders-0"

    static func failoverSettings(timeout: Duration) -> OperatorController.Settings {
        OperatorController.Settings(resyncPeriod: .seconds(300), failoverTimeout: timeout)
    }

    static func partition(_ world: OperatorWorld, _ index: Int) async -> HadronStream.PartitionStatus? {
        try? await world.stream("orders").status?.partitions?.first { $0.partition == index }
    }

    static func leaderSelector(_ world: OperatorWorld, _ service: String) async -> String? {
        await world.stored(KubeService.descriptor, service)?[
            path: ["spec", "selector", "statefulset.kubernetes.io/pod-name"]]?.stringValue
    }

    /// The partition `index` of each status the operator applied after its `skip` first writes, in order.
    static func appliedPartitions(_ world: OperatorWorld, after skip: Int, _ index: Int) throws -> [JSONValue] {
        try world.operatorWrites().dropFirst(skip).filter { $0.path == streamStatusPath }.compactMap { request in
            try JSONValue(parsing: request.body)[path: ["status", "partitions"]]?.arrayValue?.first {
                $0["partition"]?.intValue == index
            }
        }
    }

    @Test func aLeaderNotReadyBeyondTheTimeoutIsReplacedInTwoPhases() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world, ingress: false)
            let running = try await world.startController(settings: Self.failoverSettings(timeout: .seconds(1)))
            await running.controller.reconcileAll()
            #expect(await Self.leaderSelector(world, "events-orders-0") == "events-storage-0")
            let settled = world.operatorWrites().count

            // events-storage-0 leads partition 0 ([0, 1]) and follows in partition 2 ([2, 0]).
            let notReadyAt = ContinuousClock.now
            try await world.setReady("events-storage-0", false)
            // The resync is 300 s away: only a pass scheduled for the timeout can do this.
            #expect(
                await eventually(within: .seconds(20)) {
                    await Self.partition(world, 0)?.leader == "events-storage-1"
                })
            #expect(ContinuousClock.now - notReadyAt >= .seconds(1), "no failover before the timeout")
            #expect(
                await eventually(within: .seconds(20)) {
                    await Self.leaderSelector(world, "events-orders-0") == "events-storage-1"
                })
            await running.controller.reconcileAll()

            let status = try #require(try await world.stream("orders").status?.partitions)
            #expect(
                status[0]
                    == HadronStream.PartitionStatus(
                        partition: 0, leader: "events-storage-1", epoch: 2,
                        replicas: ["events-storage-0", "events-storage-1"], isr: ["events-storage-1"],
                        state: "Online", service: "events-orders-0"))
            // Partition 1 never depended on the pod; partition 2 keeps its leader and drops the dead follower.
            #expect(status[1].leader == "events-storage-1" && status[1].epoch == 1)
            #expect(status[1].isr == ["events-storage-1", "events-storage-2"])
            #expect(
                status[2].leader == "events-storage-2" && status[2].epoch == 1 && status[2].isr == ["events-storage-2"])

            // Two status writes for partition 0: Electing with no leader at the old epoch, then the assignment.
            let phases = try Self.appliedPartitions(world, after: settled, 0)
            let electing = try #require(phases.firstIndex { $0["state"]?.stringValue == "Electing" })
            #expect(phases[electing]["leader"] == nil && phases[electing]["epoch"]?.intValue == 1)
            #expect(
                phases.dropFirst(electing + 1).first?["leader"]?.stringValue == "events-storage-1"
                    && phases.dropFirst(electing + 1).first?["epoch"]?.intValue == 2)
            // While Electing, the Service selected nothing.
            let serviceBodies = try world.operatorWrites().dropFirst(settled).filter { $0.path == Self.service0Path }
                .map { try JSONValue(parsing: $0.body) }
            #expect(serviceBodies.map { $0[path: ["spec", "selector"]] == nil } == [true, false])
            await running.stop()
        }
    }

    @Test func aPodNotReadyForLessThanTheTimeoutChangesNothing() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world, ingress: false)
            let running = try await world.startController(settings: Self.failoverSettings(timeout: .seconds(120)))
            await running.controller.reconcileAll()
            let settled = world.operatorWrites().count

            let passes = running.controller.passes
            try await world.setReady("events-storage-0", false)
            // The pod's change brings a pass of the stream; it and a full resync write nothing.
            #expect(await eventually(within: .seconds(20)) { running.controller.passes > passes })
            await running.controller.reconcileAll()
            try await world.setReady("events-storage-0", true)
            await running.controller.reconcileAll()
            #expect(world.operatorWrites().count == settled, "\(world.operatorWrites().dropFirst(settled).map(\.path))")
            let partition = await Self.partition(world, 0)
            #expect(partition?.leader == "events-storage-0" && partition?.epoch == 1 && partition?.state == "Online")
            await running.stop()
        }
    }

    /// Partition 0 on [storage-0, storage-1] with only storage-0 in sync, storage-1 Ready again; then
    /// storage-0 goes not Ready. Returns the running controller.
    static func loseTheOnlyInSyncReplica(_ world: OperatorWorld, unclean: Bool?) async throws -> RunningController {
        _ = try await world.createCluster()
        for ordinal in 0..<3 { try await world.createStoragePod(ordinal: ordinal) }
        _ = try await world.createStream(
            "orders", partitions: 3, replicationFactor: 2, uncleanLeaderElection: unclean)
        let running = try await world.startController(settings: failoverSettings(timeout: .seconds(1)))
        await running.controller.reconcileAll()

        try await world.setReady("events-storage-1", false)
        #expect(await eventually(within: .seconds(20)) { await partition(world, 0)?.isr == ["events-storage-0"] })
        let passes = running.controller.passes
        try await world.setReady("events-storage-1", true)
        #expect(await eventually(within: .seconds(20)) { running.controller.passes > passes })
        await running.controller.reconcileAll()
        try await world.setReady("events-storage-0", false)
        return running
    }

    @Test func withoutAReadyInSyncReplicaThePartitionIsUnavailableUntilOneReturns() async throws {
        try await OperatorWorld.with { world in
            let running = try await Self.loseTheOnlyInSyncReplica(world, unclean: nil)
            #expect(await eventually(within: .seconds(20)) { await Self.partition(world, 0)?.state == "Unavailable" })
            await running.controller.reconcileAll()
            // storage-1 is Ready but out of sync: not elected. The ISR keeps who holds every committed event.
            let unavailable = await Self.partition(world, 0)
            #expect(unavailable?.leader == nil && unavailable?.epoch == 1 && unavailable?.isr == ["events-storage-0"])
            #expect(await world.stored(KubeService.descriptor, "events-orders-0")?[path: ["spec", "selector"]] == nil)

            try await world.setReady("events-storage-0", true)
            #expect(
                await eventually(within: .seconds(20)) {
                    let partition = await Self.partition(world, 0)
                    return partition?.state == "Online" && partition?.leader == "events-storage-0"
                })
            #expect(await Self.partition(world, 0)?.epoch == 2)
            #expect(
                await eventually(within: .seconds(20)) {
                    await Self.leaderSelector(world, "events-orders-0") == "events-storage-0"
                })
            await running.stop()
        }
    }

    @Test func aStreamThatOptsInElectsAReadyOutOfSyncReplica() async throws {
        try await OperatorWorld.with { world in
            let running = try await Self.loseTheOnlyInSyncReplica(world, unclean: true)
            #expect(
                await eventually(within: .seconds(20)) {
                    await Self.partition(world, 0)?.leader == "events-storage-1"
                })
            let partition = await Self.partition(world, 0)
            #expect(partition?.state == "Online" && partition?.epoch == 2 && partition?.isr == ["events-storage-1"])
            #expect(
                await eventually(within: .seconds(20)) {
                    await Self.leaderSelector(world, "events-orders-0") == "events-storage-1"
                })
            await running.stop()
        }
    }
}
