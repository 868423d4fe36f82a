import HadronCore
import HadronGateway
import HadronHTTP
import HadronTestSupport
import Synchronization
import Testing

/// `hadron gateway --kubernetes` routing (DESIGN.md §6): a partition's requests go to its Service, which the
/// operator points at the leader pod; the gateway never needs the pods' addresses.
@Suite struct PartitionServiceRoutingTests {
    @Test("partitions go through their Service; when leadership moves the gateway dials the Service again")
    func serviceRouting() async throws {
        // The Service as kube-proxy makes it: new connections go to the pod selected now, old ones stay put.
        let selected = Mutex<String?>(nil)
        let service = try await ServiceProxy.start { selected.withLock { $0 } }
        let successor = try await FakeStorage.start()
        await successor.state.set(epoch: 2)
        try await GatewayHarness.with(
            partitions: 1, publishTopology: false,
            configure: {
                $0.routing = .partitionService(cluster: "events", namespace: "default")
                $0.resolve = try! AddressOverrides(["events-events-0.default.svc=127.0.0.1:\(service.port)"])
            }
        ) { harness in
            selected.withLock { $0 = harness.storage.address }
            // The pods' own addresses are unusable: only the Service leads anywhere.
            func topology(epoch: Int32, version: Int64) -> Topology {
                var topology = harness.topology(epoch: epoch, version: version)
                topology.nodes = [NodeInfo(id: "storage-0", address: "192.0.2.1:9", ready: true)]
                return topology
            }
            harness.feed.publish(topology(epoch: 1, version: 1))
            try await eventually("the gateway is ready") { harness.gateway.isReady }
            let first = try await harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "s1"))
            #expect(first.status == 202, "\(first.text)")
            #expect(await harness.storage.state.storedBatches == 1)

            // Failover: the operator points the Service at the new leader and bumps the epoch. The deposed leader
            // is alive and answers 421 to epoch 2 on the connection the gateway already has.
            selected.withLock { $0 = successor.address }
            harness.feed.publish(topology(epoch: 2, version: 2))
            let second = try await harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "s2"))
            #expect(second.status == 202, "\(second.text)")
            #expect(await successor.state.storedBatches == 1)
            #expect(await harness.storage.state.storedBatches == 1, "nothing more on the deposed leader")
        }
        await successor.stop()
        await service.stop()
    }

    @Test("--resolve entries: NAME=HOST:PORT, case-insensitive names; anything else is refused by name")
    func addressOverrides() throws {
        let overrides = try AddressOverrides(["Events-Storage-0.events-storage.default.svc=127.0.0.5:9101"])
        #expect(
            overrides.target(of: ServerAddress("events-storage-0.events-storage.default.svc:9101")!)
                == ServerAddress(host: "127.0.0.5", port: 9101))
        #expect(overrides.target(of: ServerAddress("other.svc:9101")!) == ServerAddress("other.svc:9101")!)
        for bad in ["no-equals", "=127.0.0.1:1", "name=127.0.0.1", "name=127.0.0.1:0"] {
            #expect(throws: AddressOverrideError.self, "\(bad)") { try AddressOverrides([bad]) }
        }
    }
}
