import Foundation
import HadronCore
import HadronHTTP
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(2))) struct ControllerProcessTests {
    let streams = """
        apiVersion: hadron.dev/v1alpha1
        kind: Stream
        metadata: {name: events}
        spec: {partitions: 3}
        """

    @Test func servesTopologyAndPlacesOnHeartbeat() async throws {
        let cluster = try LocalCluster()
        let (process, address) = try await cluster.controller(streams: streams)
        defer { process.killNow() }

        let before = try await topology(cluster, address)
        #expect(before.stream(named: "events")?.partitions.count == 3)
        #expect(before.stream(named: "events")?.partitions.allSatisfy { $0.state == .unavailable } == true)

        let heartbeat = #"{"address":"127.0.0.1:9999","partitions":[]}"#
        let response = try await cluster.client.execute(
            InternalRequest(
                method: .post, path: "/v1/nodes/storage-0/heartbeat", headerFields: [.contentType: "application/json"],
                body: ByteBuffer(string: heartbeat)),
            to: address)
        #expect(response.status == .ok)
        let after = try await topology(cluster, address)
        #expect(after.stream(named: "events")?.partitions.allSatisfy { $0.leader == "storage-0" && $0.state == .online } == true)
        #expect(after.nodes.map(\.address) == ["127.0.0.1:9999"])
        #expect(after.version > before.version)
    }

    @Test func refusesABadNodeIDAndABadBody() async throws {
        let cluster = try LocalCluster()
        let (process, address) = try await cluster.controller(streams: streams)
        defer { process.killNow() }
        for (path, body) in [("/v1/nodes/Not_A_Label/heartbeat", #"{"address":"a:1"}"#), ("/v1/nodes/n/heartbeat", "{")] {
            let response = try await cluster.client.execute(
                InternalRequest(method: .post, path: path, body: ByteBuffer(string: body)), to: address)
            #expect(response.status == .badRequest)
            #expect(response.headerFields[.contentType] == "application/problem+json")
        }
    }

    @Test func exitsZeroOnSIGTERM() async throws {
        let cluster = try LocalCluster()
        let (process, _) = try await cluster.controller(streams: streams)
        process.send(SIGTERM)
        #expect(await process.waitForExit() == 0)
    }

    @Test func refusesAnInvalidResourcesFile() async throws {
        let cluster = try LocalCluster()
        let process = try cluster.start(
            "controller", ["controller", "-f", try cluster.resources("kind: Stream\napiVersion: x\nmetadata: {name: s}"),
                           "--listen", "127.0.0.1:0"])
        #expect(await process.waitForExit() != 0)
        #expect(process.standardError.contains("apiVersion"))
    }

    private func topology(_ cluster: LocalCluster, _ address: String) async throws -> Topology {
        let response = try await cluster.client.execute(InternalRequest(method: .get, path: "/v1/topology"), to: address)
        #expect(response.status == .ok)
        return try JSONDecoder().decode(Topology.self, from: Data(response.body.readableBytesView))
    }
}
