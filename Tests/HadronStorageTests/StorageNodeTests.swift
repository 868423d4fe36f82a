import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import HadronStorage

/// A real storage node on port 0, fed a topology directly, driven over h2c with the client the gateway uses.
@Suite struct StorageNodeTests {
    @Test func appendFetchGroupsAndRestartOverHTTP2() async throws {
        let directory = TemporaryDirectory("storage-node")
        defer { directory.remove() }
        // "events" keeps everything; "trimmed" keeps as little as retention may (whole segments, never the active one).
        var topology = singleNodeTopology()
        topology.streams.append(
            singleNodeTopology(stream: "trimmed", partitions: 1, retention: RetentionSpec(maxBytes: 1)).streams[0])
        let client = InternalClient(logger: quietLogger)
        defer { Task { await client.shutdown() } }
        let batch = StorageTestBatch.events(3)

        // First life: append, fetch, long poll, refusals, a consumer group.
        try await RunningNode.with(directory: directory, topology: topology) { node in
            let peer = Peer(client: client, address: node.address)
            try await node.waitUntilLeading(peer, partition: 0)

            let appended = try await peer.append(batch, partition: 0, epoch: 1)
            #expect(appended.status == .ok)
            #expect(String(buffer: appended.body) == #"{"baseOffset":0,"lastOffset":2}"#)

            let fetched = try await peer.fetch(partition: 0, offset: 0)
            #expect(fetched.status == .ok)
            #expect(Array(fetched.body.readableBytesView) == StorageTestBatch.stamped(batch, baseOffset: 0, epoch: 1))
            #expect(fetched.headerFields[.contentType] == "application/vnd.hadron.record-batch")
            #expect(fetched.headerFields[HTTPField.Name("hadron-high-watermark")!] == "3")
            #expect(fetched.headerFields[HTTPField.Name("hadron-log-start-offset")!] == "0")
            #expect(fetched.headerFields[HTTPField.Name("hadron-log-end-offset")!] == "3")

            // A long poll parks until an append passes its offset.
            let replica = try #require(node.node.replicas.replica(stream: "events", partition: 0))
            let poll = Task { try await peer.fetch(partition: 0, offset: 3, wait: 20_000) }
            try await eventually("the long poll is parked") { replica.highWatermark.waiterCount == 1 }
            let late = StorageTestBatch.events(2, tag: "late")
            #expect(try await peer.append(late, partition: 0, epoch: 1).status == .ok)
            let woken = try await poll.value
            #expect(Array(woken.body.readableBytesView) == StorageTestBatch.stamped(late, baseOffset: 3, epoch: 1))
            #expect(woken.headerFields[HTTPField.Name("hadron-high-watermark")!] == "5")

            // Nothing new within the wait: an empty 200.
            let empty = try await peer.fetch(partition: 0, offset: 5, wait: 20)
            #expect(empty.status == .ok && empty.body.readableBytes == 0)

            // A damaged batch is refused whole; nothing is stored.
            let bad = try await peer.append(StorageTestBatch.corrupted(batch), partition: 0, epoch: 1)
            #expect(bad.status == .badRequest)
            #expect(bad.headerFields[.contentType] == "application/problem+json")
            #expect(ProblemDetails.detail(in: bad.body)?.contains("CRC") == true)
            #expect(try await peer.state(partition: 0)["logEndOffset"] as? Int == 5)

            // Epochs: older → 409 fenced, newer → 421, a partition not hosted → 421 naming the leader.
            let fenced = try await peer.append(batch, partition: 0, epoch: 0)
            #expect(fenced.status == .conflict)
            #expect(ProblemDetails.member("epoch", in: fenced.body)?.integer == 1)
            let ahead = try await peer.append(batch, partition: 0, epoch: 2)
            #expect(ahead.status == .misdirectedRequest)
            let elsewhere = try await peer.append(batch, partition: 7, epoch: 1)
            #expect(elsewhere.status == .misdirectedRequest)
            let missingEpoch = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/records", body: batch)
            #expect(missingEpoch.status == .badRequest)

            // A consumer group: lease, one in flight, ack commits durably.
            let lease = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/groups/billing/lease",
                json: #"{"max":4,"leaseMs":30000}"#)
            #expect(lease.status == .ok)
            let delivery = try #require(lease.headerFields[HTTPField.Name("hadron-delivery")!])
            #expect(lease.headerFields[HTTPField.Name("hadron-first-offset")!] == "0")
            #expect(lease.headerFields[HTTPField.Name("hadron-last-offset")!] == "3")
            #expect(
                Array(lease.body.readableBytesView)
                    == StorageTestBatch.stamped(batch, baseOffset: 0, epoch: 1)
                    + StorageTestBatch.stamped(late, baseOffset: 3, epoch: 1))
            let busy = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/groups/billing/lease", json: #"{"max":4}"#)
            #expect(busy.status == .noContent)
            let ack = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/groups/billing/ack",
                json: #"{"delivery":"\#(delivery)"}"#)
            #expect(ack.status == .noContent)
            let staleAck = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/groups/billing/ack",
                json: #"{"delivery":"\#(delivery)"}"#)
            #expect(staleAck.status == .conflict)
            let committed = try await peer.send(.get, "/internal/v1/streams/events/partitions/0/groups/billing")
            #expect(String(buffer: committed.body) == #"{"committedOffset":4}"#)

            // Retention: many small segments, then everything but the active segment goes.
            try await node.waitUntilLeading(peer, stream: "trimmed", partition: 0)
            for index in 0..<12 {
                let small = StorageTestBatch.events(2, tag: "r\(index)", payloadSize: 64)
                #expect(try await peer.append(small, stream: "trimmed", partition: 0, epoch: 1).status == .ok)
            }
            await node.node.applyRetention()
            let below = try await peer.fetch(stream: "trimmed", partition: 0, offset: 0)
            #expect(below.status == .rangeNotSatisfiable)
            let firstOffset = try #require(ProblemDetails.member("firstOffset", in: below.body)?.integer)
            #expect(firstOffset > 0)
            #expect(try await peer.fetch(stream: "trimmed", partition: 0, offset: firstOffset).status == .ok)
            #expect(try await peer.fetch(partition: 0, offset: 0).status == .ok)

            let healthz = try await peer.send(.get, "/healthz")
            #expect(healthz.status == .ok)
        }

