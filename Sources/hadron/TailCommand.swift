import ArgumentParser
import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import NIOCore

/// `hadron tail STREAM`: prints the stream's events as they are committed, one JSON event per line.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Print a stream's events, one JSON event per line, as they arrive.")

    @Argument(help: "The stream.")
    var stream: String

    @Option(help: "The gateway URL.")
    var url: String = HadronEnvironment.value(forFlag: "url", default: "http://localhost:8080")

    @Option(help: "Only this partition.")
    var partition: Int?

    @Flag(help: "Start at the oldest retained event instead of the newest.")
    var fromBeginning = false

    @Option(help: "Read as a member of this consumer group (acknowledging what was printed).")
    var group: String?

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let gateway = try GatewayURL(url)
        let client = InternalClient(logger: CommandLogging.logger(label: "hadron.tail"))
        if let group {
            try await tailGroup(group, client: client, gateway: gateway)
            return
        }
        let topology = try await fetchTopology(client: client, gateway: gateway)
        guard let streamTopology = topology.stream(named: stream) else {
            throw ValidationError("the gateway knows no stream \(stream)")
        }
        let partitions = try partition.map { index in
            guard let info = streamTopology.partition(index) else {
                throw ValidationError("stream \(stream) has no partition \(index)")
            }
            return [info]
        } ?? streamTopology.partitions
        try await withThrowingTaskGroup(of: Void.self) { group in
            for info in partitions {
                let start = fromBeginning ? info.logStartOffset : info.highWatermark
                group.addTask { try await tailPartition(info.partition, from: start, client: client, gateway: gateway) }
            }
            try await group.waitForAll()
        }
    }

    private func fetchTopology(client: InternalClient, gateway: GatewayURL) async throws -> Topology {
        let response = try await client.execute(InternalRequest(method: .get, path: "/v1/topology"), to: gateway.address)
        guard response.status == .ok else { throw ValidationError("GET /v1/topology answered \(response.status.code)") }
        return try JSONDecoder().decode(Topology.self, from: Data(response.body.readableBytesView))
    }

    private func tailPartition(_ partition: Int, from start: Int64, client: InternalClient, gateway: GatewayURL) async throws {
        var offset = start
        while !Task.isCancelled {
            let path = "/v1/streams/\(stream)/partitions/\(partition)/events?offset=\(offset)&max=1000&wait=10000"
            let response = try await client.execute(InternalRequest(method: .get, path: path), to: gateway.address)
            switch response.status {
            case .ok:
                let events = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
                printLines(events)
                if let last = events.last, case .string(let text) = last.extensions["hadronoffset"], let value = Int64(text) {
                    offset = value + 1
                }
            case .rangeNotSatisfiable:
                // The retained log starts later than asked: continue from its first offset.
                guard let first = ProblemDetails.member("firstOffset", in: response.body)?.integer else {
                    throw ValidationError("partition \(partition): \(ProblemDetails.detail(in: response.body) ?? "416")")
                }
                offset = first
            default:
                throw ValidationError(
                    "partition \(partition): the gateway answered \(response.status.code): \(ProblemDetails.detail(in: response.body) ?? "")")
            }
        }
    }

    private func tailGroup(_ group: String, client: InternalClient, gateway: GatewayURL) async throws {
        while !Task.isCancelled {
            let path = "/v1/streams/\(stream)/subscriptions/\(group)/events?max=1000&wait=10000"
            let response = try await client.execute(InternalRequest(method: .get, path: path), to: gateway.address)
            guard response.status == .ok else {
                throw ValidationError("the gateway answered \(response.status.code): \(ProblemDetails.detail(in: response.body) ?? "")")
            }
            let events = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
            guard !events.isEmpty, let delivery = response.headerFields[HTTPField.Name("hadron-delivery")!] else { continue }
            printLines(events)
            let ack = try await client.execute(
                InternalRequest(
                    method: .post, path: "/v1/streams/\(stream)/subscriptions/\(group)/ack",
                    headerFields: [.contentType: "application/json"],
                    body: ByteBuffer(bytes: Array(#"{"delivery":"\#(delivery)"}"#.utf8))),
                to: gateway.address)
            guard ack.status == .noContent else {
                throw ValidationError("ack answered \(ack.status.code): \(ProblemDetails.detail(in: ack.body) ?? "")")
            }
        }
    }

    private func printLines(_ events: [CloudEvent]) {
        var output = [UInt8]()
        for event in events {
            output += JSONEventFormat.encode(event)
            output.append(0x0A)
        }
        // A reader that went away (`hadron tail … | head`) ends the tail quietly, as with any Unix filter.
        do { try FileHandle.standardOutput.write(contentsOf: Data(output)) } catch { Foundation.exit(0) }
    }
}
