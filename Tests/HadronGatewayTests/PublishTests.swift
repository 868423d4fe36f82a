import CloudEvents
import Foundation
import HadronCore
@testable import HadronGateway
import HadronTestSupport
import Testing

@Suite("Publishing")
struct PublishTests {
    @Test("binary mode over HTTP/1.1: 202 on the key's partition, read back with identical attributes and data")
    func binaryMode() async throws {
        try await GatewayHarness.with { harness in
            let data = Array("{\"amount\": 12.5, \"items\": [1,2]}".utf8)
            let response = try await harness.http1(
                .post, "/v1/streams/events",
                headers: binaryHeaders(id: "b-1", key: "order-7") + [("ce-note", "a b%20c")],
                body: data)
            #expect(response.status == 202, "\(response.text)")
            #expect(response.header("content-type") == "application/json")
            let expected = Partitioner.partition(forKey: "order-7", partitions: 3)
            let positions = try acceptedPositions(response)
            #expect(positions.map(\.partition) == [expected])
            #expect(positions.map(\.offset) == [0])

            let events = try await harness.read(partition: expected)
            let event = try #require(events.first)
            #expect(events.count == 1)
            #expect(event.id == "b-1")
            #expect(event.source.text == "/tests")
            #expect(event.type == "com.example.test")
            #expect(event.datacontenttype == "application/json")
            #expect(event.data == data)
            #expect(event.extensions["partitionkey"] == .string("order-7"))
            #expect(event.extensions["note"] == .string("a b c"))
            #expect(event.extensions["hadronpartition"] == .integer(Int32(expected)))
            #expect(event.extensions["hadronoffset"] == .string("0"))
        }
    }

    @Test("structured mode keeps extension types and text data")
    func structuredMode() async throws {
        try await GatewayHarness.with { harness in
            let body = """
                {"specversion":"1.0","id":"s-1","source":"urn:test","type":"t","partitionkey":42,"count":7,
                 "flag":true,"datacontenttype":"text/plain","data":"héllo\\nworld","time":"2024-05-01T10:00:00Z"}
                """
            let response = try await harness.http1(
                .post, "/v1/streams/events", headers: [("Content-Type", "application/cloudevents+json")],
                body: Array(body.utf8))
            #expect(response.status == 202, "\(response.text)")
            let partition = Partitioner.partition(forKey: "42", partitions: 3)
            #expect(try acceptedPositions(response).map(\.partition) == [partition])
            let event = try #require(try await harness.read(partition: partition).first)
            #expect(event.extensions["count"] == .integer(7))
            #expect(event.extensions["flag"] == .boolean(true))
            #expect(event.extensions["partitionkey"] == .integer(42))
            #expect(event.data == Array("héllo\nworld".utf8))
            #expect(event.time?.text == "2024-05-01T10:00:00Z")
        }
    }

    @Test("batched mode: partitions by murmur2 of each key, offsets in request order, one batch per partition")
    func batchedMode() async throws {
        try await GatewayHarness.with { harness in
            let keys = ["a", "b", "c", "a", "d", "e", "b"]
            let events = keys.enumerated().map { index, key in
                "{\"specversion\":\"1.0\",\"id\":\"e\(index)\",\"source\":\"/s\",\"type\":\"t\",\"partitionkey\":\"\(key)\",\"data\":\(index)}"
            }
            let response = try await harness.h2c(
                .post, "/v1/streams/events", headers: [("content-type", "application/cloudevents-batch+json")],
                body: Array("[\(events.joined(separator: ","))]".utf8))
            #expect(response.status == 202, "\(response.text)")
            let positions = try acceptedPositions(response)
            #expect(positions.map(\.partition) == keys.map { Partitioner.partition(forKey: $0, partitions: 3) })
            var next: [Int: Int64] = [:]
            for position in positions {
                #expect(position.offset == next[position.partition, default: 0])
                next[position.partition, default: 0] += 1
            }
            for (partition, count) in next {
                #expect(await harness.storage.state.batchCount(stream: "events", partition: partition) == 1)
                let read = try await harness.read(partition: partition)
                #expect(read.count == Int(count))
                let expectedIDs = positions.indices.filter { positions[$0].partition == partition }.map { "e\($0)" }
                #expect(read.map(\.id) == expectedIDs)
                #expect(read.map { $0.extensions["hadronoffset"] } == (0..<count).map { .string(String($0)) })
            }
        }
    }

