public import HadronCore
public import KubeAPI
public import Logging
import Synchronization

/// The operator's leader work: informers on the Hadron CRs and everything the operator makes, a
/// queue of keys fed by their changes and a periodic resync, and one worker that runs the cluster
/// and stream reconcilers over it. `run()` is one term of leadership: the elector starts it on
/// acquiring the Lease and cancels it on losing it; each term starts from the server's state.
public final class OperatorController: Sendable {
    public struct Settings: Sendable {
        /// Namespace to watch; nil watches all namespaces.
        public var namespace: String?
        /// Every key gets a pass this often, changed or not (level-based: drift is repaired).
        public var resyncPeriod: Duration
        /// The image of HadronClusters without `spec.image` (the operator's own, from its chart).
        public var defaultImage: String?
        /// First retry of a failed pass; doubles per failure up to `maximumBackoff`.
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        /// How long a partition leader's pod may be not Ready (or gone) before another replica is
        /// elected, and a follower's before it leaves the ISR (DESIGN.md §6).
        public var failoverTimeout: Duration
        /// The URL storage pods send ISR reports to (the operator's Service); passed to them as `--operator-url`.
        public var operatorURL: String?

        public init(
            namespace: String? = nil, resyncPeriod: Duration = .seconds(30), defaultImage: String? = nil,
            initialBackoff: Duration = .milliseconds(500), maximumBackoff: Duration = .seconds(30),
            failoverTimeout: Duration = .seconds(5), operatorURL: String? = nil
        ) {
            self.operatorURL = operatorURL
            self.namespace = namespace
            self.resyncPeriod = resyncPeriod
            self.defaultImage = defaultImage
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.failoverTimeout = failoverTimeout
        }
    }

    public let settings: Settings
    private let client: KubeClient
    private let logger: Logger
    private let applier: ObjectApplier
    private let queue = ReconcileQueue()
    private let term = Mutex<ObjectCaches?>(nil)
    private let passCount = Atomic<Int>(0)
    private let isrReports = ISRReports()

    public init(client: KubeClient, settings: Settings, leadership: any LeadershipCheck, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
        self.applier = ObjectApplier(
            client: client, leadership: leadership, fieldManager: ClusterNames.fieldManager, logger: logger)
    }

    /// Whether a term is running (this process leads and its informers are synced).
    public var isReconciling: Bool { term.withLock { $0 != nil } }

    /// Passes run since the process started.
    public var passes: Int { passCount.load(ordering: .relaxed) }

    /// Apply requests written since the process started.
    public var writes: Int { get async { await applier.writes } }

    /// Queues a pass for every Hadron CR and returns once all of them ran — a resync on demand.
    /// Returns at once when no term is running.
    public func reconcileAll() async {
        guard let caches = term.withLock({ $0 }) else { return }
        for key in await Self.allKeys(caches) { await queue.add(key) }
        await queue.barrier()
    }

    /// One term of leadership; returns when cancelled.
    public func run() async throws {
        let caches = ObjectCaches(client: client, namespace: settings.namespace)
        await applier.reset()
        logger.info("Reconciling", metadata: ["namespace": "\(settings.namespace ?? "(all)")"])
        defer { logger.info("Stopped reconciling") }
        try await withThrowingDiscardingTaskGroup { group in
            for kind in caches.kinds.values {
                let changes = await kind.changes()
                group.addTask { [queue] in
                    for await objects in changes {
                        for key in await Self.keys(for: objects, kind: kind.descriptor, caches: caches) {
                            await queue.add(key)
                        }
                    }
                }
            }
            let podChanges = await caches.podChanges()
            group.addTask { [queue] in
                for await change in podChanges {
                    for key in await Self.keys(forPodChange: change, caches: caches) { await queue.add(key) }
                }
            }
            group.addTask { try await caches.run() }
            await caches.waitUntilSynced()
            try Task.checkCancellation()

            term.withLock { $0 = caches }
            let number = await queue.reopen()
            defer {
                term.withLock { $0 = nil }
                isrReports.failAll(NotReconciling())
            }
            group.addTask { [queue, settings] in
                while true {
                    try await Task.sleep(for: settings.resyncPeriod)
                    for key in await Self.allKeys(caches) { await queue.add(key) }
                }
            }
            for key in await Self.allKeys(caches) { await queue.add(key) }
            try await withTaskCancellationHandler {
                try await work(caches: caches, group: &group)
            } onCancel: { [queue] in
                Task { await queue.close(term: number) }
            }
            group.cancelAll()
        }
    }