        // Second life on the same directory: the logs and the committed offset are recovered.
        try await RunningNode.with(directory: directory, topology: topology) { node in
            let peer = Peer(client: client, address: node.address)
            try await node.waitUntilLeading(peer, partition: 0)
            let state = try await peer.state(partition: 0)
            #expect(state["logEndOffset"] as? Int == 5 && state["highWatermark"] as? Int == 5)
            let fetched = try await peer.fetch(partition: 0, offset: 0)
            #expect(
                Array(fetched.body.readableBytesView)
                    == StorageTestBatch.stamped(batch, baseOffset: 0, epoch: 1)
                    + StorageTestBatch.stamped(StorageTestBatch.events(2, tag: "late"), baseOffset: 3, epoch: 1))
            let committed = try await peer.send(.get, "/internal/v1/streams/events/partitions/0/groups/billing")
            #expect(String(buffer: committed.body) == #"{"committedOffset":4}"#)
            let redelivered = try await peer.send(
                .post, "/internal/v1/streams/events/partitions/0/groups/billing/lease", json: #"{"max":10}"#)
            #expect(redelivered.headerFields[HTTPField.Name("hadron-first-offset")!] == "4")
            #expect(redelivered.headerFields[HTTPField.Name("hadron-last-offset")!] == "4")
        }
    }

    @Test func heartbeatsReportOffsetsAndLeadershipFollowsTheTopology() async throws {
        let directory = TemporaryDirectory("storage-node")
        defer { directory.remove() }
        let client = InternalClient(logger: quietLogger)
        defer { Task { await client.shutdown() } }
        let feed = TopologyFeed(singleNodeTopology(partitions: 1))
        try await RunningNode.with(directory: directory, feed: feed) { node in
            let peer = Peer(client: client, address: node.address)
            try await node.waitUntilLeading(peer, partition: 0)
            #expect(try await peer.append(StorageTestBatch.events(2), partition: 0, epoch: 1).status == .ok)
            try await eventually("a heartbeat reports the appended events") {
                feed.lastHeartbeat?.partitions.first?.highWatermark == 2
            }
            let heartbeat = try #require(feed.lastHeartbeat)
            #expect(heartbeat.address == node.address.description)
            #expect(heartbeat.partitions.first?.leaderEpoch == 1)

            // The controller moves leadership away at epoch 2: appends now get 421 naming the new leader.
            var moved = singleNodeTopology(partitions: 1, epoch: 2, version: 2)
            moved.streams[0].partitions[0].leader = "storage-1"
            moved.streams[0].partitions[0].replicas = ["storage-0", "storage-1"]
            feed.topology = moved
            try await eventually("the node follows") {
                try await peer.state(partition: 0)["role"] as? String == "follower"
            }
            let refused = try await peer.append(StorageTestBatch.events(1), partition: 0, epoch: 2)
            #expect(refused.status == .misdirectedRequest)
            if case .string(let leader) = ProblemDetails.member("leader", in: refused.body) {
                #expect(leader == "storage-1")
            } else {
                Issue.record("the 421 names no leader")
            }
        }
    }

    /// Appends and fetches over HTTP/2 are answered by RecordsChannelHandler, over HTTP/1.1 by the router: the same
    /// answers either way, and a path the handler leaves alone (percent-encoded) still reaches the router.
    @Test func recordRoutesAnswerAlikeOverHTTP1AndHTTP2() async throws {
        let directory = TemporaryDirectory("storage-node-routes")
        defer { directory.remove() }
        let client = InternalClient(logger: quietLogger)
        defer { Task { await client.shutdown() } }
        try await RunningNode.with(directory: directory, topology: singleNodeTopology(), maxBatchBytes: 4096) { node in
            let peer = Peer(client: client, address: node.address)
            try await node.waitUntilLeading(peer, partition: 0)
            let records = "/internal/v1/streams/events/partitions/0/records"
            let first = StorageTestBatch.events(2, tag: "h2")
            let second = StorageTestBatch.events(3, tag: "h1")

            let overHTTP2 = try await peer.append(first, partition: 0, epoch: 1)
            #expect(String(buffer: overHTTP2.body) == #"{"baseOffset":0,"lastOffset":1}"#)
            #expect(overHTTP2.headerFields[.contentType] == "application/json")
            let overHTTP1 = try await HTTP1Connection.request(
                port: node.address.port, .POST, records,
                headers: [("content-type", "application/vnd.hadron.record-batch"), ("hadron-epoch", "1")],
                body: second)
            #expect(overHTTP1.status == 200 && String(decoding: overHTTP1.body, as: UTF8.self) == #"{"baseOffset":2,"lastOffset":4}"#)

            let fetched2 = try await peer.fetch(partition: 0, offset: 0)
            let fetched1 = try await HTTP1Connection.request(
                port: node.address.port, .GET, records + "?offset=0&maxBytes=1048576", headers: [("hadron-epoch", "1")])
            #expect(Array(fetched2.body.readableBytesView) == fetched1.body)
            #expect(
                fetched1.body
                    == StorageTestBatch.stamped(first, baseOffset: 0, epoch: 1)
                    + StorageTestBatch.stamped(second, baseOffset: 2, epoch: 1))
            for name in ["hadron-high-watermark", "hadron-log-end-offset", "content-type"] {
                #expect(fetched2.headerFields[HTTPField.Name(name)!] == fetched1.header(name))
            }

            // Refusals: the same status and problem either way.
            let refusals: [(HTTPRequest.Method, String, [UInt8], HTTPFields)] = [
                (.post, records, first, [:]),  // no epoch
                (.post, "/internal/v1/streams/events/partitions/9/records", first, [HTTPField.Name("hadron-epoch")!: "1"]),
                (.get, records + "?offset=-1", [], [:]),
                (.get, records + "?offset=0&wait=x", [], [:]),
                (.post, records, first, [HTTPField.Name("hadron-epoch")!: "x"]),
                (.post, records, Array(repeating: 7, count: 5000), [HTTPField.Name("hadron-epoch")!: "1"]),
            ]
            for (method, path, body, fields) in refusals {
                let viaHTTP2 = try await peer.send(method, path, headers: fields, body: method == .post ? body : nil)
                let viaHTTP1 = try await HTTP1Connection.request(
                    port: node.address.port, method == .post ? .POST : .GET, path,
                    headers: fields.map { ($0.name.canonicalName, $0.value) }, body: body)
                #expect(viaHTTP2.status.code == viaHTTP1.status, "\(method) \(path)")
                #expect(viaHTTP2.status.code >= 400 && viaHTTP2.status.code < 500, "\(method) \(path)")
                #expect(viaHTTP2.headerFields[.contentType] == "application/problem+json", "\(method) \(path)")
                #expect(ProblemDetails.detail(in: viaHTTP2.body) != nil, "\(method) \(path)")
            }

            // A stream name written percent-encoded is left to the router, which decodes it.
            let encoded = try await peer.send(
                .get, "/internal/v1/streams/ev%65nts/partitions/0/records?offset=0",
                headers: [HTTPField.Name("hadron-epoch")!: "1"])
            #expect(encoded.status == .ok && Array(encoded.body.readableBytesView) == fetched1.body)
        }
    }
}

