import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import Testing

@Suite(.serialized, .timeLimit(.minutes(5))) struct DataPathTests {
    static let source = try! URIReference("/e2e")

    @Test func everyModeReadsBackIdenticalAttributesAndData() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let key = ["partitionkey": AttributeValue.string("one-key")]
        let binary = CloudEvent(
            id: "b1", source: Self.source, type: "t.binary", datacontenttype: "text/plain; charset=utf-8",
            subject: "ünï", time: try Timestamp("2026-11-21T10:00:00.5+01:00"),
            extensions: key.merging(["tenant": .string("a b%c")]) { a, _ in a }, data: Array("héllo\n".utf8))
        let structured = CloudEvent(
            id: "s1", source: Self.source, type: "t.structured", datacontenttype: "application/json",
            extensions: key.merging(["n": .integer(7), "flag": .boolean(true)]) { a, _ in a },
            data: Array(#"{"a": [1, 2.5, null]}"#.utf8))
        let batch = (0..<5).map { index in
            CloudEvent(
                id: "batch-\(index)", source: Self.source, type: "t.batch", extensions: key,
                data: index == 2 ? nil : Array("\(index)".utf8))
        }

        // Binary over HTTP/1.1, structured and batch over h2c: both protocols on the gateway's one port.
        let (binaryFields, binaryBody) = HTTPBinding.encodeBinary(binary)
        let http1 = try await HTTP1Connection.request(
            port: path.gatewayPort, .POST, "/v1/streams/events",
            headers: binaryFields.map { ($0.name.rawName, $0.value) }, body: binaryBody)
        #expect(http1.status == 202, "\(http1.text)")
        let (structuredFields, structuredBody) = HTTPBinding.encodeStructured(structured)
        #expect(try await path.publish(structuredFields, structuredBody).status == .accepted)
        let (batchFields, batchBody) = HTTPBinding.encodeBatch(batch)
        let batchAnswer = try await path.publish(batchFields, batchBody)
        #expect(batchAnswer.status == .accepted)
        #expect(try Acknowledgement(batchAnswer).events.count == 5)

        let partition = Partitioner.partition(forKey: "one-key", partitions: 3)
        let stored = try await path.readAll(partition: partition)
        #expect(stored.map(\.withoutReadAttributes) == [binary, structured] + batch)
        #expect(stored.map(\.offset) == Array(0..<7))
        #expect(stored.allSatisfy { $0.partition == partition })
    }

    /// libcurl is for talking to Kubernetes; outside `--kubernetes` no tier may map it (or the TLS, LDAP and Kerberos
    /// libraries it drags in), which would cost an idle gateway about 5 MiB of its 40 MiB budget.
    @Test func processesThatDoNotTalkToKubernetesNeverLoadLibcurl() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let (fields, body) = HTTPBinding.encodeBinary(CloudEvent(id: "no-curl", source: Self.source, type: "t"))
        #expect(try await path.publish(fields, body).status == .accepted)
        for process in [path.controller, path.storage, path.gateway] {
            let maps = try String(contentsOfFile: "/proc/\(process.pid)/maps", encoding: .utf8)
            #expect(!maps.contains("libcurl"), "\(process.name) maps libcurl")
        }
    }

    @Test func partitionKeysRouteByMurmur2AndKeepOrder() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        var expected: [Int: [String]] = [:]
        for index in 0..<60 {
            let key = "customer-\(index % 7)"
            let event = CloudEvent(
                id: "k\(index)", source: Self.source, type: "t", extensions: ["partitionkey": .string(key)])
            let (fields, body) = HTTPBinding.encodeBinary(event)
            let answer = try Acknowledgement(try await path.publish(fields, body))
            let partition = Partitioner.partition(forKey: key, partitions: 3)
            #expect(answer.events.first?.partition == partition)
            expected[partition, default: []].append(event.id)
        }
        for (partition, ids) in expected {
            #expect(try await path.readAll(partition: partition).map(\.id) == ids)
        }
    }

    @Test func consumerGroupMembersShareAndRestartResumesAtTheCommittedOffset() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let events = (0..<30).map { CloudEvent(id: "g\($0)", source: Self.source, type: "t") }
        let (fields, body) = HTTPBinding.encodeBatch(events)
        #expect(try await path.publish(fields, body).status == .accepted)

        // Two members pull concurrently; the first delivery of member A is nacked and must come back.
        let group = "/v1/streams/events/subscriptions/billing"
        var acknowledged: [String] = []
        var nacked = false
        while acknowledged.count < 30 {
            async let a = path.request(.get, group + "/events?max=7&wait=2000")
            async let b = path.request(.get, group + "/events?max=7&wait=2000")
            for response in try await [a, b] {
                #expect(response.status == .ok)
                let batch = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
                guard !batch.isEmpty, let delivery = response.headerFields[HTTPField.Name("hadron-delivery")!] else {
                    continue
                }
                let verb = nacked ? "ack" : "nack"
                let answer = try await path.request(
                    .post, group + "/" + verb, headers: [.contentType: "application/json"],
                    body: Array((nacked ? #"{"delivery":"\#(delivery)"}"# : #"{"delivery":"\#(delivery)","backoffMs":10}"#).utf8))
                #expect(answer.status == .noContent, "\(verb): \(String(buffer: answer.body))")
                if nacked { acknowledged += batch.map(\.id) } else { nacked = true }
                // A second ack of the same delivery is stale.
                if verb == "ack" {
                    let again = try await path.request(
                        .post, group + "/ack", headers: [.contentType: "application/json"],
                        body: Array(#"{"delivery":"\#(delivery)"}"#.utf8))
                    #expect(again.status == .conflict)
                }
            }
        }
        #expect(Set(acknowledged) == Set(events.map(\.id)))
        #expect(acknowledged.count == 30, "an acknowledged event was delivered again")

        // Committed offsets are durable on the storage node: after kill -9 only new events arrive.
        try await path.restartStorage()
        try await path.waitUntilReady()
        let later = CloudEvent(id: "after-restart", source: Self.source, type: "t")
        let (laterFields, laterBody) = HTTPBinding.encodeBinary(later)
        #expect(try await path.publish(laterFields, laterBody).status == .accepted)
        let pulled = try await eventually("the new event from the group") { () -> [CloudEvent]? in
            let response = try await path.request(.get, group + "/events?max=100&wait=1000")
            let batch = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
            return batch.isEmpty ? nil : batch
        }
        #expect(pulled.map(\.id) == ["after-restart"])
    }

    @Test func serverSentEventsResumeFromLastEventID() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        let partition = Partitioner.partition(forKey: "sse", partitions: 3)
        let events = (0..<5).map {
            CloudEvent(id: "e\($0)", source: Self.source, type: "t", extensions: ["partitionkey": .string("sse")])
        }
        let (fields, body) = HTTPBinding.encodeBatch(events)
        #expect(try await path.publish(fields, body).status == .accepted)

        var headers: HTTPFields = [.accept: "text/event-stream"]
        headers[HTTPField.Name("last-event-id")!] = "\(partition)-2"
        let (head, stream) = try await path.cluster.client.stream(
            InternalRequest(method: .get, path: "/v1/streams/events/partitions/\(partition)/events", headerFields: headers),
            to: path.gatewayAddress)
        #expect(head.status == .ok)
        #expect(head.headerFields[.contentType]?.hasPrefix("text/event-stream") == true)

        let live = CloudEvent(id: "live", source: Self.source, type: "t", extensions: ["partitionkey": .string("sse")])
        let (liveFields, liveBody) = HTTPBinding.encodeBinary(live)
        #expect(try await path.publish(liveFields, liveBody).status == .accepted)

        var text = ""
        var received: [(id: String, event: CloudEvent)] = []
        for try await chunk in stream {
            text += String(buffer: chunk)
            while let end = text.range(of: "\n\n") {
                let message = String(text[..<end.lowerBound])
                text = String(text[end.upperBound...])
                let lines = message.split(separator: "\n")
                guard let id = lines.first(where: { $0.hasPrefix("id: ") }), let data = lines.first(where: { $0.hasPrefix("data: ") })
                else { continue }
                received.append((String(id.dropFirst(4)), try JSONEventFormat.decode(Array(data.dropFirst(6).utf8))))
            }
            if received.count >= 3 { break }
        }
        #expect(received.map(\.id) == ["\(partition)-3", "\(partition)-4", "\(partition)-5"])
        #expect(received.map(\.event.id) == ["e3", "e4", "live"])
    }
}
