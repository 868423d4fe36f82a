import Foundation
public import HadronCore
public import HadronHTTP
import HTTPTypes
public import Logging
import Synchronization

/// Follows the local controller's topology watch (`GET /v1/topology?watch=true`, docs/internal-api.md) over h2c
/// and reconnects, with capped exponential backoff and jitter, whenever the watch ends or goes silent.
///
/// The controller sends a `: keep-alive` comment every 10 s, so a watch quiet for ``silenceLimit`` is a dead
/// connection that TCP has not noticed yet (a controller host that vanished): it is dropped and reopened rather than
/// trusted, because a gateway on a stale topology keeps writing to a deposed leader.
public struct TopologyFollower: TopologySource {
    private let controller: ServerAddress
    private let client: InternalClient
    private let logger: Logger
    /// Reconnect delays grow from `initialBackoff` to `maximumBackoff`.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(5)
    /// A watch that delivers nothing, not even a keep-alive, for this long is reopened.
    public var silenceLimit: Duration = .seconds(30)

    /// - Parameter controller: the controller's URL, `http://HOST:PORT` (h2c; the controller also serves HTTP/1.1).
    public init(controller: String, client: InternalClient, logger: Logger) throws {
        var text = Substring(controller)
        if text.hasPrefix("http://") { text = text.dropFirst("http://".count) }
        while text.hasSuffix("/") { text = text.dropLast() }
        guard !text.contains("/"), !text.hasPrefix("https:"), let address = ServerAddress(String(text)) else {
            throw GatewayError(
                .invalidConfiguration,
                "--controller must be http://HOST:PORT (the controller speaks h2c), got \(controller)")
        }
        self.controller = address
        self.client = client
        self.logger = logger
    }

    public func follow(_ deliver: @escaping @Sendable (Topology) -> Void) async throws {
        var backoff = initialBackoff
        while !Task.isCancelled {
            do {
                if try await watchOnce(deliver) { backoff = initialBackoff }
                logger.info("Topology watch ended; reconnecting", metadata: ["controller": "\(controller)"])
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "Topology watch failed; reconnecting",
                    metadata: ["controller": "\(controller)", "error": "\(error)", "backoff": "\(backoff)"])
            }
            let jitter = Double.random(in: 0.5...1.0)
            do { try await Task.sleep(for: backoff * jitter) } catch { return }
            backoff = min(backoff * 2, maximumBackoff)
        }
    }

    /// One watch: until the controller ends it, it fails, or it stays silent too long. Returns whether it delivered
    /// a topology (a watch that worked resets the backoff).
    private func watchOnce(_ deliver: @escaping @Sendable (Topology) -> Void) async throws -> Bool {
        var fields = HTTPFields()
        fields[.accept] = "text/event-stream"
        let request = InternalRequest(method: .get, path: "/v1/topology?watch=true", headerFields: fields)
        let (head, body) = try await client.stream(request, to: controller.description)
        guard head.status == .ok else {
            throw GatewayError(.controllerUnreachable, "the controller answered the topology watch with \(head.status)")
        }
        let progress = WatchProgress()
        let limit = silenceLimit
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Whichever ends first ends the watch: the stream, or the watchdog when the watch goes silent.
            group.addTask {
                while true {
                    try await Task.sleep(for: limit / 4)
                    if progress.lastHeard.withLock({ $0 }).duration(to: .now) > limit {
                        throw GatewayError(.controllerUnreachable, "the topology watch was silent for \(limit)")
                    }
                }
            }
            group.addTask {
                var parser = ServerSentEventParser()
                let decoder = JSONDecoder()
                for try await chunk in body {
                    progress.lastHeard.withLock { $0 = .now }
                    for event in parser.feed(chunk) where event.name == nil || event.name == "topology" {
                        let topology: Topology
                        do {
                            topology = try decoder.decode(Topology.self, from: Data(event.data.utf8))
                        } catch {
                            throw GatewayError(
                                .invalidTopology, "the controller sent a topology that does not decode: \(error)")
                        }
                        progress.delivered.withLock { $0 = true }
                        deliver(topology)
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
        return progress.delivered.withLock { $0 }
    }
}

/// What the tasks of one watch share: when it last heard from the controller, and whether it delivered anything.
private final class WatchProgress: Sendable {
    let lastHeard = Mutex(ContinuousClock.now)
    let delivered = Mutex(false)
}
