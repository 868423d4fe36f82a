import Foundation
import HadronCore
import HadronHTTP
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Logging
import NIOCore
import Placement
import Prometheus
import Testing

/// Storage leaders' ISR reports to the operator (DESIGN.md §6): recorded in the Stream's status by the leading
/// replica only, from the current leader at the current epoch, never adding a replica whose pod is not Ready; a
/// replica that does not lead forwards the report to the one that does.
@Suite(.serialized) struct ISRReportTests {
    // Partition 0 of `orders` is placed on [events-storage-0, events-storage-1], led by events-storage-0 at epoch 1.
    static let shrink = ISRChange(
        stream: "orders", partition: 0, leader: "events-storage-0", epoch: 1, isr: ["events-storage-0"])

    func refusal(_ body: () async throws -> PartitionInfo) async -> ISRChangeRefusal? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? ISRChangeRefusal
        }
    }

    @Test func theLeadingControllerRecordsReportsAndRefusesStaleOrIneligibleOnes() async throws {
        try await OperatorWorld.with { world in
            _ = try await ReconcileTests.declareWorld(world, ingress: false)
            let running = try await world.startController()
            await running.controller.reconcileAll()
            let controller = running.controller

            let recorded = try await controller.recordISR(namespace: "default", Self.shrink)
            #expect(recorded.isr == ["events-storage-0"] && recorded.epoch == 1 && recorded.leader == "events-storage-0")
            #expect(try await world.stream("orders").status?.partitions?[0].isr == ["events-storage-0"])

            var stale = Self.shrink
            stale.epoch = 0
            #expect(await refusal { try await controller.recordISR(namespace: "default", stale) }?.reason == .notLeader)
            var notLeader = Self.shrink
            notLeader.leader = "events-storage-1"
            notLeader.isr = ["events-storage-1"]
            #expect(await refusal { try await controller.recordISR(namespace: "default", notLeader) }?.reason == .notLeader)
            var unknown = Self.shrink
            unknown.stream = "payments"
            #expect(await refusal { try await controller.recordISR(namespace: "default", unknown) }?.reason == .unknownPartition)

            // events-storage-1 caught up, but its pod is not Ready: it may not rejoin (the operator would remove it).
            try await world.setReady("events-storage-1", false)
            var expand = Self.shrink
            expand.isr = ["events-storage-0", "events-storage-1"]
            // The operator judges readiness from its pod cache, which sees the change a moment later: until then
            // the expand may still be recorded, so shrink again and retry until the refusal comes.
            var refused: ISRChangeRefusal?
            _ = await eventually(within: .seconds(20)) {
                _ = try? await controller.recordISR(namespace: "default", Self.shrink)
                refused = await refusal { try await controller.recordISR(namespace: "default", expand) }
                return refused != nil
            }
            #expect(refused?.reason == .ineligibleReplica)
            #expect(refused?.message.contains("events-storage-1 cannot join") == true)
            try await world.setReady("events-storage-1", true)
            #expect(
                await eventually(within: .seconds(10)) {
                    (try? await controller.recordISR(namespace: "default", expand))?.isr
                        == ["events-storage-0", "events-storage-1"]
                })
            #expect(try await world.stream("orders").status?.partitions?[0].isr == ["events-storage-0", "events-storage-1"])
            await running.stop()
        }
    }

    @Test func aReplicaThatDoesNotLeadForwardsTheReportToTheLeaseHolder() async throws {
        try await OperatorWorld.with { world in
            _ = try await ReconcileTests.declareWorld(world, ingress: false)
            // Two operator pods with their own IPs and one port, as a Deployment runs them.
            let port = try Self.freePort()
            var replicas: [(identity: String, host: String, group: ServiceGroupHandle)] = []
            for (identity, host) in [("op-a", "127.0.0.1"), ("op-b", "127.0.0.2")] {
                try await Self.createOperatorPod(world, name: identity, ip: host)
                replicas.append((identity, host, try Self.startOperator(world, identity: identity, host: host, port: port)))
            }
            let leader = try #require(
                await Self.waitForLeader(world, among: replicas.map(\.identity)), "no operator replica leads")
            let follower = try #require(replicas.first { $0.identity != leader })
            #expect(
                await eventually(within: .seconds(20)) {
                    (try? await world.stream("orders").status?.partitions?.count) == 3
                })

            let client = InternalClient(logger: operatorTestLogger("storage"))
            let path = "/v1/namespaces/default/streams/orders/partitions/0/isr"
            var request = InternalRequest(
                method: .post, path: path, body: ByteBuffer(bytes: try JSONEncoder().encode(Self.shrink)))
            request.headerFields[.contentType] = "application/json"
            // Through the replica that does not lead: forwarded, recorded, answered with the partition.
            var answer: InternalResponse?
            #expect(
                await eventually(within: .seconds(20)) {
                    answer = try? await client.execute(request, to: "\(follower.host):\(port)")
                    return answer?.status == .ok
                }, "last answer: \(answer.map { "\($0.status) \(String(buffer: $0.body))" } ?? "none")")
            let recorded = try JSONDecoder().decode(PartitionInfo.self, from: Data(try #require(answer).body.readableBytesView))
            #expect(recorded.isr == ["events-storage-0"])
            #expect(try await world.stream("orders").status?.partitions?[0].isr == ["events-storage-0"])

            // A report already forwarded once is not forwarded again.
            request.headerFields[ISRReportForwarder.forwardedField] = "1"
            let refused = try await client.execute(request, to: "\(follower.host):\(port)")
            #expect(refused.status == .serviceUnavailable && refused.headerFields[.retryAfter] == "1")
            // A stale report through the leader itself: 409 with the reason.
            var stale = Self.shrink
            stale.epoch = 0
            var direct = InternalRequest(method: .post, path: path, body: ByteBuffer(bytes: try JSONEncoder().encode(stale)))
            direct.headerFields[.contentType] = "application/json"
            let leaderHost = try #require(replicas.first { $0.identity == leader }).host
            let conflict = try await client.execute(direct, to: "\(leaderHost):\(port)")
            #expect(conflict.status == .conflict)
            #expect(String(buffer: conflict.body).contains("at epoch 0 does not lead orders"))

            await client.shutdown()
            for replica in replicas { await replica.group.stop() }
        }
    }

    // MARK: - Helpers

    struct ServiceGroupHandle: Sendable {
        let task: Task<Void, any Error>
        let shutdown: @Sendable () async -> Void

        func stop() async {
            await shutdown()
            _ = await task.result
        }
    }

    static func startOperator(_ world: OperatorWorld, identity: String, host: String, port: Int) throws
        -> ServiceGroupHandle
    {
        let logger = operatorTestLogger(identity)
        let runtime = OperatorRuntime(
            settings: OperatorSettings(
                host: host, port: port,
                election: LeaderElectionConfiguration(
                    leaseName: "hadron-operator", namespace: "default", identity: identity,
                    leaseDuration: .seconds(30), renewDeadline: .seconds(20), retryPeriod: .seconds(1)),
                controller: OperatorController.Settings(resyncPeriod: .seconds(300))),
            client: world.operatorClient(), registry: PrometheusCollectorRegistry(), logger: logger)
        let (group, _) = try runtime.makeServiceGroup(signals: []) { _, _ in }
        let task = Task { try await group.run() }
        return ServiceGroupHandle(task: task, shutdown: { await group.triggerGracefulShutdown() })
    }

    static func createOperatorPod(_ world: OperatorWorld, name: String, ip: String) async throws {
        _ = try await world.admin.create(
            Pod(
                metadata: ObjectMeta(name: name, namespace: "default", labels: ["app.kubernetes.io/name": "hadron-operator"]),
                spec: PodSpec(containers: [Container(name: "operator", image: "ghcr.io/hadron/hadron:1.0")])))
        _ = try await world.admin.mergePatch(
            Pod.self, name: name, namespace: "default",
            patch: ["status": ["phase": "Running", "podIP": .string(ip)]], subresource: "status")
    }

    static func waitForLeader(_ world: OperatorWorld, among identities: [String]) async -> String? {
        var holder: String?
        _ = await eventually(within: .seconds(20)) {
            holder = await world.double.storedObject(Lease.descriptor, namespace: "default", name: "hadron-operator")?[
                path: ["spec", "holderIdentity"]]?.stringValue
            return holder.map(identities.contains) ?? false
        }
        return holder
    }

    /// A port free on 127.0.0.1 now (127.0.0.2 has no listeners of other tests).
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