    @Test("keyless events of one request stick to one partition; an empty batch is accepted")
    func keylessAndEmpty() async throws {
        try await GatewayHarness.with { harness in
            let batch =
                "["
                + (0..<5).map { "{\"specversion\":\"1.0\",\"id\":\"k\($0)\",\"source\":\"/s\",\"type\":\"t\"}" }
                .joined(separator: ",") + "]"
            let response = try await harness.http1(
                .post, "/v1/streams/events", headers: [("Content-Type", "application/cloudevents-batch+json")],
                body: Array(batch.utf8))
            #expect(response.status == 202, "\(response.text)")
            let positions = try acceptedPositions(response)
            #expect(Set(positions.map(\.partition)).count == 1)
            #expect(positions.map(\.offset) == [0, 1, 2, 3, 4])

            let empty = try await harness.http1(
                .post, "/v1/streams/events", headers: [("Content-Type", "application/cloudevents-batch+json")],
                body: Array("[]".utf8))
            #expect(empty.status == 202)
            #expect(empty.text == "{\"events\":[]}")
        }
    }

    @Test("many concurrent publishes to one partition share record batches")
    func coalescing() async throws {
        try await GatewayHarness.with { harness in
            // A slow append (like a flush) keeps one batch in flight while the other requests queue behind it.
            await harness.storage.state.set(appendDelay: .milliseconds(100))
            let requests = 40
            let offsets = try await Self.publishConcurrently(requests, key: "same-key", to: harness)
            #expect(offsets.sorted() == (0..<Int64(requests)).map { $0 })
            let partition = Partitioner.partition(forKey: "same-key", partitions: 3)
            let batches = await harness.storage.state.batchCount(stream: "events", partition: partition)
            #expect(batches < requests)
            #expect(await harness.storage.state.appendRequests == batches)
            // Every request's event sits at the offset it was told.
            let stored = try await harness.storage.state.events(stream: "events", partition: partition)
            #expect(stored.map(\.offset) == (0..<Int64(requests)).map { $0 })
        }
    }

    /// Batches grow only while one is in flight; they still close at the configured bounds, and a request's events
    /// are never split between batches.
    @Test(
        "coalesced record batches close at maxBatchEvents and maxBatchBytes",
        arguments: [(events: 5, bytes: 1 << 20), (events: 1000, bytes: 1)])
    func coalescingIsBounded(events maxEvents: Int, bytes maxBytes: Int) async throws {
        try await GatewayHarness.with(configure: {
            $0.maxBatchEvents = maxEvents
            $0.maxBatchBytes = maxBytes
        }) { harness in
            await harness.storage.state.set(appendDelay: .milliseconds(100))
            let requests = 30
            _ = try await Self.publishConcurrently(requests, key: "one-key", to: harness)
            let partition = Partitioner.partition(forKey: "one-key", partitions: 3)
            let counts = try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition)
            #expect(counts.reduce(0, +) == requests)
            #expect(counts.allSatisfy { $0 <= (maxBytes == 1 ? 1 : maxEvents) }, "\(counts)")
            if maxBytes > 1 { #expect(counts.contains { $0 > 1 }, "requests queued behind a slow append coalesce: \(counts)") }
        }
    }

