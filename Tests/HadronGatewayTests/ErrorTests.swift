import Foundation
import HTTPTypes
import Testing

/// One request that must fail, and how.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var method: HTTPRequest.Method = .post
    var path = "/v1/streams/events"
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var status: Int
    /// Text the problem's `detail` must contain: the attribute, parameter or limit at fault.
    var detail: String
    var allow: String?
    var testDescription: String { name }
}

@Suite("Client errors")
struct ErrorTests {
    static let event = Array("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\"}".utf8)

    static let cases: [ErrorCase] = [
        ErrorCase(
            name: "400 missing attribute", headers: [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s")],
            status: 400, detail: "type"),
        ErrorCase(
            name: "400 invalid time", headers: binaryHeaders(id: "1") + [("ce-time", "2024-01-01T00:00:60Z")],
            status: 400, detail: "time"),
        ErrorCase(
            name: "400 not a CloudEvent", headers: [("Content-Type", "text/plain")], body: Array("hi".utf8),
            status: 400, detail: "not a CloudEvent"),
        ErrorCase(
            name: "400 reserved extension (binary)", headers: binaryHeaders(id: "1") + [("ce-hadronoffset", "5")],
            status: 400, detail: "hadronoffset"),
        ErrorCase(
            name: "400 reserved extension (batch)", headers: [("Content-Type", "application/cloudevents-batch+json")],
            body: Array(
                "[{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\",\"hadronpartition\":1}]".utf8),
            status: 400, detail: "event 0 of the batch: attribute 'hadronpartition'"),
        ErrorCase(
            name: "404 unknown stream", path: "/v1/streams/nope", headers: binaryHeaders(id: "1"), status: 404,
            detail: "nope"),
        ErrorCase(
            name: "404 unknown partition", method: .get, path: "/v1/streams/events/partitions/9/events", status: 404,
            detail: "partition 9"),
        ErrorCase(
            name: "404 unknown stream (read)", method: .get, path: "/v1/streams/nope/partitions/0/events", status: 404,
            detail: "nope"),
        ErrorCase(name: "404 unknown path", method: .get, path: "/v2/whatever", status: 404, detail: "/v2/whatever"),
        ErrorCase(
            name: "405 PUT on a stream", method: .put, headers: binaryHeaders(id: "1"), status: 405, detail: "PUT",
            allow: "POST, OPTIONS"),
        ErrorCase(
            name: "405 DELETE on partition events", method: .delete, path: "/v1/streams/events/partitions/0/events",
            status: 405, detail: "DELETE", allow: "GET"),
        ErrorCase(
            name: "413 event over the per-event limit", headers: binaryHeaders(id: "1", contentType: "text/plain"),
            body: [UInt8](repeating: 0x61, count: 2000), status: 413, detail: "1024 bytes per event"),
        ErrorCase(
            name: "413 request over the per-request limit",
            headers: [("Content-Type", "application/cloudevents-batch+json")],
            body: Array(
                ("["
                    + [String](repeating: String(decoding: event, as: UTF8.self), count: 200)
                    .joined(separator: ",") + "]").utf8),
            status: 413, detail: "8192 bytes per request"),
        ErrorCase(
            name: "415 unsupported CloudEvents format", headers: [("Content-Type", "application/cloudevents+xml")],
            body: Array("<event/>".utf8), status: 415, detail: "application/cloudevents+xml"),
        ErrorCase(
            name: "415 unknown charset", headers: [("Content-Type", "application/cloudevents+json; charset=ebcdic")],
            body: event, status: 415, detail: "ebcdic"),
        ErrorCase(
            name: "416 below the log start", method: .get, path: "/v1/streams/events/partitions/1/events?offset=2",
            status: 416, detail: "first available offset is 5"),
        ErrorCase(
            name: "400 max out of range", method: .get, path: "/v1/streams/events/partitions/0/events?max=0",
            status: 400, detail: "max"),
        ErrorCase(
            name: "400 wait out of range", method: .get, path: "/v1/streams/events/partitions/0/events?wait=30001",
            status: 400, detail: "wait"),
        ErrorCase(
            name: "400 bad partition", method: .get, path: "/v1/streams/events/partitions/x/events", status: 400,
            detail: "partition"),
        ErrorCase(
            name: "400 ack without delivery", path: "/v1/streams/events/subscriptions/g/ack",
            headers: [("Content-Type", "application/json")], body: Array("{}".utf8), status: 400, detail: "delivery"),
    ]

    @Test("every client error is problem+json naming what is wrong", arguments: cases)
    func clientError(_ errorCase: ErrorCase) async throws {
        try await GatewayHarness.with(configure: {
            $0.maxEventBytes = 1024
            $0.maxRequestBytes = 8192
        }) { harness in
            await harness.storage.state.set(logStart: 5, stream: "events", partition: 1)
            let response = try await harness.http1(
                errorCase.method, errorCase.path, headers: errorCase.headers, body: errorCase.body)
            #expect(response.status == errorCase.status, "\(response.text)")
            let members = try problem(response)
            #expect(members["status"] as? Int == errorCase.status)
            let detail = members["detail"] as? String ?? ""
            #expect(detail.contains(errorCase.detail), "detail: \(detail)")
            // Media types and paths read as written: JSON allows "\/" but nobody wants to read it.
            #expect(!response.text.contains("\\/"), "\(response.text)")
            if let allow = errorCase.allow { #expect(response.header("allow") == allow) }
            if errorCase.status == 416 { #expect(members["firstOffset"] as? Int == 5) }
            #expect(await harness.storage.state.storedBatches == 0)
        }
    }
}
