import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Prometheus
import ServiceLifecycle
import Testing

/// One operator replica: the whole runtime (elector, reconcilers as leader work, HTTP listener)
/// with its own token, so the double tells the replicas' requests apart.
struct OperatorReplica {
    let identity: String
    let token: String
    let runtime: OperatorRuntime
    let elector: LeaseElector
    let task: Task<Void, any Error>

    // Longer than the election tests' timings: a replica here also runs a dozen informers and the
    // reconcilers, and a renewal that misses its deadline on a loaded machine ends a term.
    static let leaseDuration = Duration.seconds(3)
    static let renewDeadline = Duration.milliseconds(2500)
    static let retryPeriod = Duration.milliseconds(400)

    static func start(_ identity: String, world: OperatorWorld) throws -> OperatorReplica {
        let token = "token-\(identity)"
        let logger = operatorTestLogger(identity)
        let runtime = OperatorRuntime(
            settings: OperatorSettings(
                host: "127.0.0.1", port: 0,
                election: LeaderElectionConfiguration(
                    leaseName: "hadron-operator", namespace: "default", identity: identity,
                    leaseDuration: leaseDuration, renewDeadline: renewDeadline, retryPeriod: retryPeriod),
                controller: OperatorController.Settings(namespace: "default", resyncPeriod: .seconds(300))),
            client: world.operatorClient(token: token), registry: PrometheusCollectorRegistry(), logger: logger)
        let (group, elector) = try runtime.makeServiceGroup(signals: []) { _, _ in }
        return OperatorReplica(
            identity: identity, token: token, runtime: runtime, elector: elector, task: Task { try await group.run() })
    }

    var controller: OperatorController { runtime.controller }

    /// A crash: no graceful shutdown, the Lease is not released.
    func kill() async {
        task.cancel()
        _ = await task.result
    }
}

@Suite(.serialized) struct OperatorRuntimeTests {
    /// The jittered acquire period reaches retryPeriod × 2.2; allow for a loaded machine.
    static let slack = Duration.seconds(3)

    static func declare(_ world: OperatorWorld) async throws {
        _ = try await world.createCluster()
        for ordinal in 0..<3 { try await world.createStoragePod(ordinal: ordinal) }
        _ = try await world.createStream("orders", partitions: 2, replicationFactor: 2)
    }

    static func reconciled(_ world: OperatorWorld) async -> Bool {
        (try? await world.stream("orders").status?.partitions?.count) == 2
    }

    @Test func twoReplicasContendAndExactlyOneReconciles() async throws {
        try await OperatorWorld.with { world in
            try await Self.declare(world)
            let replicas = try ["op-a", "op-b"].map { try OperatorReplica.start($0, world: world) }
            #expect(await eventually(within: .seconds(20)) { await Self.reconciled(world) })
            let leaders = replicas.filter { $0.elector.isLeader }
            let leader = try #require(leaders.first)
            #expect(leaders.count == 1)
            let follower = try #require(replicas.first { $0.identity != leader.identity })

            await leader.controller.reconcileAll()
            let foreign = world.double.requests.filter {
                $0.isWrite && !$0.path.contains("/leases") && $0.authentication != .bearerToken(leader.token)
                    && $0.authentication != .bearerToken(world.double.token)
            }
            #expect(foreign.isEmpty, "only the admin and the leader write: \(foreign.map(\.path))")
            #expect(!world.operatorWrites(token: leader.token).isEmpty)
            #expect(world.operatorWrites(token: follower.token).isEmpty)
            #expect(follower.controller.passes == 0 && !follower.controller.isReconciling)
            #expect(leader.controller.isReconciling)
            for replica in replicas { await replica.kill() }
        }
    }

    @Test func killingTheLeaderHandsReconciliationOver() async throws {
        try await OperatorWorld.with { world in
            try await Self.declare(world)
            let replicas = try ["op-a", "op-b"].map { try OperatorReplica.start($0, world: world) }
            #expect(await eventually(within: .seconds(20)) { await Self.reconciled(world) })
            let leader = try #require(replicas.first { $0.elector.isLeader })
            let successor = try #require(replicas.first { $0.identity != leader.identity })

            let killed = ContinuousClock.now
            await leader.kill()
            let bound = OperatorReplica.leaseDuration + OperatorReplica.retryPeriod * 2.2 + Self.slack
            #expect(await eventually(within: bound) { successor.controller.isReconciling })
            let handover = ContinuousClock.now - killed
            #expect(handover <= bound, "handed over after \(handover)")
            #expect(handover >= OperatorReplica.leaseDuration / 2, "a crashed leader's Lease must be waited out")

            // The successor reconciles: a spec change reaches the StatefulSet through it.
            _ = try await world.admin.mergePatch(
                HadronCluster.self, name: "events", namespace: "default", patch: ["spec": ["storage": ["replicas": 4]]])
            #expect(
                await eventually {
                    await world.stored(StatefulSet.descriptor, "events-storage")?[path: ["spec", "replicas"]]?.intValue
                        == 4
                })
            #expect(
                world.operatorWrites(token: successor.token).contains {
                    $0.path.hasSuffix("/statefulsets/events-storage")
                })
            await successor.kill()
        }
    }
}
