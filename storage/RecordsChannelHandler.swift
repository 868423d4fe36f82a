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
                let (stream, partition) = RecordRoutes.target(ofPath: path)
            else {
                state = .forwarding
                context.fireChannelRead(data)
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
