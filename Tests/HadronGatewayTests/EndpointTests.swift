import Foundation
import HadronCore
import HadronGateway
import HadronHTTP
import HTTPTypes
import Testing

@Suite("Topology, health, metrics, handshake")
struct EndpointTests {
    @Test("readyz is 503 until a topology with leaders arrives; topology is served as JSON")
    func readinessAndTopology() async throws {
        try await GatewayHarness.with(publishTopology: false) { harness in
            #expect(try await harness.http1(.get, "/healthz").status == 200)
            #expect(try await harness.http1(.get, "/readyz").status == 503)
            #expect(try await harness.http1(.get, "/v1/topology").status == 503)
            harness.feed.publish(harness.topology(epoch: 4, version: 9))
            try await eventually("ready") { try await harness.http1(.get, "/readyz").status == 200 }
            let response = try await harness.h2c(.get, "/v1/topology")
            #expect(response.status == 200)
            let topology = try JSONDecoder().decode(Topology.self, from: Data(response.body))
            #expect(topology.version == 9)
            #expect(topology.stream(named: "events")?.partitions.map(\.epoch) == [4, 4, 4])
        }
    }

    @Test("topology watch streams the current topology, then each change")
    func topologyWatch() async throws {
        try await GatewayHarness.with { harness in
            let (head, body) = try await harness.client.stream(
                InternalRequest(method: .get, path: "/v1/topology?watch=true"), to: harness.address)
            #expect(head.status == .ok)
            var parser = ServerSentEventParser()
            var versions: [Int64] = []
            for try await chunk in body {
                for event in parser.feed(chunk) {
                    #expect(event.name == "topology")
                    versions.append(try JSONDecoder().decode(Topology.self, from: Data(event.data.utf8)).version)
                    if versions == [1] { harness.feed.publish(harness.topology(epoch: 2, version: 2)) }
                }
                if versions.count >= 2 { break }
            }
            #expect(versions == [1, 2])
        }
    }

    @Test("OPTIONS answers the CloudEvents webhook handshake")
    func webhookHandshake() async throws {
        try await GatewayHarness.with { harness in
            let response = try await harness.http1(
                .options, "/v1/streams/events", headers: [("WebHook-Request-Origin", "eventemitter.example.com")])
            #expect(response.status == 200)
            #expect(response.header("allow") == "POST, OPTIONS")
            #expect(response.header("webhook-allowed-origin") == "eventemitter.example.com")
            #expect(response.header("webhook-allowed-rate") == "*")
            let anyOrigin = try await harness.http1(.options, "/v1/streams/events")
            #expect(anyOrigin.header("webhook-allowed-origin") == "*")
        }
    }

    @Test("metrics count requests by route and status, bytes, and partition end offsets")
    func metrics() async throws {
        try await GatewayHarness.with { harness in
            _ = try await ReadTests.publish(harness, count: 2, key: "m")
            _ = try await harness.http1(.get, "/v1/streams/nope/partitions/0/events")
            let text = try await harness.http1(.get, "/metrics").text
            #expect(
                text.contains("hadron_gateway_requests_total{route=\"/v1/streams/{stream}\",status=\"202\"} 2"),
                "\(text)")
            #expect(text.contains("route=\"/v1/streams/{stream}/partitions/{partition}/events\",status=\"404\""))
            #expect(text.contains("hadron_gateway_request_duration_seconds_bucket"))
            #expect(text.contains("hadron_gateway_bytes_received_total"))
            #expect(text.contains("hadron_gateway_bytes_sent_total"))
            let partition = Partitioner.partition(forKey: "m", partitions: 3)
            #expect(
                text.contains("hadron_gateway_partition_end_offset{stream=\"events\",partition=\"\(partition)\"} 2"))
        }
    }
}
