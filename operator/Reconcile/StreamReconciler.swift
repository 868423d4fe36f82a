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

    func reconcile(namespace: String, name: String) async throws {
        let stream: HadronStream
        do {
            stream = try await client.get(HadronStream.self, name: name, namespace: namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            return
        }
        guard stream.metadata.deletionTimestamp == nil else { return }
        let spec = stream.spec ?? HadronStream.Spec()
        var conditions = ConditionSet(previous: stream.status?.conditions, generation: stream.metadata.generation)
        var failures: [String] = []

        guard let cluster = spec.cluster, !cluster.isEmpty else {
            conditions.set(
                "Ready", false, reason: "ClusterNotSpecified",
                message: "set spec.cluster to the HadronCluster to run on")
            conditions.set("Degraded", false, reason: "AsExpected", message: "nothing to apply")
            try await writeStatus(stream, partitions: stream.status?.partitions, conditions: conditions, stale: [])
            return
        }
        let clusterExists =
            await caches.object(HadronCluster.descriptor, namespace: namespace, name: cluster) != nil
        let plan = StreamPlan(
            spec: spec, recorded: stream.status?.partitions ?? [],
            candidates: await storageCandidates(namespace: namespace, cluster: cluster))

        var services: [DesiredObject] = []
        var serviceNames: [String] = []
        for partition in plan.partitions {
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

        let online = plan.partitions.filter { $0.state == .online && $0.leader != nil }.count
        let total = plan.partitions.count
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
        } else if plan.isOnline {
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
        let partitions = zip(plan.partitions, serviceNames).map { StreamPlan.partitionStatus($0, service: $1) }
        try await writeStatus(stream, partitions: partitions, conditions: conditions, stale: stale)
        if !failures.isEmpty { throw ReconcileError.partial(failures) }
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
