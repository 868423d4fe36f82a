public import HadronHTTP
public import HTTPTypes
import NIOCore

/// Sends an ISR report that reached an operator replica which does not lead to the one that does.
///
/// Storage pods know the operator only by its Service, which picks any replica; the Lease names the leader by
/// identity (its pod name), and the leader's pod gives its address. Every replica listens on the same port (one
/// Deployment), so the leader's address is its pod IP with this replica's own port.
public struct ISRReportForwarder: Sendable {
    /// Marks a forwarded report, so a replica that does not lead either answers 503 instead of forwarding again.
    public static let forwardedField = HTTPField.Name("Hadron-Forwarded")!

    private let leaderAddress: @Sendable () async throws -> String?
    private let client: InternalClient

    /// - Parameter leaderAddress: `HOST:PORT` of the leading replica's HTTP listener; nil when no replica leads.
    public init(client: InternalClient, leaderAddress: @escaping @Sendable () async throws -> String?) {
        self.client = client
        self.leaderAddress = leaderAddress
    }

    func forward(path: String, body: ByteBuffer, contentType: String?) async throws(ProblemDetails) -> InternalResponse {
        let address: String?
        do {
            address = try await leaderAddress()
        } catch {
            throw ProblemDetails(
                .serviceUnavailable, "the leading operator replica cannot be found: \(error)",
                headers: [.retryAfter: "1"])
        }
        guard let address else {
            throw ProblemDetails(
                .serviceUnavailable, "no operator replica leads at the moment; ask again", headers: [.retryAfter: "1"])
        }
        var request = InternalRequest(method: .post, path: path, body: body)
        request.headerFields[.contentType] = contentType ?? "application/json"
        request.headerFields[Self.forwardedField] = "1"
        do {
            return try await client.execute(request, to: address, timeout: .seconds(15))
        } catch {
            throw ProblemDetails(
                .serviceUnavailable, "the leading operator replica at \(address) did not answer: \(error)",
                headers: [.retryAfter: "1"])
        }
    }
}
