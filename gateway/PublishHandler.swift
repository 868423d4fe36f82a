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

    /// What a publish answers: the 202 body, or the problem that refused it.
    typealias Completion = @Sendable (Result<ByteBuffer, ProblemDetails>) -> Void

    /// The problem that refuses a publish to `name` before its body is read: no topology yet, or no such stream.
    func refusal(stream name: String) -> ProblemDetails? {
        if case .failure(let problem) = route(stream: name) { return problem }
        return nil
    }

    /// The stream's current topology, or the problem that refuses publishing to it.
    private func route(stream name: String) -> Result<TopologyView.StreamRoute, ProblemDetails> {
        guard let snapshot = view.snapshot else {
            return .failure(
                ProblemDetails(.serviceUnavailable, "the gateway has no topology yet", headers: [.retryAfter: "1"]))
        }
        guard let stream = snapshot.streams[name] else {
            return .failure(ProblemDetails(.notFound, "stream \(name) does not exist"))
        }
        return .success(stream)
    }

    /// The 413 for a body over `maxRequestBytes`.
    var requestTooLarge: ProblemDetails {
        ProblemDetails(.contentTooLarge, "the request body is over the limit of \(maxRequestBytes) bytes per request")
    }

    /// Answers the request through Hummingbird; `received` is set to the body size read, for the bytes-in metric.
    ///
    /// The gateway's own channel handler (``PublishChannelHandler``) answers most publishes on the event loop; this
    /// path serves the rest (a publish pipelined behind another request on an HTTP/1.1 connection).
    func publish(_ request: Request, stream name: String, received: inout Int) async throws(ProblemDetails) -> Response
    {
        if let refusal = refusal(stream: name) { throw refusal }
        let body = try await readBody(request)
        received = body.count
        let outcome = await withCheckedContinuation { continuation in
            publish(stream: name, fields: request.headers, body: body) { continuation.resume(returning: $0) }
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .accepted, headers: headers, body: .init(byteBuffer: try outcome.get()))
    }

    /// The answer to a publish with `outcome`, dated, for the handlers that write it themselves: 202 with the
    /// stored positions, or the problem.
    static func answer(_ outcome: Result<ByteBuffer, ProblemDetails>) -> (head: HTTPResponse, body: ByteBuffer) {
        var head: HTTPResponse
        let body: ByteBuffer
        switch outcome {
        case .success(let accepted):
            head = HTTPResponse(status: .accepted, headerFields: [.contentType: "application/json"])
            body = accepted
        case .failure(let problem):
            head = problem.responseHead
            body = ByteBuffer(bytes: problem.body)
        }
        head.headerFields[.date] = HTTPDate.shared.now
        return (head, body)
    }

    /// Validates the request's events, stores them and calls `completion` once, on a thread of the writers'
    /// choosing, with the 202 body or the problem.
    func publish(stream name: String, fields: HTTPFields, body: [UInt8], completion: @escaping Completion) {
        let request: Validated
        do {
            request = try validate(stream: name, fields: fields, body: body)
        } catch {
            return completion(.failure(error))
        }
        let (events, sizes, partitions, sticky) = (request.events, request.sizes, request.partitions, request.sticky)
        guard !events.isEmpty else { return completion(.success(ResponseBodies.accepted(partitions: [], offsets: []))) }
        let receiveTime = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))

        // The common case, one partition: no grouping, one callback.
        if partitions.allSatisfy({ $0 == partitions[0] }) {
            let writer = writers.writer(stream: name, partition: partitions[0])
            let (partition, count) = (partitions[0], events.count)
            writer.append(
                events, receiveTime: receiveTime, bytes: sizes.reduce(0, +), sticky: sticky.position(for: partition)
            ) { outcome in
                switch outcome {
                case .stored(let baseOffset):
                    let body = ResponseBodies.accepted(partition: partition, firstOffset: baseOffset, count: count)
                    completion(.success(body))
                case .failed(let problem):
                    completion(.failure(problem))
                }
            }
            return
        }

        let shares = Dictionary(grouping: partitions.indices) { partitions[$0] }
        let gathered = ShareOutcomes(expected: shares.count) { outcomes in
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
            guard failures.isEmpty else {
                return completion(
                    .failure(Self.partialFailure(partitions: partitions, offsets: offsets, failures: failures)))
            }
            completion(.success(ResponseBodies.accepted(partitions: partitions, offsets: offsets)))
        }
        for (partition, indices) in shares {
            let writer = writers.writer(stream: name, partition: partition)
            writer.append(
                indices.map { events[$0] }, receiveTime: receiveTime, bytes: indices.reduce(0) { $0 + sizes[$1] },
                sticky: sticky.position(for: partition)
            ) { gathered.record($0, for: partition) }
        }
    }

    /// A request whose events all passed validation, each with its size and partition.
    private struct Validated {
        var events: [CloudEvent]
        var sizes: [Int]
        var partitions: [Int]
        var sticky = StickyChoice(position: 0, partition: -1)
    }

    /// The sticky position keyless events were routed by, and the partition it named.
    struct StickyChoice {
        var position: UInt64
        var partition: Int

        /// The position the writer of `partition` rotates from once it sends this share (nil for other partitions).
        func position(for partition: Int) -> UInt64? {
            partition == self.partition ? position : nil
        }
    }

    /// Decodes and checks every event before anything is written, and picks each event's partition.
    private func validate(stream name: String, fields: HTTPFields, body: [UInt8]) throws(ProblemDetails) -> Validated {
        // The topology may have changed since the head was checked.
        let partitionCount = try route(stream: name).get().partitionCount
        let events: [CloudEvent]
        do {
            events = try HTTPBinding.decode(fields: fields, body: body).events
        } catch {
            throw ProblemDetails(error.isUnsupportedMediaType ? .unsupportedMediaType : .badRequest, error.description)
        }
        let isBatch = events.count != 1 || HTTPBinding.isBatch(fields)
        var sizes = [Int](repeating: 0, count: events.count)
        // Events are read in place through pointers, a field at a time: a loop variable, or an event handed to a
        // function, is a copy of the whole struct (a retain and a release per attribute).
        func prefix(_ index: Int) -> String { isBatch ? "event \(index) of the batch: " : "" }
        try events.withUnsafeBufferPointer { (events) throws(ProblemDetails) in
            for index in events.indices {
                let event = events.baseAddress! + index
                if !event.pointee.extensions.isEmpty {
                    for reserved in Self.reservedExtensions where event.pointee.extensions[reserved] != nil {
                        throw ProblemDetails(
                            .badRequest,
                            "\(prefix(index))attribute '\(reserved)': is reserved for Hadron, which adds it on reads")
                    }
                }
                sizes[index] = Self.size(of: event)
                if sizes[index] > maxEventBytes {
                    throw ProblemDetails(
                        .contentTooLarge,
                        "\(prefix(index))the event is \(sizes[index]) bytes, over the limit of \(maxEventBytes) "
                            + "bytes per event (data plus attribute names and values)")
                }
            }
        }
        guard !events.isEmpty else { return Validated(events: [], sizes: [], partitions: []) }
        guard partitionCount > 0 else {
            throw ProblemDetails(
                .serviceUnavailable, "stream \(name) has no partitions yet", headers: [.retryAfter: "1"])
        }
        // A single event joins the batch forming for the sticky partition, which moves on once that batch is sent
        // (Kafka's sticky partitioner). A request in batched mode is a batch of its own: its keyless events take the
        // next partition in turn. Measured: many large requests piling into one partition's queue left the other
        // partitions' syncs idle (rf1 batched publish 12–20 % slower), while for single events the larger batches
        // took 10–20 % off storage CPU per event.
        let counter = writers.sticky(stream: name)
        let position = isBatch ? counter.next() : counter.current()
        let sticky = StickyPartition(start: position)
        let partitions = events.map {
            Partitioner.partition(for: $0, partitions: partitionCount, sticky: sticky)
        }
        return Validated(
            events: events, sizes: sizes, partitions: partitions,
            sticky: StickyChoice(
                position: position, partition: isBatch ? -1 : sticky.partition(partitions: partitionCount)))
    }

    /// The body, refusing more than `maxRequestBytes` before reading it when the length is declared.
    private func readBody(_ request: Request) async throws(ProblemDetails) -> [UInt8] {
        if let declared = request.headers[.contentLength], let length = Int(declared), length > maxRequestBytes {
            throw requestTooLarge
        }
        do {
            let buffer = try await request.body.collect(upTo: maxRequestBytes)
            return [UInt8](buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw requestTooLarge
        } catch {
            throw ProblemDetails(.badRequest, "the request body could not be read: \(error)")
        }
    }

    /// Some partitions stored their share and some could not: 503 listing, per event in request order, where it
    /// was stored or why not. With every partition failing the same way, that failure is the answer.
    private static func partialFailure(partitions: [Int], offsets: [Int64], failures: [Int: ProblemDetails]) -> ProblemDetails
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
    static func size(of event: UnsafePointer<CloudEvent>) -> Int {
        var size = event.pointee.data?.count ?? 0
        size += 11 + event.pointee.specversion.utf8.count
        size += 2 + event.pointee.id.utf8.count
        size += 6 + event.pointee.source.text.utf8.count
        size += 4 + event.pointee.type.utf8.count
        if let value = event.pointee.datacontenttype { size += 15 + value.utf8.count }
        if let value = event.pointee.dataschema { size += 10 + value.text.utf8.count }
        if let value = event.pointee.subject { size += 7 + value.utf8.count }
        if let value = event.pointee.time { size += 4 + value.text.utf8.count }
        for (name, value) in event.pointee.extensions {
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

/// Gathers the outcomes of one request's shares, one per partition, and hands them over when the last arrives.
private final class ShareOutcomes: Sendable {
    private let state: Mutex<(remaining: Int, outcomes: [Int: AppendOutcome])>
    private let done: @Sendable ([Int: AppendOutcome]) -> Void

    init(expected: Int, done: @escaping @Sendable ([Int: AppendOutcome]) -> Void) {
        self.state = Mutex((expected, [:]))
        self.done = done
    }

    func record(_ outcome: AppendOutcome, for partition: Int) {
        let complete: [Int: AppendOutcome]? = state.withLock { state in
            state.outcomes[partition] = outcome
            state.remaining -= 1
            return state.remaining == 0 ? state.outcomes : nil
        }
        if let complete { done(complete) }
    }
}
