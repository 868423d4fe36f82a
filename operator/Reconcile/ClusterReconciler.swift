import KubeAPI
import Logging

/// Brings one HadronCluster's objects and status in line with its spec (level-based: every pass
/// starts from the CR and what the server holds, never from what happened before).
struct ClusterReconciler: Sendable {
    let client: KubeClient
    let applier: ObjectApplier
    let caches: ObjectCaches
    let defaultImage: String?
    let operatorURL: String?
    let logger: Logger

    /// The cluster-level kinds the operator applies (partition Services belong to Streams).
    static let ownedKinds: [ResourceDescriptor] = [
        ServiceAccount.descriptor, Role.descriptor, RoleBinding.descriptor, KubeService.descriptor,
        PodDisruptionBudget.descriptor, StatefulSet.descriptor, Deployment.descriptor, Ingress.descriptor,
    ]

    func reconcile(namespace: String, name: String) async throws {
        let cluster: HadronCluster
        do {
            cluster = try await client.get(HadronCluster.self, name: name, namespace: namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            // Deleted: garbage collection removes what it owned.
            await applier.forget { $0.namespace == namespace && ($0.name == name || $0.name.hasPrefix(name + "-")) }
            return
        }
        guard cluster.metadata.deletionTimestamp == nil else { return }

        let storageName = ClusterNames.storage(name)
        let existing = await caches.object(StatefulSet.descriptor, namespace: namespace, name: storageName)
        let blueprint = ClusterBlueprint(
            cluster: cluster, defaultImage: defaultImage, existingVolume: Self.volume(of: existing),
            operatorURL: operatorURL)
        let objects = try blueprint.objects()

        var observed: [ObjectKey: JSONValue] = [:]
        var failures: [String] = []
        for object in objects {
            do {
                let cached = await caches.object(object.descriptor, namespace: namespace, name: object.name)
                let (_, current) = try await applier.ensure(object, cached: cached)
                if let current { observed[object.key] = current }
            } catch let error as ApplyError where error.isNotLeading {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("Apply failed", metadata: ["object": "\(object.key)", "error": "\(error)"])
                failures.append("\(object.descriptor.kind) \(object.name): \(error)")
            }
        }

        let declared = Set(objects.map(\.key))
        var stale: [StaleObject] = []
        for descriptor in Self.ownedKinds {
            for object in await caches.objects(descriptor, namespace: namespace) {
                let labels = object[path: ["metadata", "labels"]]
                guard labels?[ClusterNames.instanceLabel]?.stringValue == name,
                    labels?[ClusterNames.streamLabel] == nil,
                    let objectName = object[path: ["metadata", "name"]]?.stringValue,
                    !declared.contains(ObjectKey(descriptor, namespace: namespace, name: objectName))
                else { continue }
                stale.append(
                    StaleObject(
                        apiVersion: descriptor.apiVersion, kind: descriptor.kind, name: objectName,
                        reason: "HadronCluster \(name) no longer declares it; delete it when it is no longer needed"))
            }
        }

        let status = Self.status(
            cluster: cluster, blueprint: blueprint,
            storage: observed[ObjectKey(StatefulSet.descriptor, namespace: namespace, name: storageName)] ?? existing,
            gateway: observed[ObjectKey(Deployment.descriptor, namespace: namespace, name: ClusterNames.gateway(name))],
            failures: failures, stale: stale)
        try await applier.ensure(
            DesiredObject(
                statusOf: HadronCluster.descriptor, namespace: namespace, name: name,
                status: try JSONValue(encoding: status)),
            cached: await caches.object(HadronCluster.descriptor, namespace: namespace, name: name))
        if !failures.isEmpty { throw ReconcileError.partial(failures) }
    }

    /// The size and class of the storage StatefulSet's claim template, if it exists.
    static func volume(of statefulSet: JSONValue?) -> (size: String, storageClassName: String?)? {
        guard let claim = statefulSet?[path: ["spec", "volumeClaimTemplates"]]?.arrayValue?.first,
            let size = claim[path: ["spec", "resources", "requests", "storage"]]?.stringValue
        else { return nil }
        return (size, claim[path: ["spec", "storageClassName"]]?.stringValue)
    }

    static func status(
        cluster: HadronCluster, blueprint: ClusterBlueprint, storage: JSONValue?, gateway: JSONValue?,
        failures: [String], stale: [StaleObject]
    ) -> HadronConditions {
        let generation = cluster.metadata.generation
        let storageState = WorkloadState(storage, desired: blueprint.storageReplicas, availableKey: "readyReplicas")
        let gatewayState = WorkloadState(gateway, desired: blueprint.gatewayReplicas, availableKey: "availableReplicas")
        var conditions = ConditionSet(previous: cluster.status?.conditions, generation: generation)
        let counts =
            "storage \(storageState.available)/\(blueprint.storageReplicas) ready, "
            + "gateway \(gatewayState.available)/\(blueprint.gatewayReplicas) available"
        let ready = storageState.isAvailable && gatewayState.isAvailable && failures.isEmpty
        conditions.set(
            "Ready", ready,
            reason: ready ? "AllReplicasReady" : (storageState.isAvailable ? "GatewayNotReady" : "StorageNotReady"),
            message: counts)
        let rolling = storageState.isRolling || gatewayState.isRolling
        conditions.set(
            "Progressing", rolling, reason: rolling ? "RollingOut" : "Stable",
            message: rolling ? "rolling out: \(counts)" : "every replica runs the current spec")
        let deviations = blueprint.deviations
        if let failure = failures.first {
            conditions.set(
                "Degraded", true, reason: "ApplyFailed",
                message: "\(failures.count) object(s) could not be applied; first: \(failure)")
        } else if let deviation = deviations.first {
            conditions.set("Degraded", true, reason: deviation.reason, message: deviation.message)
        } else {
            conditions.set("Degraded", false, reason: "AsExpected", message: "every declared object is applied")
        }
        return HadronConditions(
            observedGeneration: generation, conditions: conditions.conditions, stale: stale.isEmpty ? nil : stale)
    }
}

/// How far a StatefulSet or Deployment has come, from its status.
struct WorkloadState {
    var available = 0
    var isAvailable: Bool
    var isRolling: Bool

    init(_ object: JSONValue?, desired: Int, availableKey: String) {
        guard let object else {
            isAvailable = desired == 0
            isRolling = desired > 0
            return
        }
        let status = object["status"]
        available = status?[availableKey]?.intValue ?? 0
        let updated = status?["updatedReplicas"]?.intValue ?? 0
        let observedGeneration = status?["observedGeneration"]?.intValue ?? 0
        let generation = object[path: ["metadata", "generation"]]?.intValue ?? 0
        isAvailable = available >= desired
        isRolling = observedGeneration < generation || updated < desired || available < desired
    }
}

/// A pass that applied some objects but not all; the queue retries it with backoff.
struct ReconcileError: Error, CustomStringConvertible {
    let failures: [String]

    static func partial(_ failures: [String]) -> ReconcileError { ReconcileError(failures: failures) }

    var description: String { failures.joined(separator: "; ") }
}
