import CloudEvents
import Foundation
import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `POST /v1/streams/{stream}`: validates a request's events as a whole, maps each to its partition and hands each
/// partition's share to that partition's ``PartitionWriter``; answers 202 once every share is stored.
///
/// Nothing is written before everything is validated, so bad input never stores anything (DESIGN.md §3).
struct PublishHandler: Sendable {
    /// Extensions only the gateway sets, on reads.
    static let reservedExtensions = ["hadronpartition", "hadronoffset"]

    let view: TopologyView
    let writers: PartitionWriters
    let maxEventBytes: Int
    let maxRequestBytes: Int
    /// Keyless events of one request go to one partition; the next request's to the next (Kafka's sticky
    /// partitioner, rotated per request batch). Shared, so concurrent requests spread over partitions.
    let sticky: StickyCounter

    /// Answers the request; `received` is set to the body size read, for the bytes-in metric.
    func publish(_ request: Request, stream name: String, received: inout Int) async throws(ProblemDetails) -> Response
    {
        guard let snapshot = view.snapshot else {
            throw ProblemDetails(.serviceUnavailable, "the gateway has no topology yet", headers: [.retryAfter: "1"])
        }
        guard let stream = snapshot.streams[name] else {
            throw ProblemDetails(.notFound, "stream \(name) does not exist")
        }
        let body = try await readBody(request)
        received = body.count
        let events: [CloudEvent]
        do {
            events = try HTTPBinding.decode(fields: request.headers, body: body).events
        } catch {
            throw ProblemDetails(error.isUnsupportedMediaType ? .unsupportedMediaType : .badRequest, error.description)
        }
        let isBatch = events.count != 1 || HTTPBinding.isBatch(request.headers)
        var sizes = [Int](repeating: 0, count: events.count)
        for (index, event) in events.enumerated() {
            let prefix = isBatch ? "event \(index) of the batch: " : ""
            for reserved in Self.reservedExtensions where event.extensions[reserved] != nil {
                throw ProblemDetails(
                    .badRequest, "\(prefix)attribute '\(reserved)': is reserved for Hadron, which adds it on reads")
            }
            sizes[index] = Self.size(of: event)
            if sizes[index] > maxEventBytes {
                throw ProblemDetails(
                    .contentTooLarge,
                    "\(prefix)the event is \(sizes[index]) bytes, over the limit of \(maxEventBytes) bytes per event "
                        + "(data plus attribute names and values)")
            }
        }
        guard !events.isEmpty else { return accepted(partitions: [], offsets: []) }
        guard stream.partitionCount > 0 else {
            throw ProblemDetails(
                .serviceUnavailable, "stream \(name) has no partitions yet", headers: [.retryAfter: "1"])
        }

        let sticky = StickyPartition(start: self.sticky.next())
        let partitions = events.map {
            Partitioner.partition(for: $0, partitions: stream.partitionCount, sticky: sticky)
        }
        let receiveTime = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))

        // The common case, one partition: no grouping, no child tasks.
        if partitions.allSatisfy({ $0 == partitions[0] }) {
            let writer = writers.writer(stream: name, partition: partitions[0])
            switch await writer.append(events, receiveTime: receiveTime, bytes: sizes.reduce(0, +)) {
            case .stored(let baseOffset):
                return accepted(partitions: partitions, offsets: events.indices.map { baseOffset + Int64($0) })
            case .failed(let problem):
                throw problem
            }
        }

        var shares: [Int: [Int]] = [:]
        for (index, partition) in partitions.enumerated() { shares[partition, default: []].append(index) }
        let outcomes = await withTaskGroup(of: (Int, AppendOutcome).self) { group in
            for (partition, indices) in shares {
                let writer = writers.writer(stream: name, partition: partition)
                let share = indices.map { events[$0] }
                let bytes = indices.reduce(0) { $0 + sizes[$1] }
                group.addTask { (partition, await writer.append(share, receiveTime: receiveTime, bytes: bytes)) }
            }
            var outcomes: [Int: AppendOutcome] = [:]
            for await (partition, outcome) in group { outcomes[partition] = outcome }
            return outcomes
        }
        var offsets = [Int64](repeating: -1, count: events.count)
        var failures: [Int: ProblemDetails] = [:]
        for (partition, indices) in shares {
            switch outcomes[partition]! {
            case .stored(let baseOffset):
                for (position, index) in indices.enumerated() { offsets[index] = baseOffset + Int64(position) }
            case .failed(let problem):
                failures[partition] = problem
            }
        }
        guard !failures.isEmpty else { return accepted(partitions: partitions, offsets: offsets) }
        throw partialFailure(partitions: partitions, offsets: offsets, failures: failures)
    }

    /// The body, refusing more than `maxRequestBytes` before reading it when the length is declared.
    private func readBody(_ request: Request) async throws(ProblemDetails) -> [UInt8] {
        let tooLarge = ProblemDetails(
            .contentTooLarge, "the request body is over the limit of \(maxRequestBytes) bytes per request")
        if let declared = request.headers[.contentLength], let length = Int(declared), length > maxRequestBytes {
            throw tooLarge
        }
        do {
            let buffer = try await request.body.collect(upTo: maxRequestBytes)
            return [UInt8](buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw ProblemDetails(.badRequest, "the request body could not be read: \(error)")
        }
    }

    private func accepted(partitions: [Int], offsets: [Int64]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .accepted, headers: headers,
            body: .init(byteBuffer: ResponseBodies.accepted(partitions: partitions, offsets: offsets)))
    }

    /// Some partitions stored their share and some could not: 503 listing, per event in request order, where it
    /// was stored or why not. With every partition failing the same way, that failure is the answer.
    private func partialFailure(partitions: [Int], offsets: [Int64], failures: [Int: ProblemDetails]) -> ProblemDetails
    {
        let first = failures.values.first!
        if offsets.allSatisfy({ $0 < 0 }), failures.values.allSatisfy({ $0.status == first.status }) {
            return first
        }
        let events: [ProblemValue] = partitions.indices.map { index in
            if let failure = failures[partitions[index]] {
                return .object(["partition": .integer(Int64(partitions[index])), "error": .string(failure.detail)])
            }
            return .object(["partition": .integer(Int64(partitions[index])), "offset": .integer(offsets[index])])
        }
        let failed = failures.keys.sorted().map(String.init).joined(separator: ", ")
        let retryAfter = failures.values.compactMap { $0.headers[.retryAfter] }.first ?? "1"
        return ProblemDetails(
            .serviceUnavailable,
            "partitions \(failed) could not take writes; the events listed with an offset are stored: \(first.detail)",
            members: ["events": .array(events)], headers: [.retryAfter: retryAfter])
    }

    /// An event's size for the per-event limit: its data plus the UTF-8 names and canonical values of its
    /// attributes. It is what the record holds, short of a few bytes of framing, and cheap to compute.
    static func size(of event: CloudEvent) -> Int {
        var size = event.data?.count ?? 0
        size += 11 + event.specversion.utf8.count
        size += 2 + event.id.utf8.count
        size += 6 + event.source.text.utf8.count
        size += 4 + event.type.utf8.count
        if let value = event.datacontenttype { size += 15 + value.utf8.count }
        if let value = event.dataschema { size += 10 + value.text.utf8.count }
        if let value = event.subject { size += 7 + value.utf8.count }
        if let value = event.time { size += 4 + value.text.utf8.count }
        for (name, value) in event.extensions {
            size += name.utf8.count
            switch value {
            case .string(let text): size += text.utf8.count
            case .binary(let bytes): size += bytes.count
            default: size += value.canonicalString.utf8.count
            }
        }
        return size
    }
}

extension HTTPBinding {
    /// Whether the request is in batched mode, so errors name the event's index even for a batch of one.
    static func isBatch(_ fields: HTTPFields) -> Bool {
        guard let contentType = fields[.contentType] else { return false }
        return (try? mode(contentType: contentType)) == .batch
    }
}

/// The gateway-wide position of the sticky partition; requests take turns, starting at a random partition so
/// that gateways started together do not all begin on partition 0.
final class StickyCounter: Sendable {
    private let position = Atomic<UInt64>(UInt64.random(in: 0..<1024))

    func next() -> UInt64 {
        position.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
