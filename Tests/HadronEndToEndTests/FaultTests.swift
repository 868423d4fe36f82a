import CloudEvents
import Foundation
import Synchronization
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import Testing

@Suite(.serialized, .timeLimit(.minutes(5))) struct FaultTests {
    static let source = try! URIReference("/faults")

    /// A publisher records every 202 while the storage process is SIGKILLed and restarted; afterwards every
    /// acknowledged event is readable, once, at the offset it was acknowledged with.
    @Test func everyAcknowledgedEventSurvivesStorageKills() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let acknowledged = AcknowledgedEvents()
        let stop = StopFlag()
        let publishers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for publisher in 0..<4 {
                    group.addTask {
                        var sequence = 0
                        while !stop.isSet {
                            let events = (0..<3).map { index in
                                CloudEvent(
                                    id: "p\(publisher)-\(sequence)-\(index)", source: Self.source, type: "t",
                                    extensions: ["partitionkey": .string("k\(sequence % 5)")], data: Array("\(sequence)".utf8))
                            }
                            sequence += 1
                            let (fields, body) = HTTPBinding.encodeBatch(events)
                            guard let response = try? await path.publish(fields, body) else { continue }
                            if response.status == .accepted {
                                let answer = try Acknowledgement(response)
                                await acknowledged.add(zip(events, answer.events).map { ($0.id, $1) })
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        for round in 0..<3 {
            let before = await acknowledged.count
            _ = try await eventually("acknowledgements before kill \(round)") { () -> Bool? in
                await acknowledged.count > before + 30 ? true : nil
            }
            try await path.restartStorage()
        }
        let before = await acknowledged.count
        _ = try await eventually("acknowledgements after the last restart") { () -> Bool? in
            await acknowledged.count > before + 30 ? true : nil
        }
        stop.set()
        try await publishers.value

        let expected = await acknowledged.positions
        var stored: [String: [Acknowledgement.Position]] = [:]
        for partition in 0..<3 {
            for event in try await path.readAll(partition: partition) {
                stored[event.id, default: []].append(.init(partition: event.partition, offset: event.offset))
            }
        }
        for (id, position) in expected {
            #expect(stored[id] == [position], "event \(id) acknowledged at \(position), stored at \(stored[id] ?? [])")
        }
        #expect(expected.count > 120)
    }

    /// Every client error the gateway promises, from real processes, as problem+json naming the fault; nothing
    /// from a refused request is stored.
    @Test func everyClientErrorIsPreciseAndStoresNothing() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let ce: [(String, String)] = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]
        func fields(_ pairs: [(String, String)]) -> HTTPFields {
            var fields = HTTPFields()
            for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
            return fields
        }
        let valid = #"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#
        let cases: [(HTTPRequest.Method, String, [(String, String)], [UInt8], Int, String)] = [
            (.post, "/v1/streams/events", Array(ce.dropLast()), [], 400, "type"),
            (.post, "/v1/streams/events", ce + [("ce-time", "2026-11-21T10:00:60Z")], [], 400, "time"),
            (.post, "/v1/streams/events", ce + [("ce-hadronoffset", "1")], [], 400, "hadronoffset"),
            (.post, "/v1/streams/events", [("content-type", "application/json")], Array("{}".utf8), 400, "ce-"),
            (.post, "/v1/streams/events", ce + [("content-type", "application/json")], Array("{nope".utf8), 400, "JSON"),
            (.post, "/v1/streams/events", [("content-type", "application/cloudevents-batch+json")],
             Array("[\(valid),{\"specversion\":\"1.0\"}]".utf8), 400, "event 1"),
            (.post, "/v1/streams/events", [("content-type", "application/cloudevents+xml")], Array("<e/>".utf8), 415, "cloudevents+xml"),
            (.post, "/v1/streams/events", [("content-type", "application/cloudevents+json; charset=ebcdic")], Array(valid.utf8), 415, "ebcdic"),
            (.post, "/v1/streams/nope", ce, [], 404, "nope"),
            (.delete, "/v1/streams/events", [], [], 405, "DELETE"),
            (.post, "/v1/streams/events", ce, [UInt8](repeating: 0x61, count: (1 << 20) + 1), 413, "1048576"),
            (.get, "/v1/streams/events/partitions/9/events", [], [], 404, "partition 9"),
            (.get, "/v1/streams/events/partitions/0/events?max=0", [], [], 400, "max"),
            (.get, "/v1/streams/events/partitions/0/events?wait=99999999", [], [], 400, "wait"),
            (.post, "/v1/streams/events/subscriptions/g/ack", [("content-type", "application/json")], Array("{}".utf8), 400, "delivery"),
        ]
        for (method, target, headers, body, status, fragment) in cases {
            let response = try await path.request(method, target, headers: fields(headers), body: body)
            #expect(Int(response.status.code) == status, "\(method) \(target): \(String(buffer: response.body))")
            #expect(response.headerFields[.contentType] == "application/problem+json", "\(target)")
            let detail = ProblemDetails.detail(in: response.body) ?? ""
            #expect(detail.contains(fragment), "\(target) answered \(status) with detail \"\(detail)\"")
            if status == 405 { #expect(response.headerFields[.allow] != nil) }
        }
        for partition in 0..<3 { #expect(try await path.readAll(partition: partition).isEmpty) }
    }

    /// Thousands of randomly corrupted bodies and headers: never a 5xx, and the gateway stays up.
    @Test func corruptedRequestsNeverCauseServerErrors() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        var random = SeededGenerator(seed: 0x4a11)
        let structured = Array(
            #"{"specversion":"1.0","id":"x","source":"/s","type":"t","time":"2026-11-21T10:00:00Z","n":1,"data":{"a":[1,"b"]}}"#.utf8)
        let batch = Array("[".utf8) + structured + Array(",".utf8) + structured + Array("]".utf8)
        let contentTypes = [
            "application/cloudevents+json", "application/cloudevents-batch+json", "application/json", "text/plain",
            "application/cloudevents+json; charset=utf-16", "",
        ]
        let headerNames = ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-dataschema", "ce-x", "ce-Y_z"]
        var served = 0
        for round in 0..<2_000 {
            var body = round % 2 == 0 ? structured : batch
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !body.isEmpty else { break }
                let position = Int.random(in: 0..<body.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: body[position] = UInt8.random(in: 0...255, using: &random)
                case 1: body.remove(at: position)
                case 2: body.insert(UInt8.random(in: 0...255, using: &random), at: position)
                default: body = Array(body.prefix(position))
                }
            }
            var headers = HTTPFields()
            let contentType = contentTypes.randomElement(using: &random)!
            if !contentType.isEmpty { headers[.contentType] = contentType }
            for name in headerNames where Bool.random(using: &random) {
                let bytes = (0..<Int.random(in: 0..<12, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
                headers.append(HTTPField(name: HTTPField.Name(name)!, lenientValue: bytes + (Bool.random(using: &random) ? Array("%".utf8) : [])))
            }
            let response = try await path.request(.post, "/v1/streams/events", headers: headers, body: body)
            #expect(response.status.code < 500, "round \(round): \(response.status) \(String(buffer: response.body))")
            if response.status.code < 500 { served += 1 }
        }
        #expect(served == 2_000)
        #expect(path.gateway.isRunning)
        #expect(try await path.request(.get, "/healthz").status == .ok)
    }
}

/// What the publishers got a 202 for: event id → acknowledged partition and offset.
actor AcknowledgedEvents {
    private(set) var positions: [String: Acknowledgement.Position] = [:]
    var count: Int { positions.count }

    func add(_ entries: [(String, Acknowledgement.Position)]) {
        for (id, position) in entries { positions[id] = position }
    }
}

/// A flag the test sets once to stop its publishers.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