/// A topology source a test controls: it answers every heartbeat with ``topology`` and keeps the last heartbeat.
final class TopologyFeed: Sendable {
    private let state: Mutex<(topology: Topology, heartbeat: NodeHeartbeat?)>

    init(_ topology: Topology) { state = Mutex((topology, nil)) }

    var topology: Topology {
        get { state.withLock { $0.topology } }
        set { state.withLock { $0.topology = newValue } }
    }

    var lastHeartbeat: NodeHeartbeat? { state.withLock { $0.heartbeat } }

    /// Changes the topology and bumps its version in one step, so a concurrent ISR change is never lost.
    func update(_ change: (inout Topology) -> Void) {
        state.withLock { state in
            change(&state.topology)
            state.topology.version += 1
        }
    }

    var source: HeartbeatTopologySource {
        HeartbeatTopologySource { _, heartbeat in
            self.state.withLock { state in
                state.heartbeat = heartbeat
                return state.topology
            }
        } changeISR: { change in
            // Records the change the way the controller does when leader and epoch are current.
            try self.state.withLock { state in
                guard let s = state.topology.streams.firstIndex(where: { $0.name == change.stream }),
                    let p = state.topology.streams[s].partitions.firstIndex(where: { $0.partition == change.partition }),
                    state.topology.streams[s].partitions[p].leader == change.leader,
                    state.topology.streams[s].partitions[p].epoch == change.epoch
                else { throw ISRChangeRefused() }
                state.topology.streams[s].partitions[p].isr = change.isr
                state.topology.version += 1
                return state.topology
            }
        }
    }
}

