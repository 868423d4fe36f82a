import CloudEvents
import HadronCore
public import HadronHTTP
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
public import Logging
public import NIOCore
public import NIOPosix
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The gateway tier (DESIGN.md §1, §3): the public HTTP API in front of the storage nodes.
///
/// Embeddable: `hadron gateway` runs one in its own process, `hadron dev` runs one beside an in-process controller
/// and storage nodes, tests run several. Everything process-wide is passed in — the topology source, the metrics
/// registry, the event loop group — so that instances never share hidden state. Run it as a `Service` in a
/// `ServiceGroup`; graceful shutdown stops accepting connections, ends event streams and long polls, and lets
/// in-flight requests finish.
public final class Gateway: Service, Sendable {
    public let configuration: GatewayConfiguration
    private let source: any TopologySource
    private let view: TopologyView
    private let metrics: GatewayMetrics
    /// One storage client per event loop. Partition writers are spread over them, and with them the work of
    /// reading storage's answers and encoding the next batch, which one connection would keep on one loop (with a
    /// single storage node, every partition's). Reads and consumer groups use the first.
    private let clients: [InternalClient]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let bound = BoundAddress()

    /// - Parameters:
    ///   - topologySource: where leadership comes from (``TopologyFollower`` for a controller, ``TopologyFeed`` in
    ///     process).
    ///   - registry: the Prometheus registry `/metrics` emits; the gateway registers its metrics there.
    public init(
        configuration: GatewayConfiguration, topologySource: any TopologySource,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.source = topologySource
        self.metrics = GatewayMetrics(registry: registry)
        self.view = TopologyView(routing: configuration.routing)
        var loops = eventLoopGroup.makeIterator()
        var clients: [InternalClient] = []
        while let loop = loops.next() {
            clients.append(InternalClient(eventLoopGroup: loop, resolve: configuration.resolve, logger: logger))
        }
        self.clients = clients
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The address the gateway listens on, with the real port when port 0 was asked for. Waits until the server
    /// listens; throws if it stopped or failed to bind first.
    public func listeningAddress() async throws -> ServerAddress {
        try await bound.value()
    }

    /// The line a server prints when ready (DESIGN.md §8): `hadron gateway listening on http://HOST:PORT`.
    public func readyLine() async throws -> String {
        "hadron gateway listening on \(configuration.scheme)://\(try await listeningAddress())"
    }

    /// Whether `/readyz` would answer 200: a topology is known and every partition has a reachable leader.
    public var isReady: Bool {
        guard let snapshot = view.snapshot else { return false }
        return snapshot.unreadyReason == nil
    }

    public func run() async throws {
        let application = try makeApplication()
        defer { bound.fail(GatewayError(.notListening, "the gateway stopped")) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [source, view, clients, logger] in
                do {
                    try await source.follow { topology in
                        let moved = view.update(topology)
                        guard !moved.isEmpty else { return }
                        Task {
                            for address in moved {
                                for client in clients { await client.closeConnection(to: address) }
                            }
                        }
                    }
                } catch is CancellationError {
                } catch {
                    logger.error("Topology source failed", metadata: ["error": "\(error)"])
                }
            }
            do {
                try await application.run()
            } catch {
                bound.fail(error)
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
        for client in clients { await client.shutdown() }
    }

    private func makeApplication() throws -> some ApplicationProtocol {
        let lanes = clients.map { client in
            LeaderClient(
                client: client, view: view, requestTimeout: configuration.storageRequestTimeout, logger: logger)
        }
        let leaders = lanes[0]
        let settings = PartitionWriter.Settings(
            linger: configuration.linger, maxBatchBytes: configuration.maxBatchBytes,
            maxBatchEvents: configuration.maxBatchEvents, retryWindow: configuration.writeRetryWindow)
        // One producer id per gateway instance; storage keys batch sequences by it and the partition.
        let producerId = Int64.random(in: 1...Int64.max)
        let metrics = self.metrics
        let writers = PartitionWriters { stream, partition, sticky in
            PartitionWriter(
                stream: stream, partition: partition, producerId: producerId, settings: settings,
                leaders: lanes[partition % lanes.count], sticky: sticky, metrics: metrics)
        }
        let publish = PublishHandler(
            view: view, writers: writers, maxEventBytes: configuration.maxEventBytes,
            maxRequestBytes: configuration.maxRequestBytes)
        let responder = GatewayResponder(
            publish: publish,
            reads: ReadHandler(
                view: view, leaders: leaders, metrics: metrics, fetchMaxBytes: configuration.fetchMaxBytes,
                retryWindow: configuration.writeRetryWindow, keepAliveInterval: configuration.keepAliveInterval,
                logger: logger),
            subscriptions: SubscriptionHandler(
                view: view, leaders: leaders, metrics: metrics, leaseDuration: configuration.consumerLeaseDuration,
                pollInterval: configuration.groupPollInterval, retryWindow: configuration.writeRetryWindow,
                rotation: RotationCounter()),
            topology: TopologyEndpoint(view: view, keepAliveInterval: configuration.keepAliveInterval),
            view: view, metrics: metrics)

        // Publishes are answered on the event loop, in front of Hummingbird (see PublishChannelHandler); on plaintext
        // HTTP/1.1 connections, plain publishes are read from the bytes, in front of HTTP decoding
        // (see HTTP1PublishFastPath).
        let streamConfiguration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [PublishChannelHandler(publish: publish, metrics: metrics)])
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            server = try .http2Upgrade(
                tlsConfiguration: tls, configuration: .init(streamConfiguration: streamConfiguration))
        } else {
            server = .http1AndH2C(
                http1Configuration: streamConfiguration,
                http2Configuration: .init(streamConfiguration: streamConfiguration),
                http1Front: { [HTTP1PublishFastPath(publish: publish, metrics: metrics)] })
        }
        let host = configuration.listen.host
        let bound = self.bound
        return Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname(host, port: configuration.listen.port), serverName: nil),
            onServerRunning: { channel in
                bound.resolve(ServerAddress(host: host, port: channel.localAddress?.port ?? 0))
            },
            eventLoopGroupProvider: .shared(eventLoopGroup), logger: logger)
    }
}

/// The listening address, once the server has one; waiters before that are parked.
private final class BoundAddress: Sendable {
    private enum State {
        case waiting([CheckedContinuation<ServerAddress, any Error>])
        case bound(ServerAddress)
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([]))

    func value() async throws -> ServerAddress {
        try await withCheckedThrowingContinuation { continuation in
            let outcome: Result<ServerAddress, any Error>? = state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .bound(let address): return .success(address)
                case .failed(let error): return .failure(error)
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func resolve(_ address: ServerAddress) {
        settle(.success(address))
    }

    /// Fails the waiters; does nothing once bound (a stop after listening is not a failure to listen).
    func fail(_ error: any Error) {
        settle(.failure(error))
    }

    private func settle(_ outcome: Result<ServerAddress, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<ServerAddress, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            switch outcome {
            case .success(let address): state = .bound(address)
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
