import HTTPTypes
import HadronHTTP
import NIOCore

/// A follower's side of a replication session: sends one fetch and waits for its answer, over one stream.
final class ReplicationSession: Sendable {
    private let session: SessionExchange

    private init(exchange: DuplexExchange) {
        self.session = SessionExchange(exchange)
    }

    enum Opening {
        case opened(ReplicationSession)
        /// The leader's whole answer to a session it would not open.
        case refused(InternalResponse)
    }

    /// Opens a session with the leader at `address` for `replica` at `epoch`. A leader that refuses it at once (an
    /// unknown partition, a request it cannot read) answers as a plain request would, which comes back as `refused`.
    static func open(
        client: InternalClient, address: String, path: String, replica: String, epoch: Int32
    ) async throws -> Opening {
        var request = InternalRequest(method: .post, path: "\(path)/replication?replica=\(replica)")
        request.headerFields[.hadronEpoch] = String(epoch)
        request.headerFields[.contentType] = SessionWire.replicationContentType
        let exchange = try await client.openDuplex(request, to: address, timeout: .seconds(5))
        guard exchange.head.status == .ok else {
            var body = ByteBuffer()
            while var piece = try await exchange.next(timeout: .seconds(5)) { body.collectBodyPiece(&piece) }
            exchange.close()
            return .refused(InternalResponse(status: exchange.head.status, headerFields: exchange.head.headerFields, body: body))
        }
        return .opened(ReplicationSession(exchange: exchange))
    }

    /// Sends `fetch` and returns its answer; throws when the session breaks or the answer does not come within
    /// the fetch's wait plus `grace`.
    func fetch(_ fetch: SessionWire.Fetch, grace: Duration) async throws -> SessionWire.Answer {
        try await session.send([fetch.encoded()], timeout: .milliseconds(Int64(fetch.waitMilliseconds)) + grace)
    }

    func close() {
        session.close()
    }
}
