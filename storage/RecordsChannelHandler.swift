import HTTPTypes
import HadronHTTP
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Answers the record routes (``RecordRoutes``) of HTTP/2 streams in front of Hummingbird.
///
/// Appends and follower fetches are most of a storage node's requests: one append per gateway batch, and with
/// replication two follower fetches answered and two more asked per batch. Through Hummingbird each request also
/// cost an async channel, a handler task reading the request part by part and a hop back to the event loop for
/// every part of the answer. This handler sits in each HTTP/2 stream's pipeline after HTTP decoding: it collects
/// a records request itself, asks the replica from one task, and writes the whole answer with one hop back to the
/// event loop. Any other request, and every HTTP/1.1 connection, passes through to Hummingbird untouched.
///
/// It also serves sessions (``SessionWire``): followers' replication sessions and gateways' append sessions. The
/// stream stays open, and each request in its body (a fetch, a record batch) is answered in the response body as
/// soon as the replica has answered it, one at a time and in order.
final class RecordsChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private enum State {
        case idle
        /// Passing the stream's request to Hummingbird.
        case forwarding
        /// Reading a records request's body.
        case collecting(Taken)
        /// The request is answered or being answered; anything more is dropped.
        case answering
        /// Serving a session.
        case serving(Session)
    }

    /// A session's requests, as its kind reads them from the body.
    private enum SessionRequest: Sendable {
        case fetch(SessionWire.Fetch)
        case append(ByteBuffer)
    }

    /// A session: what it serves, and requests that arrived while an earlier one was being answered.
    private struct Session {
        enum Kind: Sendable {
            case replication(follower: String)
            case appends
        }

        var kind: Kind
        var stream: String
        var partition: String
        var fields: HTTPFields
        /// Bytes of a request that has not arrived whole.
        var pending = ByteBuffer()
        var queued = CircularBuffer<SessionRequest>()
        var busy = false
        /// The caller ended its side: end ours once the request in progress is answered.
        var ended = false
        /// The answer that ends the session once the requests before it are answered.
        var refusal: SessionWire.Answer?
    }

    private struct Taken {
        var method: HTTPRequest.Method
        var path: String
        var stream: String
        var partition: String
        var fields: HTTPFields
        /// Collected with `collectBodyPiece`: usually the one piece it arrived in.
        var body = ByteBuffer()
    }

    private let routes: RecordRoutes
    private let logger: Logger
    private var state = State.idle
    private var isStream = false
    private var task: Task<Void, Never>?

    init(routes: RecordRoutes, logger: Logger) {
        self.routes = routes
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        isStream = context.channel.isHTTP2Stream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.idle, .head(let head)):
            guard isStream, head.method == .post || head.method == .get, let path = head.path,
                let (stream, partition, resource) = RecordRoutes.target(ofPath: path)
            else {
                state = .forwarding
                context.fireChannelRead(data)
                return
            }
            if resource != .records {
                openSession(head, path: path, stream: stream, partition: partition, resource: resource, context: context)
                return
            }
            let taken = Taken(method: head.method, path: path, stream: stream, partition: partition, fields: head.headerFields)
            if head.method == .post, let declared = head.headerFields[.contentLength], let length = Int(declared) {
                guard length <= routes.configuration.maxBatchBytes else {
                    state = .answering
                    respond(with: .failure(tooLarge), context: context)
                    return
                }
            }
            state = .collecting(taken)
        case (.serving(var session), .body(var chunk)):
            state = .answering  // drops the enum's reference to the session's bytes, so adding to them does not copy
            if session.refusal == nil {
                session.pending.collectBodyPiece(&chunk)
                if let refusal = readRequests(into: &session) {
                    // An append larger than a batch may be is refused before it has all arrived; what came before
                    // it is still answered first.
                    session.refusal = SessionWire.Answer(status: refusal.status, body: ByteBuffer(bytes: refusal.body))
                    session.pending = ByteBuffer()
                }
            }
            state = .serving(session)
            serveNextRequest(context: context)
        case (.serving(var session), .end):
            session.ended = true
            state = .serving(session)
            serveNextRequest(context: context)
        case (.serving, .head):
            break
        case (.forwarding, _):
            context.fireChannelRead(data)
        case (.collecting(var taken), .body(var chunk)):
            guard taken.body.readableBytes + chunk.readableBytes <= routes.configuration.maxBatchBytes else {
                state = .answering
                respond(with: .failure(tooLarge), context: context)
                return
            }
            state = .answering  // drops the enum's reference to the bytes, so adding a piece does not copy them
            taken.body.collectBodyPiece(&chunk)
            state = .collecting(taken)
        case (.collecting(let taken), .end):
            state = .answering
            answer(taken, context: context)
        case (.answering, _):
            break
        case (.idle, _), (.collecting, .head):
            // HTTP decoding never yields these; let Hummingbird refuse the stream.
            state = .forwarding
            context.fireChannelRead(data)
        }
    }

    // MARK: Sessions

    /// Accepts a session whose request carries an epoch (and, for replication, names its follower), answering the
    /// head at once; the epoch and the follower are checked again by every request, as the replica admits it.
    private func openSession(
        _ head: HTTPRequest, path: String, stream: String, partition: String, resource: RecordRoutes.Resource,
        context: ChannelHandlerContext
    ) {
        let follower = URI(path).queryParameters.get("replica").map { String($0) }
        let refusal: ProblemDetails?
        if head.method != .post {
            refusal = ProblemDetails(.methodNotAllowed, "a session is a POST", headers: [.allow: "POST"])
        } else if resource == .replication, follower == nil {
            refusal = ProblemDetails(.badRequest, "a replication session must name its follower in replica")
        } else if head.headerFields[.hadronEpoch] == nil {
            refusal = ProblemDetails(.badRequest, "a session must carry the hadron-epoch header")
        } else {
            do {
                _ = try routes.replica(stream: stream, partition: partition)
                refusal = nil
            } catch {
                refusal = ReplicaErrorMiddleware.problem(forAny: error, path: path, logger: logger)
            }
        }
        if let refusal {
            state = .answering
            respond(with: .failure(refusal), context: context)
            return
        }
        let kind: Session.Kind = resource == .replication ? .replication(follower: follower ?? "") : .appends
        state = .serving(Session(kind: kind, stream: stream, partition: partition, fields: head.headerFields))
        let contentType =
            resource == .replication ? SessionWire.replicationContentType : SessionWire.appendsContentType
        let response = HTTPResponse(status: .ok, headerFields: [.contentType: contentType])
        context.writeAndFlush(NIOAny(HTTPResponsePart.head(response)), promise: nil)
    }

    /// Moves every whole request in the session's bytes to its queue; a refusal when an append declares more bytes
    /// than a batch may have.
    private func readRequests(into session: inout Session) -> ProblemDetails? {
        switch session.kind {
        case .replication:
            while let fetch = SessionWire.Fetch.take(from: &session.pending) { session.queued.append(.fetch(fetch)) }
        case .appends:
            while true {
                if let declared = SessionWire.declaredAppendLength(in: session.pending),
                    declared > routes.configuration.maxBatchBytes
                {
                    return tooLarge
                }
                guard let batch = SessionWire.takeAppend(from: &session.pending) else { break }
                session.queued.append(.append(batch))
            }
        }
        return nil
    }

    /// Starts answering the next queued request unless one is being answered; ends the session once the caller has
    /// ended its side and every request is answered.
    private func serveNextRequest(context: ChannelHandlerContext) {
        guard case .serving(var session) = state, !session.busy else { return }
        if session.queued.isEmpty, let refusal = session.refusal {
            deliver(refusal, context: context)
            return
        }
        guard let request = session.queued.popFirst() else {
            if session.ended {
                state = .answering
                context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
            }
            return
        }
        session.busy = true
        state = .serving(session)
        let routes = routes
        let logger = logger
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let kind = session.kind
        let stream = session.stream
        let partition = session.partition
        let fields = session.fields
        task = Task {
            let answer: SessionWire.Answer
            do {
                answer = try await RecordsChannelHandler.answer(
                    request, kind: kind, stream: stream, partition: partition, fields: fields, routes: routes)
            } catch is CancellationError {
                return  // the session is gone; nobody to answer
            } catch {
                let path = "/internal/v1/streams/\(stream)/partitions/\(partition)"
                let problem = ReplicaErrorMiddleware.problem(forAny: error, path: path, logger: logger)
                answer = SessionWire.Answer(status: problem.status, body: ByteBuffer(bytes: problem.body))
            }
            loop.eventLoop.execute {
                let (handler, context) = loop.value
                handler.task = nil
                handler.deliver(answer, context: context)
            }
        }
    }

    /// What the replica answers to one request of a session, as the per-request route would.
    private static func answer(
        _ request: SessionRequest, kind: Session.Kind, stream: String, partition: String, fields: HTTPFields,
        routes: RecordRoutes
    ) async throws -> SessionWire.Answer {
        switch (request, kind) {
        case (.fetch(let fetch), .replication(let follower)):
            let replica = try routes.replica(stream: stream, partition: partition)
            let result = try await routes.replicate(
                replica, to: follower, from: fetch.offset, maxBytes: Int(max(fetch.maxBytes, 1)),
                wait: .milliseconds(Int64(max(fetch.waitMilliseconds, 0))), fields: fields)
            return SessionWire.Answer(
                head: .init(
                    status: 200, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset,
                    logEndOffset: result.logEndOffset, bodyLength: UInt32(result.bytes.readableBytes)),
                body: result.bytes)
        case (.append(let batch), _):
            let stored = try await routes.append(stream: stream, partition: partition, fields: fields, body: batch)
            return SessionWire.Answer(status: .ok, body: stored.body)
        case (.fetch, .appends):
            preconditionFailure("an append session reads no fetches")
        }
    }

    /// Writes one request's answer; a refusal ends the session, and so does the node's shutdown (the server waits
    /// for open streams to end); anything else lets the next request go.
    private func deliver(_ answer: SessionWire.Answer, context: ChannelHandlerContext) {
        guard case .serving(var session) = state else { return }
        context.write(NIOAny(HTTPResponsePart.body(answer.head.encoded())), promise: nil)
        if answer.body.readableBytes > 0 { context.write(NIOAny(HTTPResponsePart.body(answer.body)), promise: nil) }
        guard answer.head.status == 200, !routes.replicas.isDraining else {
            state = .answering
            context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
            return
        }
        context.flush()
        session.busy = false
        state = .serving(session)
        serveNextRequest(context: context)
    }

    private var tooLarge: ProblemDetails {
        ProblemDetails(.contentTooLarge, "a record batch may be at most \(routes.configuration.maxBatchBytes) bytes")
    }

    private func answer(_ taken: Taken, context: ChannelHandlerContext) {
        let routes = routes
        let logger = logger
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        task = Task {
            let outcome: Result<RecordRoutes.Answer, ProblemDetails>
            do {
                if taken.method == .post {
                    outcome = .success(
                        try await routes.append(
                            stream: taken.stream, partition: taken.partition, fields: taken.fields, body: taken.body))
                } else {
                    outcome = .success(
                        try await routes.fetch(
                            stream: taken.stream, partition: taken.partition, query: URI(taken.path),
                            fields: taken.fields))
                }
            } catch is CancellationError {
                return  // the stream is gone; nobody to answer
            } catch {
                outcome = .failure(ReplicaErrorMiddleware.problem(forAny: error, path: taken.path, logger: logger))
            }
            loop.eventLoop.execute {
                let (handler, context) = loop.value
                handler.task = nil
                handler.respond(with: outcome, context: context)
            }
        }
    }

    private func respond(with outcome: Result<RecordRoutes.Answer, ProblemDetails>, context: ChannelHandlerContext) {
        switch outcome {
        case .success(let answer):
            context.writeWholeResponse(HTTPResponse(status: .ok, headerFields: answer.fields), body: answer.body)
        case .failure(let problem):
            context.writeWholeResponse(problem.responseHead, body: ByteBuffer(bytes: problem.body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The caller is gone (a reset stream, a closed connection): a parked long poll need not wait on.
        task?.cancel()
        task = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension RecordsChannelHandler: Sendable {}
