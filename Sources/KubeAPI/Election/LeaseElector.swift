public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// Elects one leader among the replicas that share a `coordination.k8s.io/v1` Lease, with client-go's
/// algorithm (`k8s.io/client-go/tools/leaderelection`) and defaults.
///
/// - A candidate GETs the Lease (creating it on 404). When the record differs from the one it last
///   saw, it notes the *local monotonic* time; the Lease is held by another while that time plus
///   `leaseDurationSeconds` is in the future. The Lease's own timestamps are never compared with the
///   local clock, so clock skew between pods cannot elect two leaders.
/// - Otherwise it PUTs itself as holder with the GET's resourceVersion; a 409 only means "not this
///   round". Attempts repeat every `retryPeriod`, jittered by `jitterFactor` (2.0–4.4 s by default).
/// - A leader renews every `retryPeriod`; if no renewal succeeds within `renewDeadline` of the last
///   successful one — or another holder is observed — it stops leading: the leader work is
///   cancelled before the Lease can expire for the others. It then becomes a candidate again.
/// - On graceful shutdown a leader releases the Lease (empty holder, `leaseDurationSeconds: 1`).
///
/// Leader election gives no fencing: check `isLeader` (or re-read the Lease) before a write that
/// another leader could also make.
public final class LeaseElector: Service, Sendable {
    public let configuration: LeaderElectionConfiguration
    private let client: KubeClient
    private let logger: Logger
    private let leaderWork: (@Sendable () async throws -> Void)?
    private let isLeaderGauge: Gauge
    private let changesCounter: Counter

    private struct Observation: Sendable {
        var lease: Lease?
        var spec: LeaseSpec?
        var time: ContinuousClock.Instant?
        var isLeader = false
        var reportedHolder: String?
        var subscribers: [Int: AsyncStream<Bool>.Continuation] = [:]
        var nextSubscriber = 0
    }

    private let state = Mutex(Observation())

    /// - Parameters:
    ///   - leaderWork: runs while this candidate leads, cancelled as soon as it stops leading.
    ///   - metricsFactory: where `<prefix>_is_leader` and `<prefix>_leadership_changes_total` go
    ///     (the bootstrapped `MetricsSystem` by default).
    public init(
        configuration: LeaderElectionConfiguration,
        client: KubeClient,
        logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil,
        leaderWork: (@Sendable () async throws -> Void)? = nil
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.client = client
        var logger = logger
        logger[metadataKey: "lease"] = "\(configuration.namespace)/\(configuration.leaseName)"
        logger[metadataKey: "identity"] = "\(configuration.identity)"
        self.logger = logger
        self.leaderWork = leaderWork
        let factory = metricsFactory ?? MetricsSystem.factory
        self.isLeaderGauge = Gauge(label: configuration.metricsPrefix + "_is_leader", dimensions: [], factory: factory)
        self.changesCounter = Counter(
            label: configuration.metricsPrefix + "_leadership_changes_total", dimensions: [], factory: factory)
        self.isLeaderGauge.record(0)
    }

    /// Whether this candidate currently leads.
    public var isLeader: Bool { state.withLock { $0.isLeader } }

    /// Whether this candidate leads now, checked against a fresh read of the Lease: it believes it
    /// leads, and the API server names it as holder. Leader election gives no fencing, so a write that
    /// overrides someone else (a forced apply) asks this first; a deposed leader that has not noticed
    /// yet reads another holder here — or nothing, when it cannot reach the server — and backs off.
    public func confirmLeadership() async -> Bool {
        guard isLeader else { return false }
        var client = self.client
        client.requestTimeout = configuration.renewDeadline
        guard
            let lease = try? await client.get(
                Lease.self, name: configuration.leaseName, namespace: configuration.namespace)
        else { return false }
        return lease.spec?.holderIdentity == configuration.identity && isLeader
    }

    /// The holder of the Lease as last observed (`nil` before the first observation or when free).
    public var currentLeader: String? {
        state.withLock { observation in
            guard let holder = observation.spec?.holderIdentity, !holder.isEmpty else { return nil }
            return holder
        }
    }

