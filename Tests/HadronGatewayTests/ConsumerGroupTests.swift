import HadronTestSupport
import CloudEvents
import Foundation
import HadronCore
import Testing

@Suite("Consumer groups")
struct ConsumerGroupTests {
    static let path = "/v1/streams/events/subscriptions/billing"

    static func pull(_ harness: GatewayHarness, wait: Int = 0, max: Int = 100) async throws -> (String?, [CloudEvent]) {
        let response = try await harness.http1(.get, "\(path)/events?max=\(max)&wait=\(wait)")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("content-type") == "application/cloudevents-batch+json")
        return (response.header("hadron-delivery"), try JSONEventFormat.decodeBatch(response.body))
    }

    static func settle(_ harness: GatewayHarness, _ verb: String, _ body: String) async throws -> TestResponse {
        try await harness.http1(
            .post, "\(path)/\(verb)", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    @Test("pull leases a batch, one in flight per partition; nack redelivers; ack commits; a stale ack is 409")
    func pullAckNack() async throws {
        try await GatewayHarness.with(partitions: 1) { harness in
            _ = try await ReadTests.publish(harness, count: 3, key: "g")
            let (delivery, events) = try await Self.pull(harness, max: 10)
            let first = try #require(delivery)
            #expect(first.hasPrefix("0."))
            #expect(events.map(\.id) == ["r0", "r1", "r2"])
            #expect(events.map { $0.extensions["hadronoffset"] } == [.string("0"), .string("1"), .string("2")])

            // The partition's batch is in flight: nothing more for the group.
            let (none, empty) = try await Self.pull(harness)
            #expect(none == nil)
            #expect(empty.isEmpty)

            #expect(try await Self.settle(harness, "nack", "{\"delivery\":\"\(first)\",\"backoffMs\":0}").status == 204)
            let (second, again) = try await Self.pull(harness, wait: 5000, max: 2)
            let redelivery = try #require(second)
            #expect(redelivery != first)
            #expect(again.map(\.id) == ["r0", "r1"])

            #expect(try await Self.settle(harness, "ack", "{\"delivery\":\"\(redelivery)\"}").status == 204)
            #expect(await harness.storage.state.committed(stream: "events", partition: 0, group: "billing") == 2)
            let stale = try await Self.settle(harness, "ack", "{\"delivery\":\"\(redelivery)\"}")
            #expect(stale.status == 409)
            #expect((try problem(stale)["detail"] as? String ?? "").contains("stale"))

            let (third, rest) = try await Self.pull(harness, wait: 5000)
            #expect(third != nil)
            #expect(rest.map(\.id) == ["r2"])
        }
    }

    @Test("a lease that expires is delivered again")
    func leaseExpiry() async throws {
        try await GatewayHarness.with(partitions: 1, configure: { $0.consumerLeaseDuration = .milliseconds(300) }) {
            harness in
            _ = try await ReadTests.publish(harness, count: 1, key: "x")
            let (first, events) = try await Self.pull(harness)
            #expect(events.map(\.id) == ["r0"])
            let (second, again) = try await Self.pull(harness, wait: 10_000)
            #expect(again.map(\.id) == ["r0"])
            #expect(second != nil && second != first)
            // The expired delivery can no longer be acknowledged.
            #expect(try await Self.settle(harness, "ack", "{\"delivery\":\"\(first ?? "")\"}").status == 409)
        }
    }

    @Test("an empty group pull waits, then answers []; deliveries of unknown partitions are 404")
    func emptyAndUnknown() async throws {
        try await GatewayHarness.with(partitions: 2) { harness in
            let start = ContinuousClock.now
            let (delivery, events) = try await Self.pull(harness, wait: 150)
            #expect(delivery == nil && events.isEmpty)
            #expect(start.duration(to: .now) >= .milliseconds(150))
            #expect(try await Self.settle(harness, "ack", "{\"delivery\":\"7.lease-1\"}").status == 404)
            #expect(try await Self.settle(harness, "nack", "{\"delivery\":\"0.x\",\"backoffMs\":-1}").status == 400)
            let unknown = try await harness.http1(.get, "/v1/streams/nope/subscriptions/g/events")
            #expect(unknown.status == 404)
        }
    }
}
