import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import SegmentLog
import Testing

/// Three storage processes (`hadron storage`) replicating stream `events` (3 partitions, replicationFactor 3) behind
/// one gateway process: what the replication fault tests drive, whichever control plane the processes follow — the
/// local controller (``ReplicatedDataPath``) or the operator through the Kubernetes API (``KubernetesDataPath``).
protocol ThreeReplicaDataPath: AnyObject, Sendable {
    var cluster: LocalCluster { get }
    var gatewayAddress: String { get }
    var storage: [ChildProcess] { get }
    /// Where each storage process listens (its internal API).
    var storageAddresses: [String] { get }
    func dataDirectory(_ index: Int) -> String
    /// The node id of storage process `index`.
    func nodeID(_ index: Int) -> String
}

extension ThreeReplicaDataPath {
    static var nodes: Int { 3 }
    static var partitions: Int { 3 }

    /// The index of the storage process with node id `id`.
    func index(ofNode id: String) -> Int? { (0..<Self.nodes).first { nodeID($0) == id } }

    /// A partition key that routes to `partition` (murmur2, as the gateway picks).
    static func key(for partition: Int) -> String {
        (0...).lazy.map { "key-\($0)" }.first { Partitioner.partition(forKey: $0, partitions: Self.partitions) == partition }!
    }

    // MARK: - Requests

    func request(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: [UInt8] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> InternalResponse {
        try await cluster.client.execute(
            InternalRequest(method: method, path: path, headerFields: headers, body: ByteBuffer(bytes: body)),
            to: gatewayAddress, timeout: timeout)
    }

    func publish(_ events: [CloudEvent]) async throws -> InternalResponse {
        let (fields, body) = HTTPBinding.encodeBatch(events)
        return try await request(.post, "/v1/streams/events", headers: fields, body: body)
    }

    /// A storage node's own view of a partition (`GET …/state`), answered by leaders and followers alike.
    func state(of index: Int, partition: Int) async throws -> [String: Any] {
        let response = try await cluster.client.execute(
            InternalRequest(method: .get, path: "/internal/v1/streams/events/partitions/\(partition)/state"),
            to: storageAddresses[index], timeout: .seconds(5))
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    /// Every event of a partition, reading through the gateway until a read comes back empty.
    func readAll(partition: Int) async throws -> [CloudEvent] {
        var events: [CloudEvent] = []
        var next: Int64 = 0
        while true {
            let response = try await request(
                .get, "/v1/streams/events/partitions/\(partition)/events?offset=\(next)&max=1000")
            try #require(response.status == .ok, "read answered \(response.status): \(String(buffer: response.body))")
            let batch = try JSONEventFormat.decodeBatch(Array(response.body.readableBytesView))
            guard let last = batch.last else { return events }
            events += batch
            next = last.offset + 1
        }
    }

    /// Waits until every replica of every partition holds the same log end and high watermark, then stops the
    /// storage nodes gracefully and returns each replica's log bytes: `[partition][node]`.
    func quiesceAndReadReplicas() async throws -> [[[UInt8]]] {
        _ = try await eventually(timeout: .seconds(60), "all replicas agree") { () -> Bool? in
            for partition in 0..<Self.partitions {
                var seen = Set<String>()
                for index in 0..<Self.nodes {
                    let state = try await self.state(of: index, partition: partition)
                    seen.insert("\(state["logEndOffset"] ?? "-")/\(state["highWatermark"] ?? "-")")
                }
                if seen.count != 1 { return nil }
            }
            return true
        }
        for process in storage { process.send(SIGTERM) }
        for process in storage { _ = await process.waitForExit() }
        var result: [[[UInt8]]] = []
        for partition in 0..<Self.partitions {
            var replicas: [[UInt8]] = []
            for index in 0..<Self.nodes {
                replicas.append(try await Self.logBytes(at: dataDirectory(index) + "/events/\(partition)/log"))
            }
            result.append(replicas)
        }
        return result
    }

    static func logBytes(at path: String) async throws -> [UInt8] {
        let log = try await PartitionLog.open(directory: path, configuration: LogConfiguration(), logger: .init(label: "e2e"))
        var bytes: [UInt8] = []
        var next = log.logStartOffset
        while next < log.logEndOffset {
            let read = try log.read(from: next, maxBytes: 1 << 22)
            guard !read.bytes.isEmpty else { break }
            bytes += read.bytes
            next = read.nextOffset
        }
        try await log.close()
        return bytes
    }
}
