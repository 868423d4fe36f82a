import HadronCore
import KubeAPI
import Logging
import Placement

/// Brings one Stream's partition placement, per-partition Services and status in line
/// (DESIGN.md §5, §6): partitions grow, never shrink; a Service per partition selects its leader
/// pod; Services the stream no longer declares are listed as stale and left alone.
struct StreamReconciler: Sendable {
    let client: KubeClient
    let applier: ObjectApplier
    let caches: ObjectCaches
    let logger: Logger

    /// How long a replica's pod may be not Ready before it loses leadership or its ISR place.
    let failoverTimeout: Duration
    /// Since when each pod has been seen not Ready, in this term.
    let readiness: PodReadinessHistory

    /// What one pass decided beyond the objects it wrote.
    struct Outcome: Sendable {
        /// When the next pass is due although nothing may change in between (a not-ready pod's failover timeout
        /// expiring); nil when only changes call for one.
        var nextDeadline: ContinuousClock.Instant?
        /// The answer to each ISR report of the pass, in order: the partition as written, or why not recorded.
        var reports: [Result<PartitionInfo, ISRChangeRefusal>]
    }

    /// One pass over Stream `namespace/name`, recording `reports` (ISR changes from partition leaders) in the same
    /// status write as everything else the pass decides.
    func reconcile(namespace: String, name: String, reports: [ISRChange] = []) async throws -> Outcome {
        func refuseAll(_ message: String) -> Outcome {
            Outcome(reports: reports.map { _ in .failure(ISRChangeRefusal(.unknownPartition, message)) })
        }
        let stream: HadronStream
        do {
            stream = try await client.get(HadronStream.self, name: name, namespace: namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            return refuseAll("Stream \(namespace)/\(name) does not exist")
        }
        guard stream.metadata.deletionTimestamp == nil else {
            return refuseAll("Stream \(namespace)/\(name) is being deleted")
        }
        let spec = stream.spec ?? HadronStream.Spec()

        guard let cluster = spec.cluster, !cluster.isEmpty else {
            var conditions = ConditionSet(previous: stream.status?.conditions, generation: stream.metadata.generation)
            conditions.set(
                "Ready", false, reason: "ClusterNotSpecified",
                message: "set spec.cluster to the HadronCluster to run on")
            conditions.set("Degraded", false, reason: "AsExpected", message: "nothing to apply")
            try await writeStatus(stream, partitions: stream.status?.partitions, conditions: conditions, stale: [])
            return refuseAll("Stream \(namespace)/\(name) names no cluster")
        }
        var plan = StreamPlan(
            spec: spec, recorded: stream.status?.partitions ?? [],
            candidates: await storageCandidates(namespace: namespace, cluster: cluster))
        let health = await replicaHealth(namespace: namespace, replicas: plan.partitions.flatMap(\.replicas))
        // Reports first, as their leaders saw the recorded state: a failover in this pass starts from what they
        // reported (a shrink already recorded cannot be undone by it).
        var recorded: [Result<Int, ISRChangeRefusal>] = []
        for change in reports {
            let index = plan.partitions.firstIndex { $0.partition == change.partition }
            do {
                let partition = try ISRRecord.record(
                    change, in: index.map { plan.partitions[$0] }, isEligible: { health[$0] == .ready },
                    ineligibility: "its pod is not Ready")
                plan.partitions[index!] = partition
                recorded.append(.success(index!))
            } catch {
                recorded.append(.failure(error))
            }
        }
        let failover = StreamFailover(
            partitions: plan.partitions, health: health, now: .now, timeout: failoverTimeout,
            allowsUncleanElection: spec.uncleanLeaderElection ?? false)

        var failures: [String] = []
        var previousConditions = stream.status?.conditions
        if failover.beginsElection {
            // Phase one on its own: Services select nothing and status says Electing before any
            // replica is told it leads at the new epoch.
            for (before, after) in zip(plan.partitions, failover.electing) where before != after {
                logger.warning(
                    "Leader lost",
                    metadata: [
                        "stream": "\(namespace)/\(name)", "partition.id": "\(before.partition)",
                        "leader": "\(before.leader ?? "none")", "epoch": "\(before.epoch)",
                    ])
            }
            let (phaseOne, written) = try await publish(
                stream, cluster: cluster, plan: plan, partitions: failover.electing, previous: previousConditions)
            failures += phaseOne
            previousConditions = written
        }
        for (before, after) in zip(failover.electing, failover.assigned) {
            logElection(stream: "\(namespace)/\(name)", before: before, after: after)
        }
        let (phaseTwo, _) = try await publish(
            stream, cluster: cluster, plan: plan, partitions: failover.assigned, previous: previousConditions)
        failures += phaseTwo
        if !failures.isEmpty { throw ReconcileError.partial(failures) }
        return Outcome(
            nextDeadline: failover.nextDeadline, reports: recorded.map { $0.map { failover.assigned[$0] } })
    }

    /// Applies the partition Services and writes status for `partitions`; returns the objects that
    /// could not be applied and the conditions written.
    private func publish(
        _ stream: HadronStream, cluster: String, plan: StreamPlan, partitions: [PartitionInfo],
        previous: [Condition]?
    ) async throws -> ([String], [Condition]) {
        let namespace = stream.metadata.namespace ?? ""
        let name = stream.name
        var conditions = ConditionSet(previous: previous, generation: stream.metadata.generation)
        var failures: [String] = []
        let clusterExists =
            await caches.object(HadronCluster.descriptor, namespace: namespace, name: cluster) != nil

        var services: [DesiredObject] = []
        var serviceNames: [String] = []
        for partition in partitions {
            let serviceName = ClusterNames.partitionService(
                cluster: cluster, stream: name, partition: partition.partition)
            serviceNames.append(serviceName)
            services.append(try DesiredObject(partitionService(stream, cluster: cluster, partition, name: serviceName)))
        }
        let namesValid = serviceNames.allSatisfy(ClusterNames.isValidServiceName)
        if namesValid {
            for service in services {
                do {
                    try await applier.ensure(
                        service,
                        cached: await caches.object(KubeService.descriptor, namespace: namespace, name: service.name))
                } catch let error as ApplyError where error.isNotLeading {
                    throw error
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.warning("Apply failed", metadata: ["object": "\(service.key)", "error": "\(error)"])
                    failures.append("Service \(service.name): \(error)")
                }
            }
        }

        let declared = Set(serviceNames)
        var stale: [StaleObject] = []
        for object in await caches.objects(KubeService.descriptor, namespace: namespace) {
            guard object[path: ["metadata", "labels", ClusterNames.streamLabel]]?.stringValue == name,
                let serviceName = object[path: ["metadata", "name"]]?.stringValue, !declared.contains(serviceName)
            else { continue }
            stale.append(
                StaleObject(
                    apiVersion: "v1", kind: "Service", name: serviceName,
                    reason: "Stream \(name) declares no such partition Service; delete it when it is no longer needed"))
        }
        stale.sort { $0.name < $1.name }

        let online = partitions.filter { $0.state == .online && $0.leader != nil }.count
        let total = partitions.count
        if !namesValid {
            conditions.set(
                "Ready", false, reason: "InvalidName",
                message: "partition Service names such as \(serviceNames[0]) are not DNS-1035 labels (at most 63 "
                    + "characters, a letter first): shorten the cluster or stream name")
        } else if !clusterExists {
            conditions.set(
                "Ready", false, reason: "ClusterNotFound",
                message: "HadronCluster \(cluster) does not exist in \(namespace)")
        } else if let shortage = plan.shortage {
            conditions.set(
                "Ready", false, reason: "AwaitingStorageNodes",
                message: "\(online) of \(total) partitions online; placing the rest \(shortage)")
        } else if online == total {
            conditions.set("Ready", true, reason: "PartitionsOnline", message: "\(total) of \(total) partitions online")
        } else {
            conditions.set(
                "Ready", false, reason: "PartitionsUnavailable", message: "\(online) of \(total) partitions online")
        }
        if let failure = failures.first {
            conditions.set(
                "Degraded", true, reason: "ApplyFailed",
                message: "\(failures.count) object(s) could not be applied; first: \(failure)")
        } else if let shrink = plan.refusedShrink {
            conditions.set(
                "Degraded", true, reason: "PartitionShrinkRejected",
                message: "spec.partitions is \(shrink.requested) but the stream has \(shrink.existing) partitions; "
                    + "partitions never shrink (keys map to partitions by count): set spec.partitions to at least "
                    + "\(shrink.existing)")
        } else {
            conditions.set("Degraded", false, reason: "AsExpected", message: "every declared object is applied")
        }
        let entries = zip(partitions, serviceNames).map { StreamPlan.partitionStatus($0, service: $1) }
        try await writeStatus(stream, partitions: entries, conditions: conditions, stale: stale)
        return (failures, conditions.conditions)
    }

    /// The health of every replica's pod as observed now (a pod missing from the cache is gone).
    private func replicaHealth(namespace: String, replicas: [String]) async -> [String: StreamFailover.PodHealth] {
        let pods = Dictionary(
            await caches.storagePods(namespace: namespace).map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first })
        let now = ContinuousClock.now
        var health: [String: StreamFailover.PodHealth] = [:]
        for replica in Set(replicas) {
            health[replica] = readiness.observe(namespace: namespace, pod: replica, pods[replica], now: now)
        }
        return health
    }

