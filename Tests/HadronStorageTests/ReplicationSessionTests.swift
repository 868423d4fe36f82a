import HTTPTypes
import HadronHTTP
import NIOCore
import Testing

@testable import HadronStorage

/// Sessions: followers' fetches and gateways' appends over one long-lived HTTP/2 stream (docs/internal-api.md).
@Suite struct ReplicationSessionTests {
    private static let path = "/internal/v1/streams/events/partitions/0/replication"

    @Test func answersArriveWholeFromAnyCutOfTheBody() throws {
        let first = SessionWire.Answer(
            head: .init(status: 200, highWatermark: 7, logStartOffset: 0, logEndOffset: 9, bodyLength: 5),
            body: ByteBuffer(bytes: [1, 2, 3, 4, 5]))
        let second = SessionWire.Answer(
            head: .init(status: 409, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, bodyLength: 2),
            body: ByteBuffer(string: "{}"))
        var wire = first.head.encoded()
        wire.writeImmutableBuffer(first.body)
        wire.writeImmutableBuffer(second.head.encoded())
        wire.writeImmutableBuffer(second.body)
        let bytes = Array(wire.readableBytesView)
        for cut in 0...bytes.count {
            for secondCut in cut...bytes.count {
                var reader = SessionWire.AnswerReader()
                var answers: [SessionWire.Answer] = []
                for range in [0..<cut, cut..<secondCut, secondCut..<bytes.count] {
                    var piece = ByteBuffer(bytes: bytes[range])
                    reader.add(&piece)
                    while let answer = reader.next() { answers.append(answer) }
                }
                try #require(answers.count == 2, "cut at \(cut), \(secondCut)")
                #expect(answers[0].head == first.head && answers[0].body == first.body)
                #expect(answers[1].head == second.head && answers[1].body == second.body)
            }
        }
        var fetches = ByteBuffer()
        let fetch = SessionWire.Fetch(offset: 1 << 40, maxBytes: 4096, waitMilliseconds: 250)
        fetches.writeImmutableBuffer(fetch.encoded())
        fetches.writeBytes([0, 0, 0])
        #expect(SessionWire.Fetch.take(from: &fetches) == fetch)
        #expect(SessionWire.Fetch.take(from: &fetches) == nil)
        #expect(fetches.readableBytes == 3)
    }

