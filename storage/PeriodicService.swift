import ServiceLifecycle

/// Runs `body` now and then every `interval` until graceful shutdown, returning normally then: the storage node's
/// heartbeat and its retention pass. A `body` that fails logs and waits for the next turn itself.
struct PeriodicService: Service, CustomStringConvertible {
    let description: String
    let interval: Duration
    /// Awaited before the first turn (the heartbeat needs the bound address); an error ends the service with it.
    let prepare: @Sendable () async throws -> Void
    let body: @Sendable () async -> Void

    init(
        _ description: String, every interval: Duration, prepare: @escaping @Sendable () async throws -> Void = {},
        body: @escaping @Sendable () async -> Void
    ) {
        self.description = description
        self.interval = interval
        self.prepare = prepare
        self.body = body
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await prepare()
                while true {
                    await body()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or the group's cancellation) ends the loop; that is a normal return.
        }
    }
}
