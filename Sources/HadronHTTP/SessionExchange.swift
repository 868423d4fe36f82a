public import NIOCore
import Synchronization

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
