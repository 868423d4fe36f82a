import HTTPTypes
import HadronHTTP
import NIOCore

/// A follower's side of a replication session: sends one fetch and waits for its answer, over one stream.
final class ReplicationSession: Sendable {
    private let session: SessionExchange

    init(_ session: SessionExchange) {
        self.session = session
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
