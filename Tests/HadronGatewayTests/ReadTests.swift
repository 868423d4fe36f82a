import HadronTestSupport
import CloudEvents
import Foundation
import HadronCore
import HadronGateway
import HadronHTTP
import HTTPTypes
import NIOCore
import Testing

@Suite("Reading")
struct ReadTests {
    /// Publishes `count` events with key `key` and returns their partition.
    static func publish(_ harness: GatewayHarness, count: Int, key: String, from first: Int = 0) async throws -> Int {
        var partition = -1
        for index in first..<(first + count) {
            let response = try await harness.http1(
                .post, "/v1/streams/events", headers: binaryHeaders(id: "r\(index)", key: key),
                body: Array("\(index)".utf8))
            #expect(response.status == 202, "\(response.text)")
            partition = try acceptedPositions(response)[0].partition
        }
        return partition
    }

    @Test("offset and max select the events; past the end a long poll answers [] after wait")
    func offsetsAndLongPoll() async throws {
        try await GatewayHarness.with { harness in
            let partition = try await Self.publish(harness, count: 5, key: "k")
            let some = try await harness.read(partition: partition, offset: 1, max: 2)
            #expect(some.map(\.id) == ["r1", "r2"])
            let start = ContinuousClock.now
            let past = try await harness.http1(
                .get, "/v1/streams/events/partitions/\(partition)/events?offset=5&wait=200")
            #expect(past.status == 200)
            #expect(past.text == "[]")
            #expect(start.duration(to: .now) >= .milliseconds(200))
        }
    }

    @Test("a long poll returns as soon as an event is committed")
    func longPollWakes() async throws {
        try await GatewayHarness.with { harness in
            let partition = Partitioner.partition(forKey: "k", partitions: 3)
            async let waiting = harness.http1(
                .get, "/v1/streams/events/partitions/\(partition)/events?offset=0&wait=20000")
            try await eventually("the poll reached storage") { await harness.storage.state.fetchRequests >= 1 }
            _ = try await Self.publish(harness, count: 1, key: "k")
            let response = try await waiting
            #expect(response.status == 200)
            #expect(try JSONEventFormat.decodeBatch(response.body).map(\.id) == ["r0"])
        }
    }

    @Test("SSE: events as id P-O, Last-Event-ID resumes after it, new events arrive live")
    func serverSentEvents() async throws {
        try await GatewayHarness.with { harness in
            let partition = try await Self.publish(harness, count: 3, key: "sse")
            var fields = HTTPFields()
            fields[.accept] = "text/event-stream"
            fields[HTTPField.Name("Last-Event-ID")!] = "\(partition)-0"
            let (head, body) = try await harness.client.stream(
                InternalRequest(
                    method: .get, path: "/v1/streams/events/partitions/\(partition)/events", headerFields: fields),
                to: harness.address)
            #expect(head.status == .ok)
            #expect(head.headerFields[.contentType] == "text/event-stream")
            var parser = ServerSentEventParser()
            var received: [ServerSentEvent] = []
            var published = false
            for try await chunk in body {
                received += parser.feed(chunk)
                if received.count >= 2 && !published {
                    published = true
                    _ = try await Self.publish(harness, count: 1, key: "sse", from: 3)
                }
                if received.count >= 3 { break }
            }
            #expect(received.map(\.id) == ["\(partition)-1", "\(partition)-2", "\(partition)-3"])
            let events = try received.map { try JSONEventFormat.decode(Array($0.data.utf8)) }
            #expect(events.map(\.id) == ["r1", "r2", "r3"])
            #expect(events.map { $0.extensions["hadronoffset"] } == [.string("1"), .string("2"), .string("3")])
        }
    }

    @Test("SSE over HTTP/1.1 sends keep-alive comments while idle")
    func keepAlive() async throws {
        try await GatewayHarness.with { harness in
            try await HTTP1Connection.with(port: harness.port) { connection in
                try await connection.send(
                    .GET, "/v1/streams/events/partitions/0/events", headers: [("Accept", "text/event-stream")])
                let head = try await connection.readHead()
                #expect(head.status == 200)
                var text = ""
                while !text.contains(": keep-alive") {
                    guard let chunk = try await connection.readChunk() else { break }
                    text += String(decoding: chunk, as: UTF8.self)
                }
                #expect(text.contains(": keep-alive\n\n"))
            }
        }
    }
}