    @Test func oneStreamCarriesFetchAfterFetchIncludingALongPoll() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        let leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids, minimum: 1)
        let batch = StorageTestBatch.events(3, tag: "a")
        #expect(try await leader.append(batch, partition: 0, epoch: 1).status == .ok)

        // The test stands in for storage-1, whose own fetcher keeps running beside it.
        let exchange = try await open(cluster, leader: leader, epoch: 1)
        #expect(exchange.head.status == .ok)
        var reader = SessionWire.AnswerReader()

        // A fetch whose bytes arrive in two pieces.
        let whole = SessionWire.Fetch(offset: 0, maxBytes: 1 << 20, waitMilliseconds: 0).encoded()
        exchange.send(whole.getSlice(at: 0, length: 7)!)
        exchange.send(whole.getSlice(at: 7, length: SessionWire.Fetch.size - 7)!)
        let first = try await answer(from: exchange, reader: &reader)
        #expect(first.head.status == 200)
        #expect(first.head.logEndOffset == 3)
        #expect(Array(first.body.readableBytesView) == StorageTestBatch.stamped(batch, baseOffset: 0, epoch: 1))

        // A long poll from the end is answered once the next batch is stored, well before its wait runs out.
        let waiting = ContinuousClock.now
        exchange.send(SessionWire.Fetch(offset: 3, maxBytes: 1 << 20, waitMilliseconds: 20_000).encoded())
        let next = StorageTestBatch.events(2, tag: "b")
        #expect(try await leader.append(next, partition: 0, epoch: 1).status == .ok)
        let second = try await answer(from: exchange, reader: &reader)
        #expect(second.head.status == 200)
        #expect(second.head.logEndOffset == 5)
        #expect(Array(second.body.readableBytesView) == StorageTestBatch.stamped(next, baseOffset: 3, epoch: 1))
        #expect(ContinuousClock.now - waiting < .seconds(15))

        // A long poll that nothing answers ends empty when its wait is over.
        exchange.send(SessionWire.Fetch(offset: 5, maxBytes: 1 << 20, waitMilliseconds: 50).encoded())
        let empty = try await answer(from: exchange, reader: &reader)
        #expect(empty.head.status == 200 && empty.body.readableBytes == 0 && empty.head.highWatermark == 5)
        exchange.close()
        try await cluster.stopAll()
    }

    @Test func aRefusedFetchEndsTheSessionAndBadSessionsAreRefusedWhole() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        let leader = try await cluster.lead(epoch: 2, leader: "storage-0", isr: cluster.ids, minimum: 1)

        // An older epoch is fenced by the fetch, with the status a plain fetch gets, and the leader ends the stream.
        let stale = try await open(cluster, leader: leader, epoch: 1)
        #expect(stale.head.status == .ok)
        var reader = SessionWire.AnswerReader()
        stale.send(SessionWire.Fetch(offset: 0, maxBytes: 1024, waitMilliseconds: 0).encoded())
        let fenced = try await answer(from: stale, reader: &reader)
        #expect(fenced.status == .conflict)
        #expect(ProblemDetails.member("epoch", in: fenced.body)?.integer == 2)
        #expect(try await stale.next(timeout: .seconds(10)) == nil)

        // So is a fetch past the leader's end, with the end the follower truncates to.
        let beyond = try await open(cluster, leader: leader, epoch: 2)
        beyond.send(SessionWire.Fetch(offset: 9, maxBytes: 1024, waitMilliseconds: 0).encoded())
        reader = SessionWire.AnswerReader()
        let past = try await answer(from: beyond, reader: &reader)
        #expect(past.status == .rangeNotSatisfiable)
        #expect(ProblemDetails.member("logEndOffset", in: past.body)?.integer == 0)

        // A session without a follower, without an epoch or for a partition the node does not host never opens.
        let epoch = HTTPField.Name("hadron-epoch")!
        let anonymous = try await leader.send(.post, Self.path, headers: [epoch: "2"])
        #expect(anonymous.status == .badRequest)
        let unfenced = try await leader.send(.post, "\(Self.path)?replica=storage-1")
        #expect(unfenced.status == .badRequest)
        let elsewhere = try await leader.send(
            .post, "/internal/v1/streams/events/partitions/5/replication?replica=storage-1", headers: [epoch: "2"])
        #expect(elsewhere.status == .misdirectedRequest)
        let fetched = try await leader.send(.get, "\(Self.path)?replica=storage-1", headers: [epoch: "2"])
        #expect(fetched.status == .methodNotAllowed)
        #expect(fetched.headerFields[.allow] == "POST")
        try await cluster.stopAll()
    }

    @Test func anAppendSessionStoresBatchAfterBatchAndEndsAtARefusal() async throws {
        var cluster = try await ReplicatedCluster.start(nodes: 2)
        defer { cluster.remove() }
        let leader = try await cluster.lead(epoch: 1, leader: "storage-0", isr: cluster.ids, minimum: 1)
        let session = try await openAppends(cluster, leader: leader, epoch: 1)
        #expect(session.head.status == .ok)
        var reader = SessionWire.AnswerReader()

        // The first batch arrives cut inside its length and again inside its bytes.
        let first = ByteBuffer(bytes: StorageTestBatch.events(3, tag: "a"))
        var wire = SessionWire.appendFrame(first).length
        wire.writeImmutableBuffer(first)
        session.send(wire.getSlice(at: 0, length: 2)!)
        session.send(wire.getSlice(at: 2, length: 40)!)
        session.send(wire.getSlice(at: 42, length: wire.readableBytes - 42)!)
        let stored = try await answer(from: session, reader: &reader)
        #expect(stored.status == .ok)
        #expect(String(buffer: stored.body) == #"{"baseOffset":0,"lastOffset":2}"#)

        let (length, second) = SessionWire.appendFrame(ByteBuffer(bytes: StorageTestBatch.events(2, tag: "b")))
        session.send(length, second)
        #expect(String(buffer: try await answer(from: session, reader: &reader).body) == #"{"baseOffset":3,"lastOffset":4}"#)
        #expect(try await leader.state(partition: 0)["highWatermark"] as? Int == 5)

        // A batch that fails verification is refused as the request route refuses it, and ends the session.
        let (badLength, bad) = SessionWire.appendFrame(ByteBuffer(bytes: [UInt8](repeating: 7, count: 80)))
        session.send(badLength, bad)
        #expect(try await answer(from: session, reader: &reader).status == .badRequest)
        #expect(try await session.next(timeout: .seconds(10)) == nil)

        // More than a batch may hold is refused as soon as its length arrives; an older epoch is fenced.
        let huge = try await openAppends(cluster, leader: leader, epoch: 1)
        var declared = ByteBuffer()
        declared.writeInteger(UInt32(64 * 1024 * 1024))
        huge.send(declared)
        reader = SessionWire.AnswerReader()
        #expect(try await answer(from: huge, reader: &reader).status == .contentTooLarge)
        let stale = try await openAppends(cluster, leader: leader, epoch: 0)
        let (staleLength, staleBatch) = SessionWire.appendFrame(ByteBuffer(bytes: StorageTestBatch.events(1)))
        stale.send(staleLength, staleBatch)
        reader = SessionWire.AnswerReader()
        #expect(try await answer(from: stale, reader: &reader).status == .conflict)
        #expect(try await leader.state(partition: 0)["logEndOffset"] as? Int == 5)
        try await cluster.stopAll()
    }

    /// Opens a session at `path` (replication by default, as storage-1) on the leader at `epoch`.
    private func open(
        _ cluster: ReplicatedCluster, leader: Peer, epoch: Int32, path: String = "\(Self.path)?replica=storage-1"
    ) async throws -> DuplexExchange {
        let request = InternalRequest(
            method: .post, path: path, headerFields: [HTTPField.Name("hadron-epoch")!: String(epoch)])
        return try await cluster.client.openDuplex(request, to: leader.address.description, timeout: .seconds(10))
    }

    private func openAppends(_ cluster: ReplicatedCluster, leader: Peer, epoch: Int32) async throws -> DuplexExchange {
        try await open(cluster, leader: leader, epoch: epoch, path: "/internal/v1/streams/events/partitions/0/appends")
    }

    private func answer(
        from exchange: DuplexExchange, reader: inout SessionWire.AnswerReader
    ) async throws -> SessionWire.Answer {
        while true {
            if let answer = reader.next() { return answer }
            var piece = try #require(try await exchange.next(timeout: .seconds(30)), "the session ended")
            reader.add(&piece)
        }
    }
}