    private func logElection(stream: String, before: PartitionInfo, after: PartitionInfo) {
        guard after != before else { return }
        var metadata: Logger.Metadata = [
            "stream": "\(stream)", "partition.id": "\(after.partition)", "epoch": "\(after.epoch)",
            "isr": "\(after.isr.joined(separator: ","))",
        ]
        if after.state == .online, after.leader == before.leader {
            logger.info("In-sync replicas shrunk: a follower's pod is not ready", metadata: metadata)
        } else if let leader = after.leader {
            metadata["leader"] = "\(leader)"
            if before.isr.contains(leader) {
                logger.info("Leader changed", metadata: metadata)
            } else {
                metadata["election"] = "unclean"
                logger.warning("Leader changed by unclean election: committed events may be lost", metadata: metadata)
            }
        } else {
            logger.error("Partition unavailable: no in-sync replica is ready", metadata: metadata)
        }
    }

    /// The cluster's storage pods that may take replicas: ready, not terminating, named as the
    /// StatefulSet names its pods.
    func storageCandidates(namespace: String, cluster: String) async -> [ReplicaPlacement.Candidate] {
        await caches.storagePods(namespace: namespace).compactMap { pod in
            let labels = pod.metadata.labels ?? [:]
            guard labels[ClusterNames.instanceLabel] == cluster,
                labels[ClusterNames.componentLabel] == "storage",
                ClusterNames.storageOrdinal(pod.name, cluster: cluster) != nil,
                pod.metadata.deletionTimestamp == nil, pod.status?.isReady == true
            else { return nil }
            return ReplicaPlacement.Candidate(id: pod.name, labels: labels)
        }
    }

