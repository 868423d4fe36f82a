import ClusterTopology
import HadronCore
import KubeAPI
import KubeAPITestDouble
import Testing

/// What `hadron storage --kubernetes` and `hadron gateway --kubernetes` follow: the cluster's Streams as a
/// ``Topology`` (DESIGN.md §6, §8).
@Suite struct ClusterTopologyTests {
    func stream(
        _ name: String, cluster: String? = "events", spec: (inout HadronStream.Spec) -> Void = { _ in },
        partitions: [HadronStream.PartitionStatus]? = nil
    ) -> HadronStream {
        var value = HadronStream.Spec(cluster: cluster, partitions: 2, replicationFactor: 3)
        spec(&value)
        return HadronStream(
            metadata: ObjectMeta(name: name, namespace: "default"), spec: value,
            status: partitions.map { HadronStream.Status(partitions: $0) })
    }

    @Test func aStreamResourceReadsAsTheLocalControllerReadsTheSameYAML() throws {
        let recorded = HadronStream.PartitionStatus(
            partition: 0, leader: "events-storage-1", epoch: 4, replicas: ["events-storage-1", "events-storage-0"],
            isr: ["events-storage-1"], state: "Online", service: "events-orders-0")
        let topology = try StreamTopology(resource: stream("orders", partitions: [recorded]))
        #expect(topology.replicationFactor == 3 && topology.minInSyncReplicas == 2 && topology.durability == .replicated)
        #expect(
            topology.partitions[0]
                == PartitionInfo(
                    partition: 0, leader: "events-storage-1", epoch: 4,
                    replicas: ["events-storage-1", "events-storage-0"], isr: ["events-storage-1"], state: .online))
        // Declared but not placed yet: there, without a leader, so writes answer 503 rather than 404.
        #expect(
            topology.partitions[1]
                == PartitionInfo(partition: 1, leader: nil, epoch: 0, replicas: [], isr: [], state: .unavailable))

        let single = try StreamTopology(resource: stream("audit") { $0.replicationFactor = nil })
        #expect(single.replicationFactor == 1 && single.minInSyncReplicas == 1 && single.durability == .always)

        let tuned = try StreamTopology(
            resource: stream("logs") {
                $0.fsync = "always"
                $0.minInSyncReplicas = 3
                $0.retention = .init(maxAge: "168h", maxBytes: "10Gi")
            })
        #expect(tuned.durability == .always && tuned.minInSyncReplicas == 3)
        #expect(tuned.retention == RetentionSpec(maxAgeMilliseconds: 168 * 3_600_000, maxBytes: 10 << 30))

        #expect(throws: ResourceError.self) { try StreamTopology(resource: stream("bad") { $0.fsync = "sometimes" }) }
        #expect(throws: ResourceError.self) {
            try StreamTopology(resource: stream("bad") { $0.retention = .init(maxAge: "a week") })
        }
    }

    @Test func inClusterNamesAreTheOnesTheOperatorCreates() {
        #expect(ClusterDNS.partitionService(cluster: "events", stream: "shop.orders", partition: 2) == "events-shop-orders-2")
        #expect(
            ClusterDNS.partitionServiceAddress(cluster: "events", stream: "orders", partition: 0, namespace: "prod")
                == "events-orders-0.prod.svc:9101")
        #expect(
            ClusterDNS.storagePodAddress(pod: "events-storage-1", cluster: "events", namespace: "prod")
                == "events-storage-1.events-storage.prod.svc:9101")
    }

    @Test func theWatchFollowsOnlyItsClustersStreamsAndPublishesChangesOnly() async throws {
        try await OperatorWorld.with { world in
            let client = world.operatorClient()
            let watch = ClusterTopologyWatch(
                client: client, cluster: "events", namespace: "default", logger: operatorTestLogger("watch"))
            _ = try await world.admin.create(stream("orders"))
            _ = try await world.admin.create(stream("elsewhere", cluster: "other"))
            let task = Task { try await watch.run() }
            defer { task.cancel() }

            let first = try #require(await watch.waitUntil(timeout: .seconds(20)) { !$0.streams.isEmpty })
            #expect(first.streams.map(\.name) == ["orders"])
            #expect(first.nodes.isEmpty, "nothing placed yet")

            // The operator records placement: the replicas become nodes at their pod DNS names.
            let placed = HadronStream.PartitionStatus(
                partition: 0, leader: "events-storage-0", epoch: 1, replicas: ["events-storage-0", "events-storage-1"],
                isr: ["events-storage-0", "events-storage-1"], state: "Online")
            _ = try await world.admin.mergePatch(
                HadronStream.self, name: "orders", namespace: "default",
                patch: ["status": ["partitions": [try JSONValue(encoding: placed)]]], subresource: "status")
            let second = try #require(
                await watch.waitUntil(timeout: .seconds(20)) { $0.stream(named: "orders")?.partition(0)?.leader != nil })
            #expect(second.version > first.version)
            #expect(
                second.nodes.map(\.address) == [
                    "events-storage-0.events-storage.default.svc:9101", "events-storage-1.events-storage.default.svc:9101",
                ])

            // A change that does not touch the topology (a label) publishes nothing new.
            let updates = await watch.updates()
            _ = try await world.admin.mergePatch(
                HadronStream.self, name: "orders", namespace: "default", patch: ["metadata": ["labels": ["team": "a"]]])
            _ = try await world.admin.create(stream("payments"))
            var iterator = updates.makeAsyncIterator()
            #expect(await iterator.next()?.version == second.version, "the current topology first")
            let next = try #require(await iterator.next())
            #expect(next.version == second.version + 1 && next.streams.map(\.name) == ["orders", "payments"])
        }
    }
}
