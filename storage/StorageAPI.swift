import Foundation
import HTTPTypes
import HadronHTTP
import Hummingbird
import NIOCore

/// The storage node's internal HTTP API (docs/internal-api.md, storage node section): record appends and fetches,
/// partition state and consumer groups, for gateways now and followers with replication.
///
/// Handlers read top to bottom: find the replica, parse the request, call it, encode the answer. Refusals are
/// ``ReplicaError``s that ``ReplicaErrorMiddleware`` turns into problem+json, so the replica stays free of HTTP.
struct StorageAPI: Sendable {
    static let recordBatchContentType = "application/vnd.hadron.record-batch"
    /// Lease, ack and nack bodies are a few dozen bytes of JSON.
    private static let maxControlBodyBytes = 64 * 1024
    private static let defaultLeaseEvents: Int64 = 100
    private static let maxLeaseEvents: Int64 = 100_000
    private static let defaultLeaseDuration = Duration.seconds(30)

    let nodeID: String
    let replicas: HostedReplicas
    let configuration: StorageNodeConfiguration

    var records: RecordRoutes { RecordRoutes(nodeID: nodeID, replicas: replicas, configuration: configuration) }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ReplicaErrorMiddleware())
        router.get("/healthz") { _, _ in Response(status: .ok) }
        let partition = router.group("/internal/v1/streams/:stream/partitions/:partition")
        partition.post("records") { request, context in try await append(request, context) }
        partition.get("records") { request, context in try await fetch(request, context) }
        partition.get("state") { _, context in try await state(context) }
        partition.get("epochs/:epoch") { request, context in try await epochEnd(request, context) }
        partition.get("groups") { request, context in try await committedOffsets(request, context) }
        partition.get("groups/:group") { request, context in try await committedOffset(request, context) }
        partition.post("groups/:group/lease") { request, context in try await lease(request, context) }
        partition.post("groups/:group/ack") { request, context in try await acknowledge(request, context) }
        partition.post("groups/:group/nack") { request, context in try await reject(request, context) }
        return router
    }

    // MARK: - Records

    private func append(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (stream, partition) = try Self.target(context)
        let body = try await collect(request, upTo: configuration.maxBatchBytes, what: "a record batch")
        return Self.response(
            try await records.append(
                stream: stream, partition: partition, fields: request.headers, body: body))
    }

    private func fetch(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (stream, partition) = try Self.target(context)
        return Self.response(
            try await records.fetch(stream: stream, partition: partition, query: request.uri, fields: request.headers))
    }

    private static func response(_ answer: RecordRoutes.Answer) -> Response {
        Response(status: .ok, headers: answer.fields, body: .init(byteBuffer: answer.body))
    }

    private func state(_ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        let status = await replica.status()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Self.json(ByteBuffer(bytes: try encoder.encode(status)))
    }

    /// `GET …/epochs/{epoch}`: the leader's OffsetsForLeaderEpoch answer for a follower's truncation.
    private func epochEnd(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        guard let requested = context.parameters.get("epoch", as: Int32.self), requested >= 0 else {
            throw ProblemDetails(.badRequest, "the epoch in the path must be a non-negative integer")
        }
        guard let epoch = try Self.epoch(request) else {
            throw ProblemDetails(.badRequest, "an epoch query must carry the hadron-epoch header")
        }
        let answer = try await replica.epochEnd(for: requested, callerEpoch: epoch)
        return Self.json("{\"epoch\":\(answer.epoch),\"endOffset\":\(answer.endOffset)}")
    }

    // MARK: - Consumer groups

    private struct LeaseRequest: Decodable {
        var max: Int64?
        var leaseMs: Int64?
    }

    private struct DeliveryRequest: Decodable {
        var delivery: String
        var backoffMs: Int64?
    }

    private func lease(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        let group = try Self.group(context)
        let body = try await decode(LeaseRequest.self, from: request, allowEmpty: true) ?? LeaseRequest()
        let maxEvents = body.max ?? Self.defaultLeaseEvents
        guard (1...Self.maxLeaseEvents).contains(maxEvents) else {
            throw ProblemDetails(.badRequest, "max must be between 1 and \(Self.maxLeaseEvents), got \(maxEvents)")
        }
        if let leaseMs = body.leaseMs, leaseMs <= 0 {
            throw ProblemDetails(.badRequest, "leaseMs must be positive, got \(leaseMs)")
        }
        let duration = body.leaseMs.map { Duration.milliseconds($0) } ?? Self.defaultLeaseDuration
        guard
            let delivery = try await replica.lease(
                group: group, maxEvents: maxEvents, duration: duration, callerEpoch: try Self.epoch(request))
        else { return Response(status: .noContent) }
        var headers: HTTPFields = [.contentType: Self.recordBatchContentType]
        headers[.hadronDelivery] = delivery.id
        headers[.hadronFirstOffset] = String(delivery.first)
        headers[.hadronLastOffset] = String(delivery.last)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: delivery.bytes)))
    }

    private func acknowledge(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        let group = try Self.group(context)
        guard let body = try await decode(DeliveryRequest.self, from: request, allowEmpty: false) else {
            throw ProblemDetails(.badRequest, "an ack names its delivery: {\"delivery\":\"ID\"}")
        }
        try await replica.acknowledge(group: group, delivery: body.delivery, callerEpoch: try Self.epoch(request))
        return Response(status: .noContent)
    }

    private func reject(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        let group = try Self.group(context)
        guard let body = try await decode(DeliveryRequest.self, from: request, allowEmpty: false) else {
            throw ProblemDetails(.badRequest, "a nack names its delivery: {\"delivery\":\"ID\"}")
        }
        if let backoff = body.backoffMs, backoff < 0 {
            throw ProblemDetails(.badRequest, "backoffMs must not be negative, got \(backoff)")
        }
        try await replica.reject(
            group: group, delivery: body.delivery, backoff: body.backoffMs.map { .milliseconds($0) },
            callerEpoch: try Self.epoch(request))
        return Response(status: .noContent)
    }

    /// `GET …/groups`: every group's committed offset, for followers that keep a copy.
    private func committedOffsets(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        guard let epoch = try Self.epoch(request) else {
            throw ProblemDetails(.badRequest, "a group offsets query must carry the hadron-epoch header")
        }
        let offsets = try await replica.committedOffsets(callerEpoch: epoch)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Self.json(ByteBuffer(bytes: try encoder.encode(["groups": offsets])))
    }

    private func committedOffset(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let replica = try replica(context)
        let offset = try await replica.committedOffset(
            group: try Self.group(context), callerEpoch: try Self.epoch(request))
        return Self.json("{\"committedOffset\":\(offset)}")
    }

    // MARK: - Parsing

    /// The replica named by the path, or a 421 that tells the caller what the last topology said about it.
    private func replica(_ context: BasicRequestContext) throws -> PartitionReplica {
        let (stream, partition) = try Self.target(context)
        return try records.replica(stream: stream, partition: partition)
    }

    private static func target(_ context: BasicRequestContext) throws -> (stream: String, partition: String) {
        (try pathParameter("stream", context), try pathParameter("partition", context))
    }

    private static func group(_ context: BasicRequestContext) throws -> String {
        let group = try pathParameter("group", context)
        guard !group.isEmpty else { throw ProblemDetails(.badRequest, "the consumer group name is empty") }
        return group
    }

    /// A path parameter, percent-decoded (the router matches the raw path).
    private static func pathParameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        // Stream names and partition numbers never need decoding; Foundation's decoder cost 2% of an append.
        if let raw = context.parameters.get(name), !raw.utf8.contains(UInt8(ascii: "%")) { return raw }
        guard let raw = context.parameters.get(name), let decoded = raw.removingPercentEncoding else {
            throw ProblemDetails(.badRequest, "the path parameter \(name) is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    /// The caller's `hadron-epoch`, nil when it sent none.
    private static func epoch(_ request: Request) throws -> Int32? {
        try RecordRoutes.epoch(request.headers)
    }

    private func collect(_ request: Request, upTo limit: Int, what: String) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ProblemDetails(.contentTooLarge, "\(what) may be at most \(limit) bytes")
        }
    }

    private func decode<Body: Decodable>(_ type: Body.Type, from request: Request, allowEmpty: Bool) async throws
        -> Body?
    {
        let body = try await collect(request, upTo: Self.maxControlBodyBytes, what: "the request body")
        if body.readableBytes == 0 && allowEmpty { return nil }
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw ProblemDetails(.badRequest, "the request body is not the expected JSON: \(Self.describe(error))")
        }
    }

    /// A decoding failure in a sentence that names the field, not Swift's debug dump.
    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "the member \(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "the member \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted: "it is not valid JSON"
        default: "\(error)"
        }
    }

    private static func json(_ text: String) -> Response {
        json(ByteBuffer(string: text))
    }

    private static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}

extension HTTPField.Name {
    static let hadronHighWatermark = Self("hadron-high-watermark")!
    static let hadronLogStartOffset = Self("hadron-log-start-offset")!
    static let hadronLogEndOffset = Self("hadron-log-end-offset")!
    static let hadronDelivery = Self("hadron-delivery")!
    static let hadronFirstOffset = Self("hadron-first-offset")!
    static let hadronLastOffset = Self("hadron-last-offset")!
}
