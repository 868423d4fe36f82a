import Foundation
import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `GET /v1/streams/{stream}/partitions/{p}/events`: committed events from an offset, as a JSON batch or, with
/// `Accept: text/event-stream`, as an endless server-sent event stream that `Last-Event-ID` resumes.
struct ReadHandler: Sendable {
    let view: TopologyView
    let leaders: LeaderClient
    let metrics: GatewayMetrics
    let fetchMaxBytes: Int
    let retryWindow: Duration
    let keepAliveInterval: Duration
    let logger: Logger

    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    func read(_ request: Request, stream: String, partition segment: Substring) async throws(ProblemDetails) -> Response
    {
        let partition = try RequestParameters.partition(segment)
        let offset = try RequestParameters.integer("offset", in: request, default: 0, range: 0...Int64.max)
        let max = Int(try RequestParameters.integer("max", in: request, default: 100, range: 1...10_000))
        let wait = try RequestParameters.integer("wait", in: request, default: 0, range: 0...30_000)
        try checkPartition(stream: stream, partition: partition)

        if RequestParameters.wantsEventStream(request) {
            var start = offset
            if let resume = request.headers[Self.lastEventID] {
                start = try Self.offset(resuming: resume, partition: partition)
            }
            return try await eventStream(stream: stream, partition: partition, from: start)
        }
        let records = try await longPoll(stream: stream, partition: partition, offset: offset, max: max, wait: wait)
        var headers = HTTPFields()
        headers[.contentType] = ResponseBodies.batchContentType
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ResponseBodies.batch(records, partition: partition)))
    }

    private func checkPartition(stream: String, partition: Int) throws(ProblemDetails) {
        guard let snapshot = view.snapshot else {
            throw ProblemDetails(.serviceUnavailable, "the gateway has no topology yet", headers: [.retryAfter: "1"])
        }
        guard let route = snapshot.streams[stream] else {
            throw ProblemDetails(.notFound, "stream \(stream) does not exist")
        }
        guard route.partition(partition) != nil else {
            throw ProblemDetails(
                .notFound, "stream \(stream) has no partition \(partition) (it has \(route.partitionCount))")
        }
    }

    /// The offset after the event a `Last-Event-ID: P-O` names.
    static func offset(resuming id: String, partition: Int) throws(ProblemDetails) -> Int64 {
        let parts = id.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let idPartition = Int(parts[0]), let offset = Int64(parts[1]), offset >= 0,
            offset < Int64.max
        else {
            throw ProblemDetails(.badRequest, "header Last-Event-ID must be PARTITION-OFFSET, got \"\(id)\"")
        }
        guard idPartition == partition else {
            throw ProblemDetails(
                .badRequest, "header Last-Event-ID names partition \(idPartition), but this is partition \(partition)")
        }
        return offset + 1
    }

    /// Up to `max` committed events from `offset`, waiting up to `wait` ms for the first.
    func fetch(
        stream: String, partition: Int, offset: Int64, max: Int, wait: Int64
    ) async throws(ProblemDetails) -> [EventRecord] {
        let response = try await leaders.send(
            .get, stream: stream, partition: partition,
            suffix: "/records?offset=\(offset)&maxBytes=\(fetchMaxBytes)&wait=\(wait)",
            extraTimeout: .milliseconds(wait), policy: .reads(window: retryWindow))
        switch response.status {
        case .ok:
            if let highWatermark = response.headerFields[Self.highWatermark].flatMap(Int64.init) {
                metrics.observeEndOffset(stream: stream, partition: partition, highWatermark)
            }
            return try StoredRecords.decode(response.body, range: offset...Int64.max, limit: max)
        case .rangeNotSatisfiable:
            let first = ProblemDetails.member("firstOffset", in: response.body)?.integer
            throw ProblemDetails(
                .rangeNotSatisfiable,
                "offset \(offset) is below the start of partition \(partition)'s log"
                    + (first.map { "; the first available offset is \($0)" } ?? ""),
                members: first.map { ["firstOffset": .integer($0)] } ?? [:])
        default:
            throw ProblemDetails.relayed(response, what: "the read of partition \(partition)")
        }
    }

    /// A fetch that graceful shutdown cuts short: a poll waiting up to 30 s must not hold the process, so it
    /// answers what it has (nothing) as soon as shutdown begins, as if its wait had run out.
    private func longPoll(
        stream: String, partition: Int, offset: Int64, max: Int, wait: Int64
    ) async throws(ProblemDetails) -> [EventRecord] {
        guard wait > 0 else {
            return try await fetch(stream: stream, partition: partition, offset: offset, max: max, wait: 0)
        }
        do {
            return try await cancelWhenGracefulShutdown {
                try await self.fetch(stream: stream, partition: partition, offset: offset, max: max, wait: wait)
            }
        } catch {
            if Task.isShuttingDownGracefully { return [] }
            if let problem = error as? ProblemDetails { throw problem }
            throw ProblemDetails(.serviceUnavailable, "the read was interrupted: \(error)")
        }
    }

    /// The SSE stream. The first fetch happens before the answer, so that a bad offset is still a 416 status.
    private func eventStream(stream: String, partition: Int, from start: Int64) async throws(ProblemDetails) -> Response
    {
        let first = try await fetch(stream: stream, partition: partition, offset: start, max: 10_000, wait: 0)
        var headers = HTTPFields()
        headers[.contentType] = ResponseBodies.eventStreamContentType
        headers[.cacheControl] = "no-cache"
        let handler = self
        let wait = Swift.max(1, Int64(min(keepAliveInterval, .seconds(30)) / .milliseconds(1)))
        return Response(
            status: .ok, headers: headers,
            body: .init { writer in
                var next = start
                var pending = first
                var quiet = false
                // Ends when the client is gone (a write throws) or on graceful shutdown: an endless stream must not
                // hold the process, so the long poll in flight is cancelled then.
                while !Task.isShuttingDownGracefully {
                    if let last = pending.last {
                        let events = ResponseBodies.serverSentEvents(pending, partition: partition)
                        handler.metrics.sent(events.readableBytes)
                        try await writer.write(events)
                        next = last.offset + 1
                    } else if quiet {
                        try await writer.write(ResponseBodies.keepAlive)
                    }
                    let from = next
                    do {
                        (pending, next, quiet) = try await cancelWhenGracefulShutdown {
                            try await handler.nextRecords(
                                stream: stream, partition: partition, offset: from, wait: wait)
                        }
                    } catch {
                        // Shutdown cancels the poll; anything else (the stream deleted, storage answering nonsense)
                        // also ends the stream, which the client resumes with Last-Event-ID.
                        if !(error is CancellationError) && !Task.isShuttingDownGracefully {
                            handler.logger.info(
                                "Event stream ended",
                                metadata: ["stream": "\(stream)", "partition.id": "\(partition)", "error": "\(error)"])
                        }
                        break
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// The next records of an event stream after a long poll, and the offset to continue from: past a gap below the
    /// log start (retention removed events) it moves on to the first offset still there. `quiet` says the poll
    /// found nothing, time for a keep-alive comment.
    private func nextRecords(
        stream: String, partition: Int, offset: Int64, wait: Int64
    ) async throws -> (records: [EventRecord], next: Int64, quiet: Bool) {
        let problem: ProblemDetails
        do {
            let records = try await fetch(stream: stream, partition: partition, offset: offset, max: 10_000, wait: wait)
            return (records, offset, records.isEmpty)
        } catch {
            problem = error
        }
        switch problem.status {
        case .rangeNotSatisfiable:
            guard let first = problem.members["firstOffset"]?.integer else { throw problem }
            logger.info(
                "Event stream skipped events removed by retention",
                metadata: [
                    "stream": "\(stream)", "partition.id": "\(partition)", "from": "\(offset)", "to": "\(first)",
                ])
            return ([], first, false)
        case .serviceUnavailable:
            // A partition between leaders: keep the stream open and the client informed, try again shortly.
            try await Task.sleep(for: .milliseconds(500))
            return ([], offset, true)
        default:
            throw problem
        }
    }

    static let highWatermark = HTTPField.Name("hadron-high-watermark")!
}

extension ProblemDetails {
    /// A storage problem passed on to the client: its status and detail, unless it is not a client's business
    /// (storage's own 5xx and routing answers become 502).
    static func relayed(_ response: InternalResponse, what: String) -> ProblemDetails {
        let detail = ProblemDetails.detail(in: response.body) ?? "status \(response.status.code)"
        switch response.status.kind {
        case .clientError where response.status != .misdirectedRequest:
            return ProblemDetails(response.status, detail)
        case .serverError where response.status == .serviceUnavailable:
            return ProblemDetails(
                .serviceUnavailable, "\(what) failed: \(detail)",
                headers: [.retryAfter: response.headerFields[.retryAfter] ?? "1"])
        default:
            return ProblemDetails(.badGateway, "\(what) failed: storage answered \(response.status.code): \(detail)")
        }
    }
}
