import HadronControl
import HadronCore
import Testing

@Suite struct LocalControllerTests {
    let events = StreamResource(name: "events", partitions: 3, replicationFactor: 1)
    let orders = StreamResource(name: "orders", partitions: 2, replicationFactor: 2)

    @Test func partitionsAreUnavailableUntilEnoughNodesRegister() async {
        let controller = LocalController(streams: [events, orders], livenessTimeout: .seconds(600))
        var topology = await controller.current()
        #expect(topology.streams.flatMap(\.partitions).allSatisfy { $0.state == .unavailable && $0.leader == nil })

        topology = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        #expect(topology.stream(named: "events")!.partitions.allSatisfy { $0.leader == "storage-0" && $0.epoch == 1 })
        #expect(topology.stream(named: "orders")!.partitions.allSatisfy { $0.state == .unavailable })
        #expect(topology.nodes == [NodeInfo(id: "storage-0", address: "127.0.0.1:9101", ready: true)])

        topology = await controller.heartbeat(nodeID: "storage-1", NodeHeartbeat(address: "127.0.0.1:9102", partitions: []))
        let orderPartitions = topology.stream(named: "orders")!.partitions
        #expect(orderPartitions.allSatisfy { $0.state == .online && $0.replicas.count == 2 && $0.isr == $0.replicas })
        #expect(Set(orderPartitions.map { $0.leader! }) == ["storage-0", "storage-1"])
        // Placement never moves what is placed: events stays on storage-0.
        #expect(topology.stream(named: "events")!.partitions.allSatisfy { $0.replicas == ["storage-0"] })
    }

    @Test func versionsGrowOnlyWithChanges() async {
        let controller = LocalController(streams: [events], livenessTimeout: .seconds(600))
        let first = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        let again = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        #expect(again.version == first.version)
        let offsets = await controller.heartbeat(
            nodeID: "storage-0",
            NodeHeartbeat(
                address: "127.0.0.1:9101",
                partitions: [ReplicaReport(stream: "events", partition: 1, logStartOffset: 0, logEndOffset: 7, highWatermark: 7, leaderEpoch: 1)]))
        #expect(offsets.version == first.version + 1)
        #expect(offsets.stream(named: "events")!.partition(1)!.highWatermark == 7)
    }

    @Test func aRestartedControllerAssignsEpochsAboveWhatTheLogsHold() async {
        let controller = LocalController(streams: [events], livenessTimeout: .seconds(600))
        let topology = await controller.heartbeat(
            nodeID: "storage-0",
            NodeHeartbeat(
                address: "127.0.0.1:9101",
                partitions: [ReplicaReport(stream: "events", partition: 2, logStartOffset: 0, logEndOffset: 9, highWatermark: 9, leaderEpoch: 4)]))
        #expect(topology.stream(named: "events")!.partition(2)!.epoch == 5)
        #expect(topology.stream(named: "events")!.partition(0)!.epoch == 1)
    }

    @Test func watchersSeeTheCurrentTopologyThenChanges() async {
        let controller = LocalController(streams: [events], livenessTimeout: .seconds(600))
        let updates = await controller.watch()
        var iterator = updates.makeAsyncIterator()
        let initial = await iterator.next()
        #expect(initial?.nodes.isEmpty == true)
        _ = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        let changed = await iterator.next()
        #expect(changed?.stream(named: "events")?.partitions.first?.leader == "storage-0")
    }

    @Test func aSilentNodeBecomesNotReady() async throws {
        let controller = LocalController(streams: [events], livenessTimeout: .milliseconds(100))
        _ = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        let deadline = ContinuousClock.now + .seconds(10)
        while await controller.current().nodes.first?.ready == true {
            #expect(ContinuousClock.now < deadline, "the node never became not ready")
            if ContinuousClock.now >= deadline { return }
            await Task.yield()
        }
        #expect(await controller.current().nodes.first?.ready == false)
    }
}

@Suite struct ResourceLoaderTests {
    @Test func readsStreamsFromKubernetesStyleYAML() throws {
        let yaml = """
            apiVersion: hadron.dev/v1alpha1
            kind: HadronCluster
            metadata: {name: events}
            spec: {storage: {replicas: 3}}
            ---
            apiVersion: hadron.dev/v1alpha1
            kind: Stream
            metadata:
              name: orders
            spec:
              partitions: 6
              replicationFactor: 3
              retention: {maxAge: 168h, maxBytes: 10Gi}
              selector: {matchLabels: {zone: eu-1a}}
            """
        let resources = try ResourceLoader.load(yaml: yaml)
        #expect(resources.count == 2)
        guard case .stream(let stream) = resources[1] else {
            Issue.record("expected a stream")
            return
        }
        #expect(stream.partitions == 6 && stream.replicationFactor == 3 && stream.minInSyncReplicas == 2)
        #expect(stream.durability == .replicated)
        #expect(stream.retention == RetentionSpec(maxAgeMilliseconds: 168 * 3_600_000, maxBytes: 10 << 30))
        #expect(stream.nodeSelector == ["zone": "eu-1a"])
    }

    @Test func uncleanLeaderElectionIsOffUnlessTheStreamOptsIn() throws {
        let yaml = """
            apiVersion: hadron.dev/v1alpha1
            kind: Stream
            metadata: {name: careful}
            spec: {partitions: 1}
            ---
            apiVersion: hadron.dev/v1alpha1
            kind: Stream
            metadata: {name: available}
            spec: {partitions: 1, uncleanLeaderElection: true}
            """
        let streams = try ResourceLoader.load(yaml: yaml).compactMap { resource -> StreamResource? in
            if case .stream(let stream) = resource { return stream }
            return nil
        }
        #expect(streams.map(\.uncleanLeaderElection) == [false, true])
    }

    @Test(arguments: [
        ("kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {}", "spec.partitions is required"),
        ("kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: S_1}\nspec: {partitions: 1}", "Stream name"),
        ("kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: 1, replicationFactor: 2, minInSyncReplicas: 3}", "minInSyncReplicas"),
        ("kind: Stream\napiVersion: hadron.dev/v1\nmetadata: {name: s}\nspec: {partitions: 1}", "apiVersion"),
        ("kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: 1, retention: {maxAge: 7d}}", "maxAge"),
        ("kind: Widget\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: w}", "not supported"),
        ("kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: many}", "spec.partitions"),
        (
            "kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: 1, uncleanLeaderElection: maybe}",
            "Stream s: spec.uncleanLeaderElection must be true or false, got \"maybe\""
        ),
        (
            "kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: 1, uncleanLeaderElection: 'true'}",
            "spec.uncleanLeaderElection must be true or false"
        ),
        (
            "kind: Stream\napiVersion: hadron.dev/v1alpha1\nmetadata: {name: s}\nspec: {partitions: 1, uncleanLeaderElection: [true]}",
            "spec.uncleanLeaderElection must be true or false"
        ),
    ])
    func explainsWhatIsWrong(_ yaml: String, _ fragment: String) {
        do {
            _ = try ResourceLoader.load(yaml: yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}
