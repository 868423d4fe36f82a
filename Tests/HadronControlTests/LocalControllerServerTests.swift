import Foundation
import HTTPTypes
import HadronControl
import HadronCore
import HadronHTTP
import Logging
import NIOCore
import Testing

/// `POST /v1/streams/{s}/partitions/{p}/isr` over real HTTP on port 0: each refusal has its status.
@Suite(.timeLimit(.minutes(2))) struct LocalControllerServerTests {
    let orders = StreamResource(name: "orders", partitions: 2, replicationFactor: 2)

    /// Runs the server on a free port with storage-0 and storage-1 registered, hands `body` its address, then stops it.
    func withServer(_ body: (LocalController, InternalClient, String) async throws -> Void) async throws {
        // The nodes heartbeat once: a long liveness timeout keeps them alive however slowly a loaded machine runs.
        let controller = LocalController(streams: [orders], livenessTimeout: .seconds(600))
        _ = await controller.heartbeat(nodeID: "storage-0", NodeHeartbeat(address: "127.0.0.1:9101", partitions: []))
        _ = await controller.heartbeat(nodeID: "storage-1", NodeHeartbeat(address: "127.0.0.1:9102", partitions: []))
        let (listening, announce) = AsyncStream<ServerAddress>.makeStream()
        let server = LocalControllerServer(
            controller: controller, host: "127.0.0.1", port: 0, logger: Logger(label: "test")
        ) { address in
            announce.yield(address)
        }
        let running = Task { try await server.run() }
        defer { running.cancel() }
        var addresses = listening.makeAsyncIterator()
        let address = try #require(await addresses.next())
        let client = InternalClient(logger: Logger(label: "test"))
        do {
            try await body(controller, client, "\(address)")
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    func post(_ client: InternalClient, _ address: String, path: String, _ change: ISRChange) async throws
        -> InternalResponse
    {
        try await client.execute(
            InternalRequest(
                method: .post, path: path, headerFields: [.contentType: "application/json"],
                body: ByteBuffer(bytes: try JSONEncoder().encode(change))),
            to: address)
    }

    @Test func recordsTheLeadersChangeAndRefusesTheRest() async throws {
        try await withServer { controller, client, address in
            let partition = await controller.current().stream(named: "orders")!.partition(0)!
            let leader = try #require(partition.leader)
            let path = "/v1/streams/orders/partitions/0/isr"

            let recorded = try await post(
                client, address, path: path,
                ISRChange(stream: "orders", partition: 0, leader: leader, epoch: partition.epoch, isr: [leader]))
            #expect(recorded.status == .ok)
            let topology = try JSONDecoder().decode(Topology.self, from: Data(recorded.body.readableBytesView))
            #expect(topology.stream(named: "orders")?.partition(0)?.isr == [leader])

            let stale = try await post(
                client, address, path: path,
                ISRChange(stream: "orders", partition: 0, leader: leader, epoch: partition.epoch - 1, isr: [leader]))
            #expect(stale.status == .conflict)
            #expect(stale.headerFields[.contentType] == "application/problem+json")

            let withoutLeader = try await post(
                client, address, path: path,
                ISRChange(
                    stream: "orders", partition: 0, leader: leader, epoch: partition.epoch,
                    isr: partition.replicas.filter { $0 != leader }))
            #expect(withoutLeader.status == .badRequest)

            let otherPartition = try await post(
                client, address, path: "/v1/streams/orders/partitions/1/isr",
                ISRChange(stream: "orders", partition: 0, leader: leader, epoch: partition.epoch, isr: [leader]))
            #expect(otherPartition.status == .badRequest)

            let unknown = try await post(
                client, address, path: "/v1/streams/nope/partitions/0/isr",
                ISRChange(stream: "nope", partition: 0, leader: leader, epoch: partition.epoch, isr: [leader]))
            #expect(unknown.status == .notFound)

            // None of the refusals changed what was recorded.
            #expect(await controller.current().stream(named: "orders")?.partition(0)?.isr == [leader])
        }
    }
}