    /// The worker: one pass at a time until the term ends. A failed pass is retried after a backoff
    /// that doubles per consecutive failure of its key — a pass that could not confirm the Lease
    /// too: if this process really lost it, the elector ends the term within its renew deadline;
    /// if the check only failed to reach the server, the next attempt goes through.
    private func work(caches: ObjectCaches, group: inout ThrowingDiscardingTaskGroup<any Error>) async throws {
        let clusters = ClusterReconciler(
            client: client, applier: applier, caches: caches, defaultImage: settings.defaultImage,
            operatorURL: settings.operatorURL, logger: logger)
        let streams = StreamReconciler(
            client: client, applier: applier, caches: caches, logger: logger,
            failoverTimeout: settings.failoverTimeout, readiness: PodReadinessHistory())
        var failures: [ReconcileKey: Int] = [:]
        /// The passes already scheduled for a deadline, so that every pass before it does not add another.
        var scheduled: [ReconcileKey: ContinuousClock.Instant] = [:]
        while let item = await queue.next() {
            guard case .key(let key) = item else {
                if case .barrier(let continuation) = item { continuation.resume() }
                continue
            }
            passCount.wrappingAdd(1, ordering: .relaxed)
            do {
                var deadline: ContinuousClock.Instant?
                switch key {
                case .cluster(let namespace, let name): try await clusters.reconcile(namespace: namespace, name: name)
                case .stream(let namespace, let name):
                    let reports = isrReports.take(key)
                    do {
                        let outcome = try await streams.reconcile(
                            namespace: namespace, name: name, reports: reports.map(\.change))
                        for (report, result) in zip(reports, outcome.reports) {
                            report.answer.resume(with: result.mapError { $0 as any Error })
                        }
                        deadline = outcome.nextDeadline
                    } catch {
                        for report in reports { report.answer.resume(throwing: error) }
                        throw error
                    }
                }
                failures[key] = nil
                let now = ContinuousClock.now
                if let deadline, !(scheduled[key].map { $0 > now && $0 <= deadline } ?? false) {
                    scheduled[key] = deadline
                    group.addTask { [queue] in
                        try await Task.sleep(until: deadline, clock: .continuous)
                        await queue.add(key)
                    }
                }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let count = (failures[key] ?? 0) + 1
                failures[key] = count
                let delay = min(settings.initialBackoff * (1 << min(count - 1, 16)), settings.maximumBackoff)
                logger.warning(
                    "Pass failed; retrying", metadata: ["key": "\(key)", "error": "\(error)", "retry.in": "\(delay)"])
                group.addTask { [queue] in
                    try await Task.sleep(for: delay)
                    await queue.add(key)
                }
            }
        }
        try Task.checkCancellation()
    }

    /// Records a partition leader's ISR report in its Stream's status (DESIGN.md §6) and returns the partition as
    /// written, once it is. The report joins the Stream's next pass, so it is recorded by the same status write as
    /// everything else the pass decides.
    ///
    /// - Throws: ``ISRChangeRefusal`` when the sender does not lead the partition at that epoch, the set is
    ///   malformed or adds a replica whose pod is not Ready; ``NotReconciling`` when this process does not lead
    ///   (or its term ended before the pass); the pass's error when the status could not be written.
    public func recordISR(namespace: String, _ change: ISRChange) async throws -> PartitionInfo {
        guard isReconciling else { throw NotReconciling() }
        let key = ReconcileKey.stream(namespace: namespace, name: change.stream)
        return try await withCheckedThrowingContinuation { continuation in
            isrReports.add(.init(change: change, answer: continuation), for: key)
            // A term that ended meanwhile has failed every report it had; fail this one too.
            guard isReconciling else {
                isrReports.failAll(NotReconciling())
                return
            }
            Task { [queue] in await queue.add(key) }
        }
    }

