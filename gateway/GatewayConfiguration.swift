public import HadronHTTP
public import NIOSSL

/// How one gateway serves: where it listens, the limits it enforces and how it batches towards storage.
///
/// Every knob has the production default of DESIGN.md §3; tests and `hadron dev` shrink the ones that would
/// otherwise make them slow (limits, keep-alive intervals).
public struct GatewayConfiguration: Sendable {
    /// `HOST:PORT` to listen on; port 0 picks a free port (see ``Gateway/listeningAddress()``).
    public var listen: ServerAddress
    /// When set, the listener speaks TLS with ALPN (`h2`, `http/1.1`) instead of HTTP/1.1 + h2c in the clear.
    public var tls: TLSConfiguration?

    /// The largest event accepted, in bytes: the data plus the UTF-8 names and canonical string values of every
    /// attribute (the bytes a record needs, give or take its varint framing). 413 beyond.
    public var maxEventBytes: Int = 1 << 20
    /// The largest request body accepted, in bytes. 413 beyond; the body is never read past it.
    public var maxRequestBytes: Int = 16 << 20

    /// How long a partition's first pending submission may wait for others to join its record batch, when the
    /// stream's last batch gathered many requests (`StickyCounter.isBusy`; a lone sender is never kept waiting);
    /// at most 1 ms. Zero sends at once whenever no batch is in flight for the partition, and concurrent
    /// submissions coalesce only behind the batch in flight.
    public var linger: Duration = GatewayConfiguration.defaultLinger
    /// Under 64 concurrent single-event publishers at replicationFactor 1, every idle partition started a batch
    /// with its first event: batches of 12 events on average, and storage spent 16–17 µs per event on them.
    /// Lingering 0.5 ms made them 2–3 times as large: storage 7 µs per event, 27–30k → 35–36k publishes/s, p50
    /// lower, not higher. 1 ms was slower again (the wait became the latency).
    public static let defaultLinger = Duration.microseconds(500)
    /// A record batch closes at this many bytes (by the event-size measure above) …
    ///
    /// Batches only grow this large while one is in flight and the load is high, which is when each batch's fixed
    /// cost (a storage round trip; a sync or a replication round) is what bounds throughput: at 1000 events, batched
    /// publish filled every batch, and 5000 gave 6–12 % more events/s with 15–25 % less storage CPU per event at
    /// replicationFactor 1 and 3. A follower fetches up to 8 MiB, so one batch always fits a fetch.
    public var maxBatchBytes: Int = 4 << 20
    /// … or at this many events, whichever comes first. One submission is never split across batches.
    public var maxBatchEvents: Int = 5000

    /// How long a write keeps trying a partition (leader changes, connection failures, a leader short of in-sync
    /// replicas) before the request gets 503.
    public var writeRetryWindow: Duration = .seconds(5)
    /// The time limit of one request to a storage node, on top of any long-poll wait it carries.
    public var storageRequestTimeout: Duration = .seconds(10)
    /// The bytes asked of storage per fetch.
    public var fetchMaxBytes: Int = 1 << 20
    /// How long a consumer-group member holds a leased batch before storage offers it again.
    public var consumerLeaseDuration: Duration = .seconds(30)
    /// How often a waiting consumer-group pull asks the partitions again.
    public var groupPollInterval: Duration = .milliseconds(25)
    /// The longest silence on a server-sent event stream before a `: keep-alive` comment.
    public var keepAliveInterval: Duration = .seconds(15)

    /// Where partition requests go: the leader node's address (local controller) or the partition's Service
    /// (Kubernetes).
    public var routing: PartitionRouting = .leaderNode
    /// Host names dialled elsewhere (`--resolve NAME=HOST:PORT`): Services and pods of a cluster run outside it.
    public var resolve = AddressOverrides()

    public init(listen: ServerAddress, tls: TLSConfiguration? = nil) {
        self.listen = listen
        self.tls = tls
    }

    /// `http` or `https`, as the ready line and clients spell it.
    public var scheme: String { tls == nil ? "http" : "https" }
}

extension GatewayConfiguration {
    /// A TLS server configuration from PEM files: a certificate chain (leaf first) and its private key.
    public static func tlsConfiguration(certificatePath: String, keyPath: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw GatewayError(.invalidConfiguration, "cannot read the certificate chain \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else {
            throw GatewayError(.invalidConfiguration, "\(certificatePath) holds no PEM certificate")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw GatewayError(.invalidConfiguration, "cannot read the private key \(keyPath): \(error)")
        }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// Checks the settings that would otherwise fail later and less clearly.
    func validate() throws {
        guard maxEventBytes > 0, maxRequestBytes > 0 else {
            throw GatewayError(.invalidConfiguration, "the event and request limits must be positive")
        }
        guard linger >= .zero, linger <= .milliseconds(1) else {
            throw GatewayError(.invalidConfiguration, "linger must be between 0 and 1 ms, got \(linger)")
        }
        guard maxBatchBytes > 0, maxBatchEvents > 0 else {
            throw GatewayError(.invalidConfiguration, "the record batch bounds must be positive")
        }
    }
}
