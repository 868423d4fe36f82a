import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Logging
import Prometheus
import ServiceLifecycle
import Testing

/// One candidate: its own token (so the double can cut it off alone), elector and service group.
struct Candidate {
    let identity: String
    let token: String
    let elector: LeaseElector
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let registry: PrometheusCollectorRegistry

    static func start(_ identity: String, double: KubeAPIDouble) throws -> Candidate {
        let token = "token-\(identity)"
        double.addToken(token)
        var logger = Logger(label: "candidate.\(identity)")
        logger.logLevel =
            ProcessInfo.processInfo.environment["KUBEAPI_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        let client = KubeClient(configuration: double.tokenConfiguration(token: token), logger: logger)
        let registry = PrometheusCollectorRegistry()
        let elector = try LeaseElector(
            configuration: LeaderElectionConfiguration(
                leaseName: "hadron-operator", namespace: "default", identity: identity,
                leaseDuration: LeaderElectionTests.leaseDuration, renewDeadline: LeaderElectionTests.renewDeadline,
                retryPeriod: LeaderElectionTests.retryPeriod),
            client: client, logger: logger, metricsFactory: PrometheusMetricsFactory(registry: registry))
        let group = ServiceGroup(configuration: .init(services: [elector], gracefulShutdownSignals: [], logger: logger))
        return Candidate(
            identity: identity, token: token, elector: elector, group: group, task: Task { try await group.run() },
            registry: registry)
    }

    /// Graceful stop: the elector releases the Lease.
    func shutDown() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// A crash: the process stops renewing and never releases.
    func kill() async {
        task.cancel()
        _ = await task.result
    }

    var metrics: String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

@Suite struct LeaderElectionTests {
    static let leaseDuration = Duration.seconds(2)
    static let renewDeadline = Duration.milliseconds(1500)
    static let retryPeriod = Duration.milliseconds(300)
    /// The jittered acquire period can reach retryPeriod × 2.2; allow scheduling slack on a busy machine.
    static let slack = Duration.seconds(2)

    static func leaders(_ candidates: [Candidate]) -> [Candidate] { candidates.filter { $0.elector.isLeader } }

    static func waitForOneLeader(_ candidates: [Candidate], within timeout: Duration) async -> Candidate? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = leaders(candidates)
            if current.count == 1 { return current[0] }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    static func withDouble(_ body: (KubeAPIDouble) async throws -> Void) async throws {
        let double = try await KubeAPIDouble.start()
        do {
            try await body(double)
        } catch {
            await double.stop()
            throw error
        }
        await double.stop()
    }

    @Test func threeCandidatesFailoverOnCrashAndOnRelease() async throws {
        try await Self.withDouble { double in
            let candidates = try ["op-a", "op-b", "op-c"].map { try Candidate.start($0, double: double) }
            let first = try #require(await Self.waitForOneLeader(candidates, within: .seconds(10)))
            // Exactly one leads, and stays the only one across several renewals.
            for _ in 0..<10 {
                try await Task.sleep(for: .milliseconds(100))
                #expect(Self.leaders(candidates).map(\.identity) == [first.identity])
            }
            let lease = try #require(
                await double.storedObject(Lease.descriptor, namespace: "default", name: "hadron-operator"))
            #expect(lease[path: ["spec", "holderIdentity"]]?.stringValue == first.identity)
            #expect(lease[path: ["spec", "leaseDurationSeconds"]]?.intValue == 2)
            #expect(first.metrics.contains("hadron_operator_is_leader 1"))
            #expect(first.metrics.contains("hadron_operator_leadership_changes_total 1"))

            // Crash the leader: another leads within leaseDuration + retry period (jittered) of its last renewal.
            let crashed = ContinuousClock.now
            await first.kill()
            let rest = candidates.filter { $0.identity != first.identity }
            let second = try #require(
                await Self.waitForOneLeader(rest, within: Self.leaseDuration + Self.retryPeriod * 2.2 + Self.slack))
            let takeover = ContinuousClock.now - crashed
            #expect(takeover >= Self.leaseDuration / 2, "a crashed leader's lease must be waited out")
            #expect(takeover <= Self.leaseDuration + Self.retryPeriod * 2.2 + Self.slack)

            // Graceful release: the last candidate takes over within about one (jittered) retry period.
            let released = ContinuousClock.now
            await second.shutDown()
            #expect(!second.elector.isLeader)
            let third = try #require(rest.first { $0.identity != second.identity })
            #expect(await Self.waitForOneLeader([third], within: Self.retryPeriod * 2.2 + Self.slack) != nil)
            #expect(ContinuousClock.now - released < Self.leaseDuration, "release must not wait out the lease")
            let transitions = await double.storedObject(
                Lease.descriptor, namespace: "default", name: "hadron-operator")?[
                    path: ["spec", "leaseTransitions"]]?.intValue
            #expect(transitions == 2, "created at 0; one takeover; the release keeps the count; one more acquisition")
            #expect(second.metrics.contains("hadron_operator_is_leader 0"))
            #expect(second.metrics.contains("hadron_operator_leadership_changes_total 2"))
            await third.shutDown()
        }
    }

