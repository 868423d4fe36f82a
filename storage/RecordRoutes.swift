import HTTPTypes
import HadronHTTP
import Hummingbird
import HummingbirdCore
import NIOCore

/// The record routes of the internal API, `POST` and `GET /internal/v1/streams/{stream}/partitions/{p}/records`:
/// appends from gateways and fetches from followers and gateways, free of any one HTTP server so that both the
/// Hummingbird router (``StorageAPI``) and ``RecordsChannelHandler`` answer them the same way.
///
/// Refusals are thrown as ``ReplicaError`` or ``ProblemDetails``;
/// ``ReplicaErrorMiddleware/problem(forAny:path:logger:)`` turns either into the answer on both paths.
struct RecordRoutes: Sendable {
    let nodeID: String
    let replicas: HostedReplicas
    let configuration: StorageNodeConfiguration

    /// A successful answer: `200 OK` with these fields and body.
    struct Answer: Sendable {
        var fields: HTTPFields
        var body: ByteBuffer
    }

    /// `POST …/records`: appends one producer batch as leader and answers once it is committed.
    func append(stream: String, partition: String, fields: HTTPFields, body: ByteBuffer) async throws -> Answer {
        let replica = try replica(stream: stream, partition: partition)
        guard let epoch = try Self.epoch(fields) else {
            throw ProblemDetails(.badRequest, "an append must carry the hadron-epoch header")
        }
        let result = try await replica.append(body, callerEpoch: epoch)
        return Answer(
            fields: [.contentType: "application/json"],
            body: ByteBuffer(string: "{\"baseOffset\":\(result.firstOffset),\"lastOffset\":\(result.lastOffset)}"))
    }

    /// `GET …/records?offset=…`: committed batches for a reader, or stored ones for a follower naming itself in
    /// `replica`; long-polls up to `wait` milliseconds.
    func fetch(stream: String, partition: String, query: URI, fields: HTTPFields) async throws -> Answer {
        let replica = try replica(stream: stream, partition: partition)
        let parameters = query.queryParameters
        guard let offset = parameters.get("offset", as: Int64.self), offset >= 0 else {
            throw ProblemDetails(.badRequest, "offset must be a non-negative integer")
        }
        let maxBytes = try Self.integer("maxBytes", in: parameters, default: configuration.defaultFetchBytes, minimum: 1)
        let waitMilliseconds = try Self.integer("wait", in: parameters, default: Int64(0), minimum: 0)
        let wait = min(Duration.milliseconds(waitMilliseconds), configuration.maxFetchWait)
        let result: PartitionReplica.FetchResult
        if let follower = parameters.get("replica") {
            result = try await replicate(
                replica, to: String(follower), from: offset, maxBytes: maxBytes, wait: wait, fields: fields)
        } else {
            result = try await replica.fetch(
                from: offset, maxBytes: min(maxBytes, configuration.maxFetchBytes), wait: wait,
                callerEpoch: try Self.epoch(fields))
        }
        var headers: HTTPFields = [.contentType: StorageAPI.recordBatchContentType]
        headers[.hadronHighWatermark] = String(result.highWatermark)
        headers[.hadronLogStartOffset] = String(result.logStartOffset)
        headers[.hadronLogEndOffset] = String(result.logEndOffset)
        return Answer(fields: headers, body: result.bytes)
    }

    /// A follower's replication fetch, from a request of its own or from a replication session: the batches the
    /// leader has stored from `offset`, once it records that the follower holds everything below.
    func replicate(
        _ replica: PartitionReplica, to follower: String, from offset: Int64, maxBytes: Int, wait: Duration,
        fields: HTTPFields
    ) async throws -> PartitionReplica.FetchResult {
        guard let epoch = try Self.epoch(fields) else {
            throw ProblemDetails(.badRequest, "a replication fetch must carry the hadron-epoch header")
        }
        return try await replica.replicate(
            to: follower, from: offset, maxBytes: min(maxBytes, configuration.maxFetchBytes),
            wait: min(wait, configuration.maxFetchWait), callerEpoch: epoch)
    }

    /// The replica named by the path, or a 421 that tells the caller what the last topology said about it.
    func replica(stream: String, partition partitionText: String) throws -> PartitionReplica {
        guard let partition = Int(partitionText), partition >= 0 else {
            throw ProblemDetails(.badRequest, "partition \"\(partitionText)\" is not a partition number")
        }
        if let replica = replicas.replica(stream: stream, partition: partition) { return replica }
        let leadership = replicas.leadership(stream: stream, partition: partition)
        throw ProblemDetails(
            .misdirectedRequest, "node \(nodeID) does not host partition \(partition) of stream \(stream)",
            members: [
                "epoch": .integer(Int64(leadership?.epoch ?? 0)),
                "leader": leadership?.leader.map(ProblemValue.string) ?? .null,
            ])
    }

    /// The caller's `hadron-epoch`, nil when it sent none.
    static func epoch(_ fields: HTTPFields) throws -> Int32? {
        guard let text = fields[.hadronEpoch] else { return nil }
        guard let epoch = Int32(text), epoch >= 0 else {
            throw ProblemDetails(.badRequest, "hadron-epoch \"\(text)\" is not a leader epoch")
        }
        return epoch
    }

    private static func integer<Value: FixedWidthInteger & LosslessStringConvertible>(
        _ name: String, in parameters: FlatDictionary<Substring, Substring>, default value: Value, minimum: Value
    ) throws -> Value {
        guard let text = parameters.get(name) else { return value }
        guard let parsed = Value(text), parsed >= minimum else {
            throw ProblemDetails(.badRequest, "\(name) must be an integer of at least \(minimum), got \"\(text)\"")
        }
        return parsed
    }

    /// What a path names: the records of a partition, a follower's replication session with its leader, or a
    /// gateway's append session.
    enum Resource: Sendable {
        case records
        case replication
        case appends
    }

    /// The stream, partition and resource of a records or session path (`/internal/v1/streams/{s}/partitions/{p}/
    /// records`, `…/replication` or `…/appends`, query ignored), nil for any other path or one that needs percent-decoding
    /// (left to the router, which decodes).
    static func target(ofPath path: String) -> (stream: String, partition: String, resource: Resource)? {
        let parts = path.utf8.prefix { $0 != UInt8(ascii: "?") }.split(separator: UInt8(ascii: "/"))
        guard parts.count == 7, parts[0].elementsEqual("internal".utf8), parts[1].elementsEqual("v1".utf8),
            parts[2].elementsEqual("streams".utf8), parts[4].elementsEqual("partitions".utf8),
            !parts[3].contains(UInt8(ascii: "%"))
        else { return nil }
        let resource: Resource
        if parts[6].elementsEqual("records".utf8) {
            resource = .records
        } else if parts[6].elementsEqual("replication".utf8) {
            resource = .replication
        } else if parts[6].elementsEqual("appends".utf8) {
            resource = .appends
        } else {
            return nil
        }
        return (String(decoding: parts[3], as: UTF8.self), String(decoding: parts[5], as: UTF8.self), resource)
    }
}