struct ISRChangeRefused: Error {}

/// A storage node running in a ServiceGroup for the duration of a test body, then shut down gracefully.
struct RunningNode {
    let node: StorageNode
    let address: ServerAddress

    static func with(
        directory: TemporaryDirectory, topology: Topology, maxBatchBytes: Int = 32 * 1024 * 1024,
        _ body: (RunningNode) async throws -> Void
    ) async throws {
        try await with(directory: directory, feed: TopologyFeed(topology), maxBatchBytes: maxBatchBytes, body)
    }

    static func with(
        directory: TemporaryDirectory, feed: TopologyFeed, maxBatchBytes: Int = 32 * 1024 * 1024,
        _ body: (RunningNode) async throws -> Void
    ) async throws {
        let configuration = StorageNodeConfiguration(
            nodeID: "storage-0", listen: ServerAddress(host: "127.0.0.1", port: 0), dataDirectory: directory.path,
            heartbeatInterval: .milliseconds(20), segmentBytes: 512, maxBatchBytes: maxBatchBytes)
        let node = StorageNode(configuration: configuration, topologySource: feed.source, logger: quietLogger)
        let group = ServiceGroup(configuration: .init(services: [node], logger: quietLogger))
        let running = Task { try await group.run() }
        do {
            let address = try await node.listeningAddress()
            #expect(address.port != 0)
            try await body(RunningNode(node: node, address: address))
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        // A graceful shutdown is a normal return, not an error.
        try await running.value
    }

    func waitUntilLeading(_ peer: Peer, stream: String = "events", partition: Int) async throws {
        try await eventually("partition \(partition) of \(stream) is led here") {
            let response = try await peer.send(.get, "/internal/v1/streams/\(stream)/partitions/\(partition)/state")
            guard response.status == .ok else { return false }
            return try peer.json(response)["role"] as? String == "leader"
        }
    }
}

/// The gateway's side of the internal API, over h2c.
struct Peer {
    let client: InternalClient
    let address: ServerAddress

    func send(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: [UInt8]? = nil
    ) async throws -> InternalResponse {
        let request = InternalRequest(
            method: method, path: path, headerFields: headers, body: body.map { ByteBuffer(bytes: $0) })
        return try await client.execute(request, to: address.description, timeout: .seconds(30))
    }

    func send(_ method: HTTPRequest.Method, _ path: String, json: String) async throws -> InternalResponse {
        try await send(method, path, headers: [.contentType: "application/json"], body: Array(json.utf8))
    }

    func append(_ batch: [UInt8], stream: String = "events", partition: Int, epoch: Int32) async throws
        -> InternalResponse
    {
        try await send(
            .post, "/internal/v1/streams/\(stream)/partitions/\(partition)/records",
            headers: [
                .contentType: "application/vnd.hadron.record-batch", HTTPField.Name("hadron-epoch")!: String(epoch),
            ],
            body: batch)
    }

    func fetch(stream: String = "events", partition: Int, offset: Int64, wait: Int = 0) async throws
        -> InternalResponse
    {
        try await send(
            .get,
            "/internal/v1/streams/\(stream)/partitions/\(partition)/records"
                + "?offset=\(offset)&maxBytes=1048576&wait=\(wait)",
            headers: [HTTPField.Name("hadron-epoch")!: "1"])
    }

    func state(partition: Int) async throws -> [String: Any] {
        try json(try await send(.get, "/internal/v1/streams/events/partitions/\(partition)/state"))
    }

    func json(_ response: InternalResponse) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }
}
