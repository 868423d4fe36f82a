import Foundation
@testable import HadronGateway
import HadronTestSupport
import HTTPTypes
import Testing

/// Plain HTTP/1.1 publishes are read from the connection's bytes in front of NIO's decoder (`HTTP1PublishFastPath`);
/// these tests hold that reading to the bytes as sent, and its hand-over to the standard pipeline to the answers
/// that pipeline gives.
@Suite("Publishing from the bytes of an HTTP/1.1 connection")
struct PublishFastPathTests {
    static let body = Array(#"{"n":1}"#.utf8)

    static func publish(id: String, path: String = "/v1/streams/events", extra: [(String, String)] = []) -> [UInt8] {
        RawHTTP1Connection.request("POST", path, headers: binaryHeaders(id: id, key: "k") + extra, body: body)
    }

    /// A problem's detail, or the whole body of any other answer.
    static func detail(_ response: TestResponse) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return object?["detail"] as? String ?? response.text
    }

    static let healthCheck = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)

    @Test("a publish split anywhere, down to single bytes, is read whole and stored once")
    func splitAnywhere() async throws {
        try await GatewayHarness.with { harness in
            var partitions: Set<Int> = []
            for (index, size) in [1, 2, 7, 40].enumerated() {
                let response = try await RawHTTP1Connection.with(port: harness.port) { connection in
                    try await connection.write(Self.publish(id: "split-\(index)"), inPiecesOf: size)
                    return try await connection.readResponse()
                }
                let accepted = try #require(response, "pieces of \(size): closed")
                #expect(accepted.status == 202, "pieces of \(size): \(accepted.text)")
                let positions = try acceptedPositions(accepted)
                #expect(positions.map(\.offset) == [Int64(index)])
                partitions.formUnion(positions.map(\.partition))
            }
            #expect(partitions.count == 1)
            let stored = try await harness.storage.state.events(stream: "events", partition: partitions.first!)
            #expect(stored.map(\.event.id) == ["split-0", "split-1", "split-2", "split-3"])
            #expect(stored.allSatisfy { $0.event.data == Self.body })
        }
    }

    @Test("publishes written in one go are each answered, in order, and header values lose their outer whitespace")
    func pipelined() async throws {
        try await GatewayHarness.with { harness in
            let responses = try await RawHTTP1Connection.with(port: harness.port) { connection in
                try await connection.write(
                    Self.publish(id: "p-0") + Self.publish(id: "p-1", extra: [("X-Note", "\t padded \t")])
                        + RawHTTP1Connection.request(
                            "POST", "/v1/streams/events?ignored=1",
                            headers: [
                                ("CE-SPECVERSION", "1.0"), ("ce-id", "  p-2  "), ("ce-source", "/tests"),
                                ("ce-type", "t"), ("content-type", "application/json"), ("ce-partitionkey", "k"),
                            ], body: Self.body))
                return [try await connection.readResponse(), try await connection.readResponse(), try await connection.readResponse()]
            }
            #expect(responses.map { $0?.status } == [202, 202, 202], "\(responses.map { $0?.text })")
            #expect(try responses.map { try acceptedPositions(try #require($0))[0].offset } == [0, 1, 2])
            let partition = try acceptedPositions(try #require(responses[0]))[0].partition
            let stored = try await harness.storage.state.events(stream: "events", partition: partition)
            #expect(stored.map(\.event.id) == ["p-0", "p-1", "p-2"])
        }
    }

    @Test("a sender that ends its output after a publish still gets the 202; one that ends it mid-body stores nothing")
    func inputEnds() async throws {
        try await GatewayHarness.with { harness in
            await harness.storage.state.set(appendDelay: .milliseconds(200))
            let answered = try await RawHTTP1Connection.with(port: harness.port) { connection in
                try await connection.write(Self.publish(id: "end-1"))
                connection.finishWriting()
                return try await connection.readResponse()
            }
            #expect(answered?.status == 202, "\(answered?.text ?? "closed")")
            let cut = Self.publish(id: "end-2")
            let closed = try await RawHTTP1Connection.with(port: harness.port) { connection in
                try await connection.write(Array(cut.dropLast(3)))
                connection.finishWriting()
                return try await connection.readResponse()
            }
            #expect(closed == nil || closed!.status == 400, "\(closed?.text ?? "closed")")
            #expect(await harness.storage.state.storedBatches == 1)
        }
    }

    /// The same request bytes on a fresh connection (read from the bytes if plain) and behind a health check (which
    /// hands the connection to the standard pipeline first) get the same answer: a hand-written head reader must not
    /// take what the decoder refuses, nor read what it takes differently.
    @Test("requests on the fast path and on the standard pipeline get the same answers")
    func sameAnswersAsStandardPipeline() async throws {
        try await GatewayHarness.with { harness in
            var cases: [(String, [UInt8])] = [
                ("plain", Self.publish(id: "d-1")),
                ("no ce-id", RawHTTP1Connection.request("POST", "/v1/streams/events", headers: [("ce-specversion", "1.0"), ("ce-source", "/s"), ("ce-type", "t")], body: Self.body)),
                ("unknown stream", Self.publish(id: "d-2", path: "/v1/streams/nowhere")),
                ("stream name escaped", Self.publish(id: "d-3", path: "/v1/streams/ev%65nts")),
                ("query", Self.publish(id: "d-4", path: "/v1/streams/events?x=1")),
                ("xml", RawHTTP1Connection.request("POST", "/v1/streams/events", headers: [("Content-Type", "application/cloudevents+xml")], body: Self.body)),
                ("space before colon", Array("POST /v1/streams/events HTTP/1.1\r\nce-id : x\r\nContent-Length: 2\r\n\r\n{}".utf8)),
                ("HTTP/1.0", Array("POST /v1/streams/events HTTP/1.0\r\nce-specversion: 1.0\r\nce-id: a\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 2\r\n\r\n{}".utf8)),
                ("chunked", Array("POST /v1/streams/events HTTP/1.1\r\nce-specversion: 1.0\r\nce-id: c\r\nce-source: /s\r\nce-type: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".utf8)),
                ("trailing value whitespace", Array("POST /v1/streams/events HTTP/1.1\r\nce-specversion: 1.0 \r\nce-id: w\t\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 2\r\n\r\n{}".utf8)),
                ("lower-case method", Array("post /v1/streams/events HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}".utf8)),
                ("no length", Array("POST /v1/streams/events HTTP/1.1\r\nce-specversion: 1.0\r\nce-id: n\r\nce-source: /s\r\nce-type: t\r\n\r\n".utf8)),
                ("two lengths", Array("POST /v1/streams/events HTTP/1.1\r\nce-specversion: 1.0\r\nce-id: n\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}".utf8)),
            ]
            // Random damage inside the head's lines (never their ends, nor the Content-Length line, so every
            // request still ends where it did and nothing waits for bytes that never come).
            var random = SeededGenerator(seed: 0xFA57)
            let damage: [UInt8] = [0x20, 0x09, 0x3A, 0x00, 0x01, 0x7F, 0x80, 0xFF, 0x41, 0x7A, 0x25, 0x3F, 0x2F, 0x22, 0x28, 0x30]
            let original = Self.publish(id: "m")
            let headEnd = original.firstRange(of: Array("\r\n\r\n".utf8))!.lowerBound
            let lengthLine = original.firstRange(of: Array("Content-Length".utf8))!
            let damageable = (0..<headEnd).filter { index in
                original[index] != 0x0D && original[index] != 0x0A
                    && !(lengthLine.lowerBound..<(lengthLine.upperBound + 6)).contains(index)
            }
            for round in 0..<150 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    bytes[damageable.randomElement(using: &random)!] = damage.randomElement(using: &random)!
                }
                cases.append(("damage \(round)", bytes))
            }

            for (name, bytes) in cases {
                let fast = try await RawHTTP1Connection.with(port: harness.port) { connection in
                    try await connection.write(bytes)
                    return try await connection.readResponse()
                }
                let standard = try await RawHTTP1Connection.with(port: harness.port) { connection in
                    try await connection.write(Self.healthCheck + bytes)
                    let health = try await connection.readResponse()
                    try #require(health?.status == 200, "\(name): health check \(health?.text ?? "closed")")
                    return try await connection.readResponse()
                }
                #expect(fast?.status == standard?.status, "\(name): \(fast?.text ?? "closed") vs \(standard?.text ?? "closed")")
                if let fast, let standard, fast.status >= 400 {
                    #expect(fast.header("content-type") == standard.header("content-type"), "\(name)")
                    #expect(Self.detail(fast) == Self.detail(standard), "\(name)")
                }
                #expect((fast?.header("connection") == "close") == (standard?.header("connection") == "close"), "\(name)")
                if let fast, let standard, fast.status == 202, standard.status == 202 {
                    let stored = try await [fast, standard].asyncMap { response in
                        let position = try #require(try acceptedPositions(response).first)
                        let events = try await harness.storage.state.events(stream: "events", partition: position.partition)
                        let event = try #require(events.first { $0.offset == position.offset }).event
                        return [event.id, event.type, event.datacontenttype ?? "-", String(decoding: event.data ?? [], as: UTF8.self)]
                    }
                    #expect(stored[0] == stored[1], "\(name)")
                }
            }
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

@Suite("The head reader of plain publishes")
struct PublishHeadParserTests {
    static func parse(_ text: String) -> HTTP1PublishFastPath.Head? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer in
            HeadParser.end(of: buffer, from: 0).flatMap { HeadParser.parse(buffer, length: $0) }
        }
    }

    @Test("a plain publish head gives its stream, fields, lengths and Connection: close")
    func plainHead() throws {
        let text = "POST /v1/streams/orders.v2?x=1 HTTP/1.1\r\nHost: h\r\nCE-ID:  a b  \r\ncontent-length: 12\r\nConnection: Close\r\n\r\n"
        let head = try #require(Self.parse(text + "rest of body"))
        #expect(head.stream == "orders.v2")
        #expect(head.headLength == text.utf8.count)
        #expect(head.bodyLength == 12)
        #expect(head.close)
        #expect(head.fields[HTTPField.Name("ce-id")!] == "a b")
        // As NIO's conversion to HTTPTypes does, Host is not among the fields (it is the request's authority).
        #expect(head.fields[HTTPField.Name("host")!] == nil)
        #expect(head.fields.count == 3)
    }

    @Test("any other shape is left to the standard pipeline", arguments: [
        "GET /v1/streams/events HTTP/1.1\r\n\r\n",
        "POST /v1/streams/events/partitions/0 HTTP/1.1\r\n\r\n",
        "POST /v1/streams/ HTTP/1.1\r\n\r\n",
        "POST /v1/streams/ev%65nts HTTP/1.1\r\n\r\n",
        "POST /v1/streams/events HTTP/1.0\r\n\r\n",
        "POST /v1/streams/events  HTTP/1.1\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nContent-Length: +2\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nContent-Length: 12345678901\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nce-id : x\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\n folded: x\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nce-id: caf\u{e9}\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nce-id: a\u{1}b\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\nce-id: a\nb\r\n\r\n",
        "POST /v1/streams/events HTTP/1.1\r\n: x\r\n\r\n",
    ])
    func otherShapes(_ text: String) {
        #expect(Self.parse(text) == nil)
    }

    @Test("the end of a head is found as the bytes arrive, in pieces of any size")
    func endAcrossPieces() {
        let bytes = Array("POST /v1/streams/e HTTP/1.1\r\nA: b\r\n\r\n\r\nbody".utf8)
        let end = bytes.count - 6
        for size in 1...bytes.count {
            // As the handler searches: from three bytes before where the previous search stopped.
            var scanned = 0
            var found: Int?
            var available = 0
            while found == nil, available < bytes.count {
                available = min(available + size, bytes.count)
                found = bytes.withUnsafeBytes { all in
                    HeadParser.end(of: UnsafeRawBufferPointer(rebasing: all[0..<available]), from: max(0, scanned - 3))
                }
                scanned = available
            }
            #expect(found == end, "pieces of \(size)")
        }
    }
}
