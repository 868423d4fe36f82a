public import HTTPTypes
public import NIOCore
import Synchronization

extension HTTPField.Name {
    /// The leader epoch a request between the tiers is sent at (docs/internal-api.md).
    public static let hadronEpoch = Self("hadron-epoch")!
}

/// The caller's side of a session (``SessionWire``): sends one request at a time over a ``DuplexExchange`` and
/// reads its answer back out of the response body, which arrives in pieces that need not follow the answers.
///
/// A follower's replication session awaits each answer from its fetch task; a gateway's append session takes it
/// in a callback on the stream's event loop, with no task, like the rest of its publish path.
public final class SessionExchange: Sendable {
    /// The peer ended the session (after a refusal, or shutting down) before answering.
    public struct Ended: Error, CustomStringConvertible {
        public var description: String { "the peer ended the session" }
    }

    private let exchange: DuplexExchange
    private let reader = Mutex(SessionWire.AnswerReader())

    public init(_ exchange: DuplexExchange) {
        self.exchange = exchange
    }

    /// What opening a session came to.
    public enum Opening: Sendable {
        case opened(SessionExchange)
        /// The peer's whole answer to a session it would not open, as a plain request would get it.
        case refused(InternalResponse)
    }

    /// Opens a session at `path` on the peer at `address`, at leader `epoch`, its requests of `contentType`.
    public static func open(
        client: InternalClient, address: String, path: String, epoch: Int32, contentType: String, timeout: Duration
    ) async throws -> Opening {
        var request = InternalRequest(method: .post, path: path)
        request.headerFields[.hadronEpoch] = String(epoch)
        request.headerFields[.contentType] = contentType
        let exchange = try await client.openDuplex(request, to: address, timeout: timeout)
        guard exchange.head.status == .ok else {
            var body = ByteBuffer()
            while var piece = try await exchange.next(timeout: timeout) { body.collectBodyPiece(&piece) }
            exchange.close()
            return .refused(
                InternalResponse(status: exchange.head.status, headerFields: exchange.head.headerFields, body: body))
        }
        return .opened(SessionExchange(exchange))
    }

    /// Sends `pieces` as one request and calls `completion` with its answer, or with what ended the session: the
    /// stream failed or ended, or nothing arrived within `timeout` (the stream is then closed). One request at a
    /// time: the next is sent once this one is answered.
    public func send(
        _ pieces: [ByteBuffer], timeout: Duration,
        completion: @escaping @Sendable (Result<SessionWire.Answer, any Error>) -> Void
    ) {
        exchange.send(pieces)
        readAnswer(timeout: timeout, completion: completion)
    }

    /// ``send(_:timeout:completion:)``, awaiting the answer; cancelling the waiting task closes the session.
    public func send(_ pieces: [ByteBuffer], timeout: Duration) async throws -> SessionWire.Answer {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                send(pieces, timeout: timeout) { continuation.resume(with: $0) }
            }
        } onCancel: {
            close()
        }
    }

    private func readAnswer(
        timeout: Duration, completion: @escaping @Sendable (Result<SessionWire.Answer, any Error>) -> Void
    ) {
        if let answer = reader.withLock({ $0.next() }) {
            completion(.success(answer))
            return
        }
        exchange.nextPiece(timeout: timeout).whenComplete { result in
            switch result {
            case .success(var piece?):
                self.reader.withLock { $0.add(&piece) }
                self.readAnswer(timeout: timeout, completion: completion)
            case .success(nil):
                completion(.failure(Ended()))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    /// Ends the session; a request in flight fails.
    public func close() {
        exchange.close()
    }
}