    /// Lingering is for concurrent load: a writer whose stream's last batch gathered many requests holds its next
    /// batch open for the linger; once batches are small again, it sends at once.
    @Test("after a busy batch, a partition's next batch lingers for requests arriving together; while quiet it does not")
    func lingerFollowsLoad() async throws {
        try await GatewayHarness.with(configure: { $0.linger = .milliseconds(1) }) { harness in
            let partition = Partitioner.partition(forKey: "k", partitions: 3)
            // Quiet: a lone request goes at once, so the two requests sent together make two batches.
            await harness.storage.state.set(appendDelay: .milliseconds(50))
            try await Self.publishTogether("quiet", to: harness)
            #expect(try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition) == [1, 1])
            // Busy: twenty requests behind a slow append make batches of many, a sign of concurrent load.
            await harness.storage.state.set(appendDelay: .milliseconds(300))
            _ = try await Self.publishConcurrently(20, key: "k", to: harness)
            let busy = try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition)
            #expect(busy.last! >= StickyCounter.busyBatchSubmissions, "\(busy)")
            await harness.storage.state.set(appendDelay: .milliseconds(50))
            // The next two requests sent together now share the batch the first one opened.
            try await Self.publishTogether("busy", to: harness)
            let after = try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition)
            #expect(after.last == 2, "\(after)")
            // That batch gathered two requests only: the stream is quiet again, and a lone request goes at once.
            let lone = try await harness.http1(
                .post, "/v1/streams/events", headers: binaryHeaders(id: "lone", key: "k"), body: Array("1".utf8))
            #expect(lone.status == 202)
            #expect(try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition).last == 1)
        }
    }

    /// Writes two publishes for key `k` on two connections opened beforehand, one right after the other, and reads
    /// both answers.
    static func publishTogether(_ tag: String, to harness: GatewayHarness) async throws {
        func request(_ index: Int) -> [UInt8] {
            RawHTTP1Connection.request(
                "POST", "/v1/streams/events", headers: binaryHeaders(id: "\(tag)-\(index)", key: "k"),
                body: Array("1".utf8))
        }
        try await RawHTTP1Connection.with(port: harness.port) { first in
            try await RawHTTP1Connection.with(port: harness.port) { second in
                try await first.write(request(0))
                try await second.write(request(1))
                for connection in [first, second] {
                    let response = try await connection.readResponse()
                    #expect(response?.status == 202, "\(response?.text ?? "closed")")
                }
            }
        }
    }

    /// Keyless single events join the batch forming for the sticky partition (DESIGN.md §4, Kafka's sticky
    /// partitioner); with round-robin per request, 30 concurrent events over 3 partitions made batches of at most 10.
    @Test("concurrent keyless single events coalesce into one partition's batch")
    func keylessSingleEventsStick() async throws {
        try await GatewayHarness.with { harness in
            await harness.storage.state.set(appendDelay: .milliseconds(300))
            let requests = 30
            _ = try await Self.publishConcurrently(requests, key: nil, to: harness)
            var counts: [Int] = []
            for partition in 0..<3 {
                counts += try await harness.storage.state.batchRecordCounts(stream: "events", partition: partition)
            }
            #expect(counts.reduce(0, +) == requests)
            #expect(counts.max()! > requests / 3, "\(counts)")
        }
    }

    @Test("sequential keyless events take turns over the partitions, and so do requests in batched mode")
    func keylessRequestsTakeTurns() async throws {
        try await GatewayHarness.with { harness in
            var singles: [Int] = []
            for index in 0..<6 {
                let response = try await harness.http1(
                    .post, "/v1/streams/events", headers: binaryHeaders(id: "turn-\(index)"), body: Array("1".utf8))
                #expect(response.status == 202, "\(response.text)")
                singles.append(try #require(try acceptedPositions(response).first).partition)
            }
            // Each was sent at once (nothing in flight), which moves the sticky partition on.
            #expect(zip(singles, singles.dropFirst()).allSatisfy { ($0 + 1) % 3 == $1 }, "\(singles)")

            var batches: [Set<Int>] = []
            for request in 0..<3 {
                let events = (0..<4).map { #"{"specversion":"1.0","id":"b\#(request)-\#($0)","source":"/s","type":"t"}"# }
                let response = try await harness.http1(
                    .post, "/v1/streams/events", headers: [("Content-Type", "application/cloudevents-batch+json")],
                    body: Array("[\(events.joined(separator: ","))]".utf8))
                #expect(response.status == 202, "\(response.text)")
                batches.append(Set(try acceptedPositions(response).map(\.partition)))
            }
            #expect(batches.allSatisfy { $0.count == 1 }, "a request's keyless events share a partition: \(batches)")
            #expect(Set(batches.map { $0.first! }).count == 3, "\(batches)")
        }
    }

    /// `count` single-event publishes with the same partition key at once over h2c; each must be accepted.
    /// Returns the offsets they were told, in completion order.
    private static func publishConcurrently(_ count: Int, key: String?, to harness: GatewayHarness) async throws
        -> [Int64]
    {
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<count {
                group.addTask {
                    let response = try await harness.h2c(
                        .post, "/v1/streams/events", headers: binaryHeaders(id: "\(key ?? "keyless")-\(index)", key: key),
                        body: Array("\(index)".utf8))
                    #expect(response.status == 202, "\(response.text)")
                    return try acceptedPositions(response).first?.offset ?? -1
                }
            }
            var offsets: [Int64] = []
            for try await offset in group { offsets.append(offset) }
            return offsets
        }
    }

    @Test("a batch with one invalid event is refused whole: 400 naming the index, nothing stored")
    func batchAtomicity() async throws {
        try await GatewayHarness.with { harness in
            let batch = """
                [{"specversion":"1.0","id":"ok","source":"/s","type":"t"},
                 {"specversion":"1.0","id":"bad","source":"/s"}]
                """
            let response = try await harness.http1(
                .post, "/v1/streams/events", headers: [("Content-Type", "application/cloudevents-batch+json")],
                body: Array(batch.utf8))
            #expect(response.status == 400)
            let detail = try problem(response)["detail"] as? String ?? ""
            #expect(detail.contains("event 1"), "\(detail)")
            #expect(detail.contains("type"), "\(detail)")
            #expect(await harness.storage.state.appendRequests == 0)
            #expect(await harness.storage.state.storedBatches == 0)
        }
    }

    @Test("a leader change during a publish: the gateway follows the new epoch and the publish succeeds")
    func leaderChange() async throws {
        try await GatewayHarness.with { harness in
            await harness.storage.state.set(epoch: 2)  // the double moved on; the gateway still knows epoch 1
            async let response = harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "f1", key: "k"))
            try await eventually("the stale append was fenced") { await harness.storage.state.appendRequests >= 1 }
            harness.feed.publish(harness.topology(epoch: 2, version: 2))
            let answer = try await response
            #expect(answer.status == 202, "\(answer.text)")
            #expect(await harness.storage.state.storedBatches == 1)
        }
    }

    @Test("an append stalled on a leader is abandoned when the topology moves the partition, and sent to the new one")
    func stalledLeaderAbandoned() async throws {
        try await GatewayHarness.with(configure: { $0.storageRequestTimeout = .seconds(60) }) { harness in
            await harness.storage.state.set(appendDelay: .seconds(30))
            let start = ContinuousClock.now
            async let response = harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "s1", key: "k"))
            try await eventually("the append reached the stalled leader") {
                await harness.storage.state.appendRequests >= 1
            }
            await harness.storage.state.set(appendDelay: .zero)
            await harness.storage.state.set(epoch: 2)
            harness.feed.publish(harness.topology(epoch: 2, version: 2))
            let answer = try await response
            #expect(answer.status == 202, "\(answer.text)")
            // Without abandoning, the answer would wait for the stalled append (30 s).
            #expect(start.duration(to: .now) < .seconds(15))
            #expect(await harness.storage.state.appendRequests == 2)
        }
    }

    @Test("a partition without a leader: 503 with Retry-After once the retry window closes")
    func noLeader() async throws {
        try await GatewayHarness.with(configure: { $0.writeRetryWindow = .milliseconds(300) }) { harness in
            harness.feed.publish(harness.topology(epoch: 1, leader: false, version: 2))
            try await eventually("the gateway saw the leader go") { !harness.gateway.isReady }
            let response = try await harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "n1"))
            #expect(response.status == 503)
            #expect(response.header("retry-after") != nil)
            let detail = try problem(response)["detail"] as? String ?? ""
            #expect(detail.contains("no leader"), "\(detail)")
            let ready = try await harness.http1(.get, "/readyz")
            #expect(ready.status == 503)
        }
    }
}