    /// The current leadership of this candidate, then every change.
    public func leadershipUpdates() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream<Bool>.makeStream()
        let id = state.withLock { observation in
            let id = observation.nextSubscriber
            observation.nextSubscriber += 1
            observation.subscribers[id] = continuation
            continuation.yield(observation.isLeader)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Campaigns, leads and renews until cancelled or shut down gracefully; on graceful shutdown a
    /// leader releases the Lease first. Task cancellation alone does not release: that is a crash.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.campaign()
            }
        } catch is CancellationError {
            // Shutdown (graceful or not) ends the campaign; handled below.
        }
        if configuration.releaseOnShutdown, isLeader, !Task.isCancelled {
            await release()
        }
        setLeader(false)
        // Finish outside the lock: finishing runs `onTermination`, which takes the lock.
        let subscribers = state.withLock { observation in
            defer { observation.subscribers.removeAll() }
            return Array(observation.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    private func campaign() async throws {
        while true {
            try await acquire()
            setLeader(true)
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let leaderWork {
                    group.addTask { [logger] in
                        do {
                            try await leaderWork()
                        } catch is CancellationError {
                        } catch {
                            logger.error("Leader work failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
                try await self.renewUntilLost()
                group.cancelAll()
            }
            setLeader(false)
        }
    }

    /// Tries until this candidate holds the Lease (client-go's `acquire`: `JitterUntil`, sliding).
    private func acquire() async throws {
        logger.info("Attempting to acquire the leader lease")
        while true {
            let deadline = ContinuousClock.now + configuration.renewDeadline
            if try await tryAcquireOrRenew(deadline: deadline) {
                logger.info("Acquired the leader lease")
                return
            }
            let period = configuration.retryPeriod.seconds
            try await Task.sleep(for: .seconds(period + Double.random(in: 0...1) * configuration.jitterFactor * period))
        }
    }

    /// Renews every `retryPeriod`; returns when leadership is lost.
    private func renewUntilLost() async throws {
        var lastRenewal = ContinuousClock.now
        while true {
            let deadline = lastRenewal + configuration.renewDeadline
            try await Task.sleep(until: min(ContinuousClock.now + configuration.retryPeriod, deadline))
            let attemptStart = ContinuousClock.now
            if attemptStart >= deadline {
                logger.error("Failed to renew the leader lease within the renew deadline; stopping leader work")
                return
            }
            if try await tryAcquireOrRenew(deadline: deadline) {
                lastRenewal = attemptStart
            } else if observedHolderIsOther {
                logger.warning("Another candidate holds the leader lease; stopping leader work")
                return
            }
        }
    }

    private var observedHolderIsOther: Bool {
        state.withLock { observation in
            guard let holder = observation.spec?.holderIdentity else { return false }
            return !holder.isEmpty && holder != configuration.identity
        }
    }

    /// client-go's `tryAcquireOrRenew`. Each request is bounded by `deadline`. Never throws but for
    /// cancellation: every failure is "not this round".
    private func tryAcquireOrRenew(deadline: ContinuousClock.Instant) async throws -> Bool {
        let now = MicroTime.now()
        let identity = configuration.identity
        var record = LeaseSpec(
            holderIdentity: identity, leaseDurationSeconds: configuration.leaseDurationSeconds,
            acquireTime: now, renewTime: now, leaseTransitions: 0)

        let current: Lease
        do {
            current = try await bounded(deadline).get(
                Lease.self, name: configuration.leaseName, namespace: configuration.namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            do {
                let created = try await bounded(deadline).create(
                    Lease(
                        metadata: ObjectMeta(name: configuration.leaseName, namespace: configuration.namespace),
                        spec: record))
                observe(created, spec: created.spec ?? record)
                return true
            } catch {
                try rethrowIfCancelled(error)
                logger.debug("Failed to create the leader lease", metadata: ["error": "\(error)"])
                return false
            }
        } catch {
            try rethrowIfCancelled(error)
            logger.debug("Failed to get the leader lease", metadata: ["error": "\(error)"])
            return false
        }

        let old = current.spec ?? LeaseSpec()
        let (heldByOther, wasLeader) = state.withLock { observation -> (Bool, Bool) in
            if observation.spec != old || observation.time == nil {
                observation.spec = old
                observation.time = ContinuousClock.now
            }
            observation.lease = current
            let holder = old.holderIdentity ?? ""
            let duration = Duration.seconds(old.leaseDurationSeconds ?? 0)
            let valid = observation.time.map { $0 + duration > ContinuousClock.now } ?? false
            let leading = holder == identity
            return (!holder.isEmpty && valid && !leading, leading)
        }
        reportHolder()
        if heldByOther { return false }

        if wasLeader {
            record.acquireTime = old.acquireTime
            record.leaseTransitions = old.leaseTransitions ?? 0
        } else {
            record.leaseTransitions = (old.leaseTransitions ?? 0) + 1
        }
        var updated = current
        updated.spec = record
        do {
            let written = try await bounded(deadline).replace(updated)
            observe(written, spec: written.spec ?? record)
            return true
        } catch {
            try rethrowIfCancelled(error)
            logger.debug("Failed to update the leader lease", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// client-go's `release`: an empty holder and a one-second lease, with the last written
    /// resourceVersion. A renewal cut off by the shutdown may still have landed, leaving that
    /// resourceVersion stale: on a 409 the Lease is read again and, if this candidate still holds
    /// it, released with the fresh resourceVersion.
    private func release() async {
        guard var lease = state.withLock({ $0.lease }), lease.spec?.holderIdentity == configuration.identity else {
            return
        }
        let deadline = ContinuousClock.now + configuration.renewDeadline
        for attempt in 1...3 {
            let now = MicroTime.now()
            var released = lease
            let spec = LeaseSpec(
                holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now,
                leaseTransitions: lease.spec?.leaseTransitions ?? 0)
            released.spec = spec
            do {
                let written = try await bounded(deadline).replace(released)
                observe(written, spec: written.spec ?? spec)
                logger.info("Released the leader lease")
                return
            } catch let error as KubeAPIError where error.isConflict && attempt < 3 {
                do {
                    lease = try await bounded(deadline).get(
                        Lease.self, name: configuration.leaseName, namespace: configuration.namespace)
                } catch {
                    logger.warning("Failed to release the leader lease", metadata: ["error": "\(error)"])
                    return
                }
                guard lease.spec?.holderIdentity == configuration.identity else { return }
            } catch {
                logger.warning("Failed to release the leader lease", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func observe(_ lease: Lease, spec: LeaseSpec) {
        state.withLock { observation in
            observation.lease = lease
            observation.spec = spec
            observation.time = ContinuousClock.now
        }
        reportHolder()
    }

    /// Logs a change of the observed holder (client-go's `OnNewLeader`).
    private func reportHolder() {
        let change: String?? = state.withLock { observation in
            let holder = observation.spec?.holderIdentity.flatMap { $0.isEmpty ? nil : $0 }
            guard holder != observation.reportedHolder else { return .none }
            observation.reportedHolder = holder
            return .some(holder)
        }
        if let change {
            logger.info("Leader observed", metadata: ["leader": "\(change ?? "(none)")"])
        }
    }

    private func setLeader(_ leading: Bool) {
        let changed = state.withLock { observation -> Bool in
            guard observation.isLeader != leading else { return false }
            observation.isLeader = leading
            for subscriber in observation.subscribers.values { subscriber.yield(leading) }
            return true
        }
        guard changed else { return }
        isLeaderGauge.record(leading ? 1 : 0)
        changesCounter.increment()
        if leading {
            logger.notice("Became the leader")
        } else {
            logger.notice("Stopped leading")
        }
    }

    private func bounded(_ deadline: ContinuousClock.Instant) -> KubeClient {
        var bounded = client
        bounded.requestTimeout = max(deadline - ContinuousClock.now, .milliseconds(1))
        return bounded
    }

    private func rethrowIfCancelled(_ error: any Error) throws {
        if error is CancellationError || Task.isCancelled { throw CancellationError() }
    }
}
