import CloudEvents
import Foundation
import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// Durable consumer groups: `GET …/subscriptions/{group}/events` leases the next batch of some partition to the
/// caller, `POST …/ack` commits it, `POST …/nack` has it offered again after a backoff.
///
/// Storage keeps one leased batch per partition and group in flight, which is what keeps each partition's order;
/// the gateway only finds a partition with something to lease, trying them in rotating order so that members of a
/// group spread over the partitions. The delivery id the client gets is `{partition}.{storage's delivery id}`: the
/// gateway is stateless, so the id itself says which leader to send the ack to. It travels in the `hadron-delivery`
/// response header, so the body stays a plain CloudEvents batch.
struct SubscriptionHandler: Sendable {
    let view: TopologyView
    let leaders: LeaderClient
    let metrics: GatewayMetrics
    let leaseDuration: Duration
    let pollInterval: Duration
    let retryWindow: Duration
    let rotation: RotationCounter

    static let deliveryField = HTTPField.Name("hadron-delivery")!
    static let firstOffsetField = HTTPField.Name("hadron-first-offset")!
    static let lastOffsetField = HTTPField.Name("hadron-last-offset")!
    /// Acknowledgement bodies are a delivery id and a number.
    static let maxAcknowledgementBytes = 64 << 10

    func pull(_ request: Request, stream: String, group segment: Substring) async throws(ProblemDetails) -> Response {
        let group = try RequestParameters.group(segment)
        let max = Int(try RequestParameters.integer("max", in: request, default: 100, range: 1...10_000))
        let wait = try RequestParameters.integer("wait", in: request, default: 0, range: 0...30_000)
        let partitionCount = try partitions(of: stream)
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(wait)
        let leaseMs = Int64(leaseDuration / .milliseconds(1))
        let body = ByteBuffer(string: "{\"max\":\(max),\"leaseMs\":\(leaseMs)}")
        while true {
            var failure: ProblemDetails?
            let start = Int(rotation.next() % UInt64(partitionCount))
            for step in 0..<partitionCount {
                let partition = (start + step) % partitionCount
                do {
                    if let response = try await lease(
                        stream: stream, group: group, partition: partition, body: body, max: max)
                    {
                        return response
                    }
                } catch {
                    if error.status == .notFound { throw error }
                    failure = error
                }
            }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero || Task.isShuttingDownGracefully {
                // Nothing to lease. If every partition failed, say so rather than pretend the group is idle.
                if let failure, failure.status == .serviceUnavailable { throw failure }
                var headers = HTTPFields()
                headers[.contentType] = ResponseBodies.batchContentType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "[]")))
            }
            do {
                try await Task.sleep(for: min(pollInterval, remaining))
            } catch {
                throw ProblemDetails(.serviceUnavailable, "the request was cancelled")
            }
        }
    }

    /// One partition's lease: the response for the client, or nil when the partition has nothing for the group.
    private func lease(
        stream: String, group: String, partition: Int, body: ByteBuffer, max: Int
    ) async throws(ProblemDetails) -> Response? {
        // One attempt per round: a partition between leaders must not hold up the others; the next round retries.
        let response = try await leaders.send(
            .post, stream: stream, partition: partition, suffix: "/groups/\(group)/lease", body: body,
            contentType: "application/json", policy: .acknowledgements(window: .zero))
        switch response.status {
        case .ok:
            guard let delivery = response.headerFields[Self.deliveryField], !delivery.isEmpty,
                let first = response.headerFields[Self.firstOffsetField].flatMap(Int64.init),
                let last = response.headerFields[Self.lastOffsetField].flatMap(Int64.init), first <= last
            else {
                throw ProblemDetails(.badGateway, "storage answered a lease without its delivery headers")
            }
            let records = try StoredRecords.decode(response.body, range: first...last, limit: max)
            metrics.groupPosition(stream: stream, group: group, partition: partition, nextOffset: first)
            var headers = HTTPFields()
            headers[.contentType] = ResponseBodies.batchContentType
            headers[Self.deliveryField] = "\(partition).\(delivery)"
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ResponseBodies.batch(records, partition: partition)))
        case .noContent:
            return nil
        default:
            throw ProblemDetails.relayed(response, what: "the lease on partition \(partition)")
        }
    }

    /// `POST …/ack` and `…/nack` with `{"delivery":"P.ID"}` (a nack may add `"backoffMs":M`).
    func acknowledge(
        _ request: Request, stream: String, group segment: Substring, positive: Bool
    ) async throws(ProblemDetails) -> Response {
        let group = try RequestParameters.group(segment)
        let partitionCount = try partitions(of: stream)
        let (partition, delivery, backoff) = try await readAcknowledgement(request, positive: positive)
        guard partition < partitionCount else {
            throw ProblemDetails(.notFound, "stream \(stream) has no partition \(partition) (it has \(partitionCount))")
        }
        var writer = JSONWriter(capacity: 64)
        writer.raw("{\"delivery\":".utf8)
        writer.string(delivery)
        if let backoff { writer.raw(",\"backoffMs\":\(backoff)".utf8) }
        writer.append(UInt8(ascii: "}"))
        let verb = positive ? "ack" : "nack"
        let response = try await leaders.send(
            .post, stream: stream, partition: partition, suffix: "/groups/\(group)/\(verb)",
            body: ByteBuffer(bytes: writer.bytes), contentType: "application/json",
            policy: .acknowledgements(window: retryWindow))
        switch response.status {
        case .noContent, .ok:
            return Response(status: .noContent)
        case .conflict:
            let detail = ProblemDetails.detail(in: response.body) ?? "it is not the current lease"
            throw ProblemDetails(.conflict, "delivery \(partition).\(delivery) is stale: \(detail)")
        default:
            throw ProblemDetails.relayed(response, what: "the \(verb) on partition \(partition)")
        }
    }

    private func partitions(of stream: String) throws(ProblemDetails) -> Int {
        guard let snapshot = view.snapshot else {
            throw ProblemDetails(.serviceUnavailable, "the gateway has no topology yet", headers: [.retryAfter: "1"])
        }
        guard let route = snapshot.streams[stream] else {
            throw ProblemDetails(.notFound, "stream \(stream) does not exist")
        }
        guard route.partitionCount > 0 else {
            throw ProblemDetails(
                .serviceUnavailable, "stream \(stream) has no partitions yet", headers: [.retryAfter: "1"])
        }
        return route.partitionCount
    }

    /// The partition and storage delivery id of an acknowledgement body, and a nack's backoff.
    private func readAcknowledgement(
        _ request: Request, positive: Bool
    ) async throws(ProblemDetails) -> (partition: Int, delivery: String, backoffMs: Int64?) {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxAcknowledgementBytes)
        } catch {
            throw ProblemDetails(
                .contentTooLarge, "an acknowledgement body is at most \(Self.maxAcknowledgementBytes) bytes")
        }
        struct Acknowledgement: Decodable {
            var delivery: String
            var backoffMs: Int64?
        }
        let acknowledgement: Acknowledgement
        do {
            acknowledgement = try JSONDecoder().decode(Acknowledgement.self, from: Data(body.readableBytesView))
        } catch {
            throw ProblemDetails(
                .badRequest,
                "the body must be a JSON object with member delivery (a string)"
                    + (positive ? "" : " and optionally backoffMs (an integer of milliseconds)"))
        }
        let delivery = acknowledgement.delivery
        guard let dot = delivery.firstIndex(of: "."), let partition = Int(delivery[..<dot]), partition >= 0,
            delivery.index(after: dot) < delivery.endIndex
        else {
            throw ProblemDetails(
                .badRequest,
                "member delivery must be a delivery id from the hadron-delivery header, got \"\(delivery)\"")
        }
        let backoff = acknowledgement.backoffMs
        if let backoff {
            guard !positive else { throw ProblemDetails(.badRequest, "member backoffMs belongs to a nack, not an ack") }
            guard backoff >= 0 else { throw ProblemDetails(.badRequest, "member backoffMs must not be negative") }
        }
        return (partition, String(delivery[delivery.index(after: dot)...]), backoff)
    }
}

/// Where the next consumer-group pull starts looking; shared so that concurrent members start on different
/// partitions.
final class RotationCounter: Sendable {
    private let position = Atomic<UInt64>(0)

    func next() -> UInt64 {
        position.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