    static func allKeys(_ caches: ObjectCaches) async -> [ReconcileKey] {
        func identity(_ object: JSONValue) -> (String, String)? {
            guard let namespace = object[path: ["metadata", "namespace"]]?.stringValue,
                let name = object[path: ["metadata", "name"]]?.stringValue
            else { return nil }
            return (namespace, name)
        }
        let clusters = await caches.objects(HadronCluster.descriptor).compactMap(identity).sorted { $0 < $1 }
        let streams = await caches.objects(HadronStream.descriptor).compactMap(identity).sorted { $0 < $1 }
        return clusters.map { ReconcileKey.cluster(namespace: $0.0, name: $0.1) }
            + streams.map { ReconcileKey.stream(namespace: $0.0, name: $0.1) }
    }

    /// The passes a change of objects of `kind` calls for.
    static func keys(for objects: [JSONValue], kind: ResourceDescriptor, caches: ObjectCaches) async -> [ReconcileKey] {
        var keys: [ReconcileKey] = []
        for object in objects {
            guard let namespace = object[path: ["metadata", "namespace"]]?.stringValue,
                let name = object[path: ["metadata", "name"]]?.stringValue
            else { continue }
            switch kind {
            case HadronStream.descriptor:
                keys.append(.stream(namespace: namespace, name: name))
            case HadronCluster.descriptor:
                keys.append(.cluster(namespace: namespace, name: name))
                keys += await streams(of: name, namespace: namespace, caches: caches)
            default:
                let labels = object[path: ["metadata", "labels"]]
                if let stream = labels?[ClusterNames.streamLabel]?.stringValue {
                    keys.append(.stream(namespace: namespace, name: stream))
                } else if let cluster = labels?[ClusterNames.instanceLabel]?.stringValue {
                    keys.append(.cluster(namespace: namespace, name: cluster))
                }
            }
        }
        return keys
    }

    /// A storage pod that appears, goes, or changes readiness or labels can change placement.
    static func keys(forPodChange change: Informer<Pod>.Change, caches: ObjectCaches) async -> [ReconcileKey] {
        let pod: Pod
        switch change {
        case .added(let added), .deleted(let added): pod = added
        case .updated(let old, let new):
            guard
                old.status?.isReady != new.status?.isReady || old.metadata.labels != new.metadata.labels
                    || (old.metadata.deletionTimestamp == nil) != (new.metadata.deletionTimestamp == nil)
            else { return [] }
            pod = new
        }
        guard let namespace = pod.metadata.namespace, let cluster = pod.metadata.labels?[ClusterNames.instanceLabel]
        else { return [] }
        return await streams(of: cluster, namespace: namespace, caches: caches)
    }

    static func streams(of cluster: String, namespace: String, caches: ObjectCaches) async -> [ReconcileKey] {
        await caches.objects(HadronStream.descriptor, namespace: namespace).compactMap { stream in
            guard stream[path: ["spec", "cluster"]]?.stringValue == cluster,
                let name = stream[path: ["metadata", "name"]]?.stringValue
            else { return nil }
            return .stream(namespace: namespace, name: name)
        }
    }
}

/// This operator process is not reconciling: it does not hold the Lease, or its term has not started or has ended.
public struct NotReconciling: Error, Sendable, CustomStringConvertible {
    public var description: String { "this operator replica does not lead (or has not finished starting to)" }
}