    @Test func aPartitionedLeaderStopsLeadingWithinTheRenewDeadline() async throws {
        try await Self.withDouble { double in
            let work = LeaderWorkProbe()
            let token = "token-lonely"
            double.addToken(token)
            var logger = Logger(label: "lonely")
            logger.logLevel = .critical
            let elector = try LeaseElector(
                configuration: LeaderElectionConfiguration(
                    leaseName: "hadron-operator", namespace: "default", identity: "lonely",
                    leaseDuration: Self.leaseDuration, renewDeadline: Self.renewDeadline, retryPeriod: Self.retryPeriod),
                client: KubeClient(configuration: double.tokenConfiguration(token: token), logger: logger),
                logger: logger,
                leaderWork: { await work.run() })
            let task = Task { try await elector.run() }
            #expect(await eventually { elector.isLeader })
            #expect(await eventually { await work.running })
            let updates = elector.leadershipUpdates()

            double.blackhole(token: token)
            let partitioned = ContinuousClock.now
            var iterator = updates.makeAsyncIterator()
            #expect(await iterator.next() == true)
            #expect(await iterator.next() == false)
            let stopped = ContinuousClock.now - partitioned
            #expect(stopped <= Self.renewDeadline + .milliseconds(700), "stopped after \(stopped)")
            #expect(await eventually(within: .seconds(2)) { await work.cancelled })

            // Reachable again, it campaigns and wins back the free Lease.
            double.heal(token: token)
            #expect(await eventually(within: Self.leaseDuration + .seconds(5)) { elector.isLeader })
            task.cancel()
            _ = await task.result
        }
    }

    @Test func operatorServesHealthAndMetrics() async throws {
        try await Self.withDouble { double in
            let registry = PrometheusCollectorRegistry()
            var logger = Logger(label: "operator")
            logger.logLevel = .critical
            let runtime = OperatorRuntime(
                settings: OperatorSettings(
                    host: "127.0.0.1", port: 0,
                    election: LeaderElectionConfiguration(
                        leaseName: "hadron-operator", namespace: "default", identity: "op-0",
                        // Generous: on a loaded machine a 1.5 s renew deadline can lapse, and a candidate that is
                        // not leader at shutdown rightly releases nothing — not what this test is about.
                        leaseDuration: .seconds(30), renewDeadline: .seconds(20), retryPeriod: .seconds(2))),
                client: KubeClient(configuration: double.tokenConfiguration(), logger: logger),
                registry: registry, logger: logger)
            let ports = AsyncStream<Int>.makeStream()
            let (group, elector) = try runtime.makeServiceGroup(signals: []) { _, port in
                ports.continuation.yield(port)
            }
            let task = Task { try await group.run() }
            var iterator = ports.stream.makeAsyncIterator()
            let port = try #require(await iterator.next())
            #expect(await eventually { elector.isLeader })

            let local = KubeClient(configuration: KubeConfiguration(server: "http://127.0.0.1:\(port)"), logger: logger)
            let health = try await local.send(method: "GET", path: "/healthz")
            #expect(String(decoding: health.body, as: UTF8.self) == "ok\n")
            let metrics = String(decoding: try await local.send(method: "GET", path: "/metrics").body, as: UTF8.self)
            #expect(metrics.contains("hadron_operator_is_leader 1"))
            #expect(metrics.contains("hadron_operator_leadership_changes_total 1"))

            await group.triggerGracefulShutdown()
            try await task.value
            let holder = await double.storedObject(Lease.descriptor, namespace: "default", name: "hadron-operator")?[
                path: ["spec", "holderIdentity"]]?.stringValue
            #expect(holder == "", "graceful shutdown releases the Lease")
        }
    }

    @Test func identityAndNamespaceFallbacks() {
        let configuration = KubeConfiguration(server: "https://x", namespace: "from-context")
        #expect(OperatorSettings.namespace(environment: ["NAMESPACE": "ns"], configuration: configuration) == "ns")
        #expect(OperatorSettings.namespace(environment: [:], configuration: configuration) == "from-context")
        #expect(
            OperatorSettings.identity(environment: ["POD_NAME": "op-1", "HOSTNAME": "h"], hostName: "x", processID: 1)
                == "op-1")
        #expect(OperatorSettings.identity(environment: ["HOSTNAME": "h"], hostName: "x", processID: 1) == "h")
        #expect(OperatorSettings.identity(environment: [:], hostName: "laptop", processID: 42) == "laptop-42")
    }
}

/// Leader work that runs until cancelled and says so.
actor LeaderWorkProbe {
    private(set) var running = false
    private(set) var cancelled = false

    func run() async {
        running = true
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        running = false
        cancelled = true
    }
}

func eventually(within timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