    /// The Service gateways reach partition `partition` through: it selects the leader pod alone, and
    /// nothing while the partition has no leader (no endpoints: clients get a fast failure, not a
    /// replica that would refuse the write).
    func partitionService(_ stream: HadronStream, cluster: String, _ partition: PartitionInfo, name: String)
        -> KubeService
    {
        var labels = ClusterNames.labels(cluster: cluster, component: "partition")
        labels[ClusterNames.streamLabel] = stream.name
        labels[ClusterNames.partitionLabel] = String(partition.partition)
        let leader = partition.state == .online ? partition.leader : nil
        return KubeService(
            metadata: ObjectMeta(
                name: name, namespace: stream.metadata.namespace, labels: labels,
                ownerReferences: [
                    ClusterNames.ownerReference(descriptor: HadronStream.descriptor, metadata: stream.metadata)
                ]),
            spec: ServiceSpec(
                type: "ClusterIP", selector: leader.map { [ClusterNames.podNameLabel: $0] },
                ports: [
                    ServicePort(
                        name: "internal", port: ClusterNames.storagePort, targetPort: "internal", protocol: "TCP")
                ]))
    }

    private func writeStatus(
        _ stream: HadronStream, partitions: [HadronStream.PartitionStatus]?, conditions: ConditionSet,
        stale: [StaleObject]
    ) async throws {
        let status = HadronStream.Status(
            observedGeneration: stream.metadata.generation, partitions: partitions, conditions: conditions.conditions,
            stale: stale.isEmpty ? nil : stale)
        let namespace = stream.metadata.namespace ?? ""
        try await applier.ensure(
            DesiredObject(
                statusOf: HadronStream.descriptor, namespace: namespace, name: stream.name,
                status: try JSONValue(encoding: status)),
            cached: await caches.object(HadronStream.descriptor, namespace: namespace, name: stream.name))
    }
}
