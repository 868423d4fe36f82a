import CloudEvents
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import Logging
import NIOCore
import SegmentLog
import ServiceLifecycle
import Testing

@testable import HadronStorage

/// Real storage nodes in this process replicating one partition over h2c, with the test as their controller:
/// it edits the topology and records ISR changes as the local controller does.
@Suite struct ReplicationTests {
    @Test func followersCopyTheLeaderAndAppendsCommitOnTheISR() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 3)
        defer { cluster.remove() }
        let leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids)
        var batches: [[UInt8]] = []
        for index in 0..<5 {
            let batch = StorageTestBatch.events(3, tag: "b\(index)")
            batches.append(batch)
            let response = try await leader.append(batch, partition: 0, epoch: 1)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
        #expect(try await leader.state(partition: 0)["highWatermark"] as? Int == 15)
        // The followers learn the high watermark with their next fetch.
        for id in ["storage-1", "storage-2"] {
            try await eventually("\(id) has everything and knows it is committed") {
                let report = try await cluster.report(of: id)
                return report?.logEndOffset == 15 && report?.highWatermark == 15
            }
        }
        try await cluster.stopAll()
        let logs = try await cluster.storedBytes()
        let expected = batches.enumerated().flatMap { index, batch in
            StorageTestBatch.stamped(batch, baseOffset: Int64(index * 3), epoch: 1)
        }
        #expect(logs["storage-0"] == expected)
        #expect(logs["storage-1"] == expected && logs["storage-2"] == expected, "replicas are byte-identical")
    }

    @Test func laggingFollowersLeaveTheISRMinimumRefusesAndCaughtUpOnesRejoin() async throws {
        var cluster = try await ReplicatedCluster.start(
            nodes: 3, lagLimit: .milliseconds(600), commitTimeout: .seconds(6))
        defer { cluster.remove() }
        var leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids)
        #expect(try await leader.append(StorageTestBatch.events(2), partition: 0, epoch: 1).status == .ok)

        // One follower stops: the append waits for it until the controller records the shrink, then commits.
        try await cluster.stop("storage-2")
        let waited = try await leader.append(StorageTestBatch.events(2, tag: "w"), partition: 0, epoch: 1)
        #expect(waited.status == .ok, "\(String(buffer: waited.body))")
        #expect(cluster.isr == ["storage-0", "storage-1"])

        // A second one stops: below minInSyncReplicas nothing commits; the pending append answers 503 and so does
        // every new one, with Retry-After.
        try await cluster.stop("storage-1")
        let pending = try await leader.append(StorageTestBatch.events(2, tag: "p"), partition: 0, epoch: 1)
        #expect(pending.status == .serviceUnavailable)
        try await eventually("the ISR shrinks to the leader") { cluster.isr == ["storage-0"] }
        let refused = try await leader.append(StorageTestBatch.events(1, tag: "r"), partition: 0, epoch: 1)
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.headerFields[.retryAfter] != nil)
        #expect(ProblemDetails.detail(in: refused.body)?.contains("minInSyncReplicas 2") == true)
        #expect(try await leader.state(partition: 0)["highWatermark"] as? Int == 4)

        // They come back, catch up, rejoin; the stored-but-uncommitted batch commits with them.
        try await cluster.restart("storage-1")
        try await cluster.restart("storage-2")
        leader = cluster.peer("storage-0")
        try await eventually("both followers rejoin the ISR") { cluster.isr == cluster.ids }
        do {
            try await eventually("the pending batch commits") {
                try await leader.state(partition: 0)["highWatermark"] as? Int == 6
            }
        } catch {
            let states = try await cluster.ids.asyncMap { try await cluster.peer($0).state(partition: 0) }
            Issue.record("states: \(states), isr \(cluster.isr)")
            throw error
        }
        #expect(try await leader.append(StorageTestBatch.events(1, tag: "x"), partition: 0, epoch: 1).status == .ok)
        try await eventually("followers caught up") {
            let ends = try await cluster.ids.asyncMap { try await cluster.report(of: $0)?.logEndOffset }
            return ends.allSatisfy { $0 == 7 }
        }
        try await cluster.stopAll()
        let logs = try await cluster.storedBytes()
        #expect(Set(logs.values).count == 1, "replicas are byte-identical")
    }

    /// KIP-101: a follower holding a batch its new leader never got truncates it and takes the leader's instead.
    /// KIP-279: after a second failover the replica that led epoch 2 holds an epoch its new leader never had; it
    /// walks back epoch by epoch to the last offset both agree on.
    @Test func divergentFollowersTruncateByLeaderEpochThroughTwoFailovers() async throws {
        var cluster = try await ReplicatedCluster.start(
            nodes: 2, lagLimit: .seconds(60), commitTimeout: .seconds(2))
        defer { cluster.remove() }
        let first = StorageTestBatch.events(2, tag: "committed")
        var leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids, minimum: 1)
        #expect(try await leader.append(first, partition: 0, epoch: 1).status == .ok)

        // Epoch 1: storage-0 stores a batch storage-1 never gets (no commit: the ISR still names storage-1).
        try await cluster.stop("storage-1")
        let lost = StorageTestBatch.events(3, tag: "lost")
        #expect(try await leader.append(lost, partition: 0, epoch: 1).status == .serviceUnavailable)
        try await cluster.stop("storage-0")

        // Epoch 2: storage-1 leads alone and writes a batch storage-0 will never see.
        try await cluster.restart("storage-1")
        leader = try await cluster.lead(epoch: 2, leader: "storage-1", isr: ["storage-1"], minimum: 1)
        let second = StorageTestBatch.events(1, tag: "epoch2")
        #expect(try await leader.append(second, partition: 0, epoch: 2).status == .ok)
        try await cluster.stop("storage-1")

        // Epoch 3: storage-0 leads (its epoch-1 batch is still there) and writes on.
        try await cluster.restart("storage-0")
        leader = try await cluster.lead(epoch: 3, leader: "storage-0", isr: ["storage-0"], minimum: 1)
        let third = StorageTestBatch.events(2, tag: "epoch3")
        #expect(try await leader.append(third, partition: 0, epoch: 3).status == .ok)

        // storage-1 returns as a follower of epoch 3: its epoch-2 batch goes, storage-0's log replaces it.
        try await cluster.restart("storage-1")
        try await eventually("storage-1 caught up") { try await cluster.report(of: "storage-1")?.logEndOffset == 7 }
        try await cluster.stopAll()
        let logs = try await cluster.storedBytes()
        let expected =
            StorageTestBatch.stamped(first, baseOffset: 0, epoch: 1)
            + StorageTestBatch.stamped(lost, baseOffset: 2, epoch: 1)
            + StorageTestBatch.stamped(third, baseOffset: 5, epoch: 3)
        #expect(logs["storage-0"] == expected)
        #expect(logs["storage-1"] == expected, "the follower truncated its epoch-2 batch and copied the leader")
    }

    /// Kafka's idempotent producer: a batch sent again (its answer was lost) is committed once — by the same
    /// leader, and by the next one, which holds the producer state because it holds the log.
    @Test func aRetriedBatchCommitsOnceOnTheLeaderAndItsSuccessor() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        func batch(sequence: Int32, count: Int, tag: String) -> [UInt8] {
            let events = (0..<count).map { index in
                CloudEvent(id: "\(tag)-\(index)", source: URIReference(unchecked: "/dedup"), type: "t")
            }
            return RecordBatchEncoder(producerId: 7, producerEpoch: 0, baseSequence: sequence)
                .encode(events, receiveTime: 1_700_000_000_000)
        }
        var leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids, minimum: 1)
        let first = batch(sequence: 0, count: 3, tag: "a")
        for _ in 0..<2 {
            let response = try await leader.append(first, partition: 0, epoch: 1)
            #expect(String(buffer: response.body) == #"{"baseOffset":0,"lastOffset":2}"#)
        }
        #expect(try await leader.state(partition: 0)["logEndOffset"] as? Int == 3)
        try await eventually("storage-1 replicated it") { try await cluster.report(of: "storage-1")?.logEndOffset == 3 }

        leader = try await cluster.lead(epoch: 2, leader: "storage-1", isr: cluster.ids, minimum: 1)
        let retried = try await leader.append(first, partition: 0, epoch: 2)
        #expect(String(buffer: retried.body) == #"{"baseOffset":0,"lastOffset":2}"#)
        let next = try await leader.append(batch(sequence: 3, count: 2, tag: "b"), partition: 0, epoch: 2)
        #expect(String(buffer: next.body) == #"{"baseOffset":3,"lastOffset":4}"#)
        let gap = try await leader.append(batch(sequence: 9, count: 1, tag: "c"), partition: 0, epoch: 2)
        #expect(gap.status == .unprocessableContent)
        #expect(ProblemDetails.detail(in: gap.body)?.contains("expected 5") == true)
        #expect(try await leader.state(partition: 0)["logEndOffset"] as? Int == 5)
        try await cluster.stopAll()
    }

    /// Followers copy the leader's committed group offsets, so the next leader resumes a group where it was.
    @Test func theNextLeaderResumesConsumerGroupsWhereTheyWere() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        var leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids, minimum: 1)
        #expect(try await leader.append(StorageTestBatch.events(5), partition: 0, epoch: 1).status == .ok)
        let lease = try await leader.send(
            .post, "/internal/v1/streams/events/partitions/0/groups/billing/lease", json: #"{"max":3}"#)
        let delivery = try #require(lease.headerFields[HTTPField.Name("hadron-delivery")!])
        let ack = try await leader.send(
            .post, "/internal/v1/streams/events/partitions/0/groups/billing/ack", json: #"{"delivery":"\#(delivery)"}"#)
        #expect(ack.status == .noContent)
        let copy = GroupOffsetStore(directory: cluster.directory.file("storage-1/events/0/groups"))
        try await eventually("the follower copied the committed offset") {
            try await copy.committedOffset(of: "billing") == 3
        }

        leader = try await cluster.lead(epoch: 2, leader: "storage-1", isr: cluster.ids, minimum: 1)
        let resumed = try await leader.send(
            .post, "/internal/v1/streams/events/partitions/0/groups/billing/lease", json: #"{"max":10}"#)
        #expect(resumed.headerFields[HTTPField.Name("hadron-first-offset")!] == "3")
        #expect(resumed.headerFields[HTTPField.Name("hadron-last-offset")!] == "4")
        try await cluster.stopAll()
    }

    @Test func aFollowerRefusesClientsAndTheLeaderRefusesStaleReplicationEpochs() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        let leader = try await cluster.lead(epoch: 4, leader: "storage-0", isr: cluster.ids)
        #expect(try await leader.append(StorageTestBatch.events(1), partition: 0, epoch: 4).status == .ok)
        let follower = cluster.peer("storage-1")
        #expect(try await follower.append(StorageTestBatch.events(1), partition: 0, epoch: 4).status == .misdirectedRequest)

        // A replication fetch or epoch query from an older epoch is fenced; one from a stranger refused.
        let stale = try await leader.send(
            .get, "/internal/v1/streams/events/partitions/0/records?offset=0&replica=storage-1",
            headers: [HTTPField.Name("hadron-epoch")!: "3"])
        #expect(stale.status == .conflict)
        let stranger = try await leader.send(
            .get, "/internal/v1/streams/events/partitions/0/records?offset=0&replica=storage-9",
            headers: [HTTPField.Name("hadron-epoch")!: "4"])
        #expect(stranger.status == .badRequest)
        let epochs = try await leader.send(
            .get, "/internal/v1/streams/events/partitions/0/epochs/4", headers: [HTTPField.Name("hadron-epoch")!: "4"])
        #expect(String(buffer: epochs.body) == #"{"epoch":4,"endOffset":1}"#)
        let beyond = try await leader.send(
            .get, "/internal/v1/streams/events/partitions/0/records?offset=5&replica=storage-1",
            headers: [HTTPField.Name("hadron-epoch")!: "4"])
        #expect(beyond.status == .rangeNotSatisfiable)
        #expect(ProblemDetails.member("logEndOffset", in: beyond.body)?.integer == 1)
        try await cluster.stopAll()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// Storage nodes `storage-0…` in this process, each with its own directory, sharing one ``TopologyFeed`` that the
/// test edits as a controller would. Nodes can be stopped (gracefully) and restarted on a new port.
struct ReplicatedCluster {
    private struct Running {
        var node: StorageNode
        var group: ServiceGroup
        var task: Task<Void, any Error>
        var address: ServerAddress
    }

    let directory = TemporaryDirectory("replication")
    let feed: TopologyFeed
    let ids: [String]
    let client = InternalClient(logger: quietLogger)
    private let lagLimit: Duration
    private let commitTimeout: Duration
    private var running: [String: Running] = [:]
    private var addresses: [String: ServerAddress] = [:]

    private init(ids: [String], lagLimit: Duration, commitTimeout: Duration) {
        self.ids = ids
        self.lagLimit = lagLimit
        self.commitTimeout = commitTimeout
        self.feed = TopologyFeed(Topology(version: 1))
    }

    static func start(
        nodes: Int, lagLimit: Duration = .seconds(10), commitTimeout: Duration = .seconds(10)
    ) async throws -> ReplicatedCluster {
        var cluster = ReplicatedCluster(
            ids: (0..<nodes).map { "storage-\($0)" }, lagLimit: lagLimit, commitTimeout: commitTimeout)
        for id in cluster.ids { try await cluster.restart(id) }
        return cluster
    }

    /// The ISR on record for partition 0.
    var isr: [String] { feed.topology.streams.first?.partitions.first?.isr ?? [] }

    func peer(_ id: String) -> Peer { Peer(client: client, address: addresses[id]!) }

    /// Publishes partition 0 of `events` over every node, led by `leader` at `epoch`, and waits until it leads.
    func lead(epoch: Int32, leader: String, isr: [String], minimum: Int = 2) async throws -> Peer {
        let nodes = nodeInfos
        feed.update { topology in
            topology.streams = [
                StreamTopology(
                    name: "events", replicationFactor: ids.count, minInSyncReplicas: minimum, durability: .replicated,
                    partitions: [
                        PartitionInfo(
                            partition: 0, leader: leader, epoch: epoch, replicas: ids, isr: isr, state: .online)
                    ])
            ]
            topology.nodes = nodes
        }
        let peer = peer(leader)
        try await eventually("\(leader) leads at epoch \(epoch)") {
            let state = try await peer.state(partition: 0)
            return state["role"] as? String == "leader" && state["epoch"] as? Int == Int(epoch)
        }
        return peer
    }

    private var nodeInfos: [NodeInfo] {
        ids.map { NodeInfo(id: $0, address: addresses[$0]?.description ?? "127.0.0.1:1", ready: running[$0] != nil) }
    }

    /// Starts (or starts again) node `id` on a new port and publishes its address.
    mutating func restart(_ id: String) async throws {
        let configuration = StorageNodeConfiguration(
            nodeID: id, listen: ServerAddress(host: "127.0.0.1", port: 0), dataDirectory: directory.file(id),
            heartbeatInterval: .milliseconds(50), segmentBytes: 4096, replicaLagLimit: lagLimit,
            commitTimeout: commitTimeout)
        let node = StorageNode(configuration: configuration, topologySource: feed.source, logger: quietLogger)
        let group = ServiceGroup(configuration: .init(services: [node], logger: quietLogger))
        let task = Task { try await group.run() }
        let address = try await node.listeningAddress()
        running[id] = Running(node: node, group: group, task: task, address: address)
        addresses[id] = address
        let nodes = nodeInfos
        feed.update { $0.nodes = nodes }
    }

    /// Stops node `id` gracefully and waits until it has closed its logs.
    mutating func stop(_ id: String) async throws {
        guard let node = running.removeValue(forKey: id) else { return }
        await node.group.triggerGracefulShutdown()
        try await node.task.value
    }

    mutating func stopAll() async throws {
        for id in ids { try await stop(id) }
        await client.shutdown()
    }

    /// What node `id` reports for partition 0, the way its heartbeat would.
    func report(of id: String) async throws -> ReplicaReport? {
        await running[id]?.node.replicas.replica(stream: "events", partition: 0)?.report()
    }

    /// Every node's partition-0 log, read back from disk after the nodes stopped.
    func storedBytes() async throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for id in ids {
            let log = try await PartitionLog.open(
                directory: directory.file("\(id)/events/0/log"), configuration: LogConfiguration(), logger: quietLogger)
            var bytes: [UInt8] = []
            var next = log.logStartOffset
            while next < log.logEndOffset {
                let read = try log.read(from: next, maxBytes: 1 << 20)
                guard !read.bytes.isEmpty else { break }
                bytes += read.bytes
                next = read.nextOffset
            }
            try await log.close()
            result[id] = bytes
        }
        return result
    }

    func remove() { directory.remove() }
}
