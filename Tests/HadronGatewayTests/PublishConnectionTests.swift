import Foundation
import HadronTestSupport
import Testing

/// Publishes are answered on the event loop in front of Hummingbird; these tests hold that path to HTTP/1.1's
/// connection rules: answers in request order, `Connection: close`, early refusals, graceful shutdown.
@Suite("Publishing on one connection")
struct PublishConnectionTests {
    @Test("pipelined requests around a slow publish are answered in request order")
    func pipelinedInOrder() async throws {
        try await GatewayHarness.with { harness in
            await harness.storage.state.set(appendDelay: .milliseconds(300))
            let responses = try await HTTP1Connection.with(port: harness.port) { connection in
                try await connection.send(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "p-1", key: "k"), body: Array("1".utf8))
                try await connection.send(.GET, "/healthz")
                try await connection.send(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "p-2", key: "k"), body: Array("2".utf8))
                try await connection.send(.GET, "/v1/topology")
                try await connection.send(
                    .POST, "/v1/streams/nowhere", headers: binaryHeaders(id: "p-3"), body: Array("3".utf8))
                var responses: [TestResponse] = []
                for _ in 0..<5 { responses.append(try await connection.readResponse()) }
                return responses
            }
            #expect(responses.map(\.status) == [202, 200, 202, 200, 404], "\(responses.map(\.text))")
            #expect(try acceptedPositions(responses[0]).map(\.offset) == [0])
            #expect(responses[1].text == "ok\n")
            #expect(try acceptedPositions(responses[2]).map(\.offset) == [1])
            #expect(try problem(responses[4])["detail"] as? String == "stream nowhere does not exist")
        }
    }

    @Test("a publish asking for Connection: close is answered, then the connection is closed")
    func connectionClose() async throws {
        try await GatewayHarness.with { harness in
            try await HTTP1Connection.with(port: harness.port) { connection in
                try await connection.send(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "c-1") + [("Connection", "close")],
                    body: Array("{}".utf8))
                let response = try await connection.readResponse()
                #expect(response.status == 202, "\(response.text)")
                #expect(response.header("connection") == "close")
                let date = try #require(response.header("date"))
                #expect(date.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/) != nil, "\(date)")
                #expect(try await connection.isClosedByServer())
            }
        }
    }

    @Test("a declared body over the request limit is refused at its head; the connection serves the next request")
    func declaredTooLarge() async throws {
        try await GatewayHarness.with(configure: { $0.maxRequestBytes = 1024 }) { harness in
            try await HTTP1Connection.with(port: harness.port) { connection in
                let refused = try await connection.request(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "big", contentType: "text/plain"),
                    body: [UInt8](repeating: 0x61, count: 5000))
                #expect(refused.status == 413)
                #expect(try problem(refused)["detail"] as? String == "the request body is over the limit of 1024 bytes per request")
                let next = try await connection.request(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "small", key: "k"), body: Array("{}".utf8))
                #expect(next.status == 202, "\(next.text)")
            }
            #expect(await harness.storage.state.storedBatches == 1)
        }
    }

    @Test("a publish expecting 100-continue gets it before its 202; one refused at its head is answered and closed")
    func expectContinue() async throws {
        try await GatewayHarness.with { harness in
            try await HTTP1Connection.with(port: harness.port) { connection in
                try await connection.send(
                    .POST, "/v1/streams/events", headers: binaryHeaders(id: "e-1") + [("Expect", "100-continue")],
                    body: Array("{}".utf8))
                #expect(try await connection.readAnyStatus() == 100)
                let response = try await connection.readResponse()
                #expect(response.status == 202, "\(response.text)")
            }
            try await HTTP1Connection.with(port: harness.port) { connection in
                try await connection.send(
                    .POST, "/v1/streams/nowhere", headers: binaryHeaders(id: "e-2") + [("Expect", "100-continue")],
                    body: Array("{}".utf8))
                let refused = try await connection.readResponse()
                #expect(refused.status == 404)
                #expect(refused.header("connection") == "close")
                #expect(try await connection.isClosedByServer())
            }
            // Over HTTP/2 only the stream ends: no connection-specific header, which HTTP/2 forbids.
            let refused = try await harness.h2c(
                .post, "/v1/streams/nowhere", headers: binaryHeaders(id: "e-3") + [("Expect", "100-continue")],
                body: Array("{}".utf8))
            #expect(refused.status == 404, "\(refused.text)")
            #expect(refused.header("connection") == nil)
        }
    }

    @Test("graceful shutdown lets a publish waiting on storage finish with its 202")
    func shutdownWaitsForPublish() async throws {
        try await GatewayHarness.with { harness in
            await harness.storage.state.set(appendDelay: .milliseconds(500))
            let publish = Task {
                try await harness.http1(.post, "/v1/streams/events", headers: binaryHeaders(id: "s-1"), body: Array("{}".utf8))
            }
            try await eventually("the batch reached storage") { await harness.storage.state.appendRequests >= 1 }
            await harness.beginShutdown()
            let response = try await publish.value
            #expect(response.status == 202, "\(response.text)")
        }
    }
}
