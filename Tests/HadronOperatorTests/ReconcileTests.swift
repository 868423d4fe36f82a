import Foundation
import HadronOperator
import KubeAPI
import KubeAPITestDouble
import Testing

/// The reconcilers against the API server double: what they apply, that a settled world gets no
/// writes, how conflicts are retaken, and the never-shrink and never-delete rules. One at a time:
/// each runs a double and a dozen informers, and run together they starve the Lease renewals of
/// the election tests on a two-core machine.
@Suite(.serialized) struct ReconcileTests {
    static let labels = """
        {"app.kubernetes.io/name": "hadron", "app.kubernetes.io/instance": "events",
         "app.kubernetes.io/component": "COMPONENT", "app.kubernetes.io/part-of": "hadron",
         "app.kubernetes.io/managed-by": "hadron-operator"}
        """

    static func labels(_ component: String) -> String { labels.replacingOccurrences(of: "COMPONENT", with: component) }

    static func owner(_ kind: String, _ name: String, _ uid: String) -> String {
        """
        [{"apiVersion": "hadron.dev/v1alpha1", "kind": "\(kind)", "name": "\(name)", "uid": "\(uid)",
          "controller": true, "blockOwnerDeletion": true}]
        """
    }

    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    /// The last body the operator applied to each path (main resources and status alike).
    static func appliedBodies(_ world: OperatorWorld) throws -> [String: JSONValue] {
        var bodies: [String: JSONValue] = [:]
        for request in world.operatorWrites() {
            #expect(request.method == "PATCH", "every operator write is an apply: \(request.method) \(request.path)")
            #expect(request.query["fieldManager"] == "hadron-operator")
            #expect(request.contentType == "application/apply-patch+yaml")
            bodies[request.path] = try JSONValue(parsing: request.body)
        }
        return bodies
    }

    /// A cluster of three ready storage pods with a stream `orders` of three partitions (RF 2).
    static func declareWorld(_ world: OperatorWorld, ingress: Bool = true) async throws -> (HadronCluster, HadronStream)
    {
        let cluster = try await world.createCluster(
            ingress: ingress ? (host: "events.example.com", tlsSecret: "events-tls") : nil)
        for ordinal in 0..<3 { try await world.createStoragePod(ordinal: ordinal) }
        let stream = try await world.createStream("orders", partitions: 3, replicationFactor: 2)
        return (cluster, stream)
    }

    @Test func appliesExactlyTheDeclaredObjects() async throws {
        try await OperatorWorld.with { world in
            let (cluster, stream) = try await Self.declareWorld(world)
            let running = try await world.startController()
            await running.controller.reconcileAll()
            let bodies = try Self.appliedBodies(world)
            await running.stop()

            let core = "/api/v1/namespaces/default"
            let apps = "/apis/apps/v1/namespaces/default"
            let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
            let hadron = "/apis/hadron.dev/v1alpha1/namespaces/default"
            let expectedPaths: Set<String> = [
                "\(core)/serviceaccounts/events-storage", "\(core)/serviceaccounts/events-gateway",
                "\(rbac)/roles/events-storage", "\(rbac)/roles/events-gateway",
                "\(rbac)/rolebindings/events-storage", "\(rbac)/rolebindings/events-gateway",
                "\(core)/services/events-storage", "\(core)/services/events-gateway",
                "/apis/policy/v1/namespaces/default/poddisruptionbudgets/events-storage",
                "/apis/policy/v1/namespaces/default/poddisruptionbudgets/events-gateway",
                "\(apps)/statefulsets/events-storage", "\(apps)/deployments/events-gateway",
                "/apis/networking.k8s.io/v1/namespaces/default/ingresses/events-gateway",
                "\(hadron)/hadronclusters/events/status",
                "\(core)/services/events-orders-0", "\(core)/services/events-orders-1",
                "\(core)/services/events-orders-2", "\(hadron)/streams/orders/status",
            ]
            #expect(Set(bodies.keys) == expectedPaths)

            let clusterUID = try #require(cluster.metadata.uid)
            let streamUID = try #require(stream.metadata.uid)
            let storage = Self.labels("storage")
            let selector = """
                {"app.kubernetes.io/name": "hadron", "app.kubernetes.io/instance": "events",
                 "app.kubernetes.io/component": "storage"}
                """
            let statefulSet = try Self.json(
                """
                {"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": "events-storage", "namespace": "default", "labels": \(storage),
                              "ownerReferences": \(Self.owner("HadronCluster", "events", clusterUID))},
                 "spec": {
                   "replicas": 3, "serviceName": "events-storage", "podManagementPolicy": "Parallel",
                   "selector": {"matchLabels": \(selector)},
                   "template": {
                     "metadata": {"labels": \(storage)},
                     "spec": {
                       "serviceAccountName": "events-storage",
                       "securityContext": {"runAsNonRoot": true, "fsGroup": 65532},
                       "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                         {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                             "labelSelector": {"matchLabels": \(selector)}}}]}},
                       "containers": [{
                         "name": "storage", "image": "ghcr.io/hadron/hadron:1.0", "command": ["hadron"],
                         "args": ["storage", "--kubernetes", "--node-id", "$(POD_NAME)", "--listen", "0.0.0.0:9101",
                                  "--advertise", "$(POD_NAME).events-storage.$(NAMESPACE).svc:9101",
                                  "--data-dir", "/var/lib/hadron"],
                         "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                 {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                 {"name": "HADRON_CLUSTER", "value": "events"}],
                         "ports": [{"name": "internal", "containerPort": 9101, "protocol": "TCP"}],
                         "readinessProbe": {"httpGet": {"path": "/healthz", "port": "internal"}, "periodSeconds": 5},
                         "livenessProbe": {"httpGet": {"path": "/healthz", "port": "internal"}, "periodSeconds": 10,
                                           "initialDelaySeconds": 10},
                         "volumeMounts": [{"name": "data", "mountPath": "/var/lib/hadron"}]}]}},
                   "volumeClaimTemplates": [{
                     "metadata": {"name": "data", "labels": \(storage)},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                              "storageClassName": "fast"}}]}}
                """)
            #expect(bodies["\(apps)/statefulsets/events-storage"]?.withoutDigest() == statefulSet)

            let role = try Self.json(
                """
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": "events-gateway", "namespace": "default", "labels": \(Self.labels("gateway")),
                              "ownerReferences": \(Self.owner("HadronCluster", "events", clusterUID))},
                 "rules": [{"apiGroups": ["hadron.dev"], "verbs": ["get", "list", "watch"],
                            "resources": ["streams", "subscriptions", "exchanges", "endpoints", "authgrants"]},
                           {"apiGroups": ["hadron.dev"], "resources": ["hadronclusters"], "resourceNames": ["events"],
                            "verbs": ["get"]}]}
                """)
            #expect(bodies["\(rbac)/roles/events-gateway"]?.withoutDigest() == role)

            let ingress = try Self.json(
                """
                {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "events-gateway", "namespace": "default", "labels": \(Self.labels("gateway")),
                              "ownerReferences": \(Self.owner("HadronCluster", "events", clusterUID))},
                 "spec": {"rules": [{"host": "events.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                            "backend": {"service": {"name": "events-gateway", "port": {"name": "http"}}}}]}}],
                          "tls": [{"hosts": ["events.example.com"], "secretName": "events-tls"}]}}
                """)
            #expect(
                bodies["/apis/networking.k8s.io/v1/namespaces/default/ingresses/events-gateway"]?.withoutDigest()
                    == ingress)

            // Placement over events-storage-0…2 (RF 2): partition p starts at pod p; the first replica leads.
            let partitionLabels = Self.labels("partition")
            for (partition, leader) in [(0, "events-storage-0"), (1, "events-storage-1"), (2, "events-storage-2")] {
                var labels = try Self.json(partitionLabels)
                labels["hadron.dev/stream"] = "orders"
                labels["hadron.dev/partition"] = .string(String(partition))
                var service = try Self.json(
                    """
                    {"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "events-orders-\(partition)", "namespace": "default",
                                  "ownerReferences": \(Self.owner("Stream", "orders", streamUID))},
                     "spec": {"type": "ClusterIP", "selector": {"statefulset.kubernetes.io/pod-name": "\(leader)"},
                              "ports": [{"name": "internal", "port": 9101, "targetPort": "internal", "protocol": "TCP"}]}}
                    """)
                service["metadata"]?["labels"] = labels
                #expect(bodies["\(core)/services/events-orders-\(partition)"]?.withoutDigest() == service)
            }

            let status = try #require(try await world.stream("orders").status)
            #expect(
                status.partitions == [
                    .init(
                        partition: 0, leader: "events-storage-0", epoch: 1,
                        replicas: ["events-storage-0", "events-storage-1"],
                        isr: ["events-storage-0", "events-storage-1"], state: "Online", service: "events-orders-0"),
                    .init(
                        partition: 1, leader: "events-storage-1", epoch: 1,
                        replicas: ["events-storage-1", "events-storage-2"],
                        isr: ["events-storage-1", "events-storage-2"], state: "Online", service: "events-orders-1"),
                    .init(
                        partition: 2, leader: "events-storage-2", epoch: 1,
                        replicas: ["events-storage-2", "events-storage-0"],
                        isr: ["events-storage-2", "events-storage-0"], state: "Online", service: "events-orders-2"),
                ])
            #expect(status.conditions?.first { $0.type == "Ready" }?.status == "True")
            #expect(status.observedGeneration == 1)

            // Every object is owned by its CR and carries the digest of the body it was applied with.
            let stored = try #require(await world.stored(StatefulSet.descriptor, "events-storage"))
            #expect(
                stored[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"]?.stringValue == clusterUID)
            #expect(stored[path: ["metadata", "annotations", DesiredObject.bodyDigestAnnotation]] != nil)

            // Storage pods are not ready in the double (no kubelet): the cluster says so.
            let clusterStatus = try await world.admin.get(HadronCluster.self, name: "events", namespace: "default")
                .status
            let ready = try #require(clusterStatus?.conditions?.first { $0.type == "Ready" })
            #expect(ready.status == "False" && ready.reason == "StorageNotReady" && ready.observedGeneration == 1)
            #expect(clusterStatus?.conditions?.map(\.type) == ["Ready", "Progressing", "Degraded"])
            #expect(clusterStatus?.conditions?.first { $0.type == "Degraded" }?.status == "False")
        }
    }

    @Test func aSettledWorldGetsNoWrites() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world)
            let first = try await world.startController()
            await first.controller.reconcileAll()
            let settled = world.operatorWrites().count
            #expect(settled > 0)

            // The same term: another full pass writes nothing.
            let passes = first.controller.passes
            await first.controller.reconcileAll()
            #expect(first.controller.passes > passes)
            #expect(world.operatorWrites().count == settled)
            await first.stop()

            // A new term (a new leader, nothing remembered) decides from the server alone: still nothing.
            let second = try await world.startController()
            await second.controller.reconcileAll()
            await second.controller.reconcileAll()
            #expect(world.operatorWrites().count == settled, "\(world.operatorWrites().dropFirst(settled).map(\.path))")
            #expect(await second.controller.writes == 0)
            await second.stop()
        }
    }

    @Test func statusChangesOfOwnedObjectsAreNoWrites() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world, ingress: false)
            let running = try await world.startController()
            await running.controller.reconcileAll()

            // The StatefulSet controller reports the pods ready: the cluster's status follows, nothing else is written.
            let before = world.operatorWrites().count
            _ = try await world.admin.mergePatch(
                StatefulSet.self, name: "events-storage", namespace: "default",
                patch: ["status": ["observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3]],
                subresource: "status")
            _ = try await world.admin.mergePatch(
                Deployment.self, name: "events-gateway", namespace: "default",
                patch: [
                    "status": ["observedGeneration": 1, "replicas": 2, "availableReplicas": 2, "updatedReplicas": 2]
                ],
                subresource: "status")
            #expect(
                await eventually {
                    let status = try? await world.admin.get(HadronCluster.self, name: "events", namespace: "default")
                        .status
                    return status?.conditions?.first { $0.type == "Ready" }?.status == "True"
                })
            await running.controller.reconcileAll()
            let after = world.operatorWrites().dropFirst(before)
            #expect(after.allSatisfy { $0.path.hasSuffix("/hadronclusters/events/status") }, "\(after.map(\.path))")
            #expect(!after.isEmpty)
            await running.stop()
        }
    }

    @Test func aConflictingManagersChangeIsRetakenAfterTheLeaseCheck() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world, ingress: false)
            let leadership = ScriptedLeadership()
            let running = try await world.startController(leadership: leadership)
            await running.controller.reconcileAll()
            #expect(leadership.asked == 0, "no conflict yet: no forced write, no Lease check")

            // Someone scales the storage tier by hand, taking spec.replicas over.
            let mark = world.double.requests.count
            _ = try await world.admin.applyObject(
                ["metadata": ["name": "events-storage", "namespace": "default"], "spec": ["replicas": 5]],
                descriptor: StatefulSet.descriptor, fieldManager: "kubectl", force: true)
            #expect(
                await eventually {
                    await world.stored(StatefulSet.descriptor, "events-storage")?[path: ["spec", "replicas"]]?.intValue
                        == 3
                })
            await running.controller.reconcileAll()

            let requests = world.double.requests.dropFirst(mark).filter {
                $0.authentication == .bearerToken(OperatorWorld.operatorToken)
                    && $0.path.hasSuffix("/statefulsets/events-storage")
                    && !($0.method == "GET" && $0.query["watch"] != nil)
            }
            let sequence = requests.map { "\($0.method)\($0.query["force"] == "true" ? " force" : "")" }
            // Read (the cache disagrees), apply → 409, re-read, Lease check, forced apply; then nothing more.
            #expect(Array(sequence.prefix(4)) == ["GET", "PATCH", "GET", "PATCH force"], "\(sequence)")
            #expect(!sequence.dropFirst(4).contains { $0.hasPrefix("PATCH") }, "\(sequence)")
            #expect(leadership.asked == 1)
            let stored = try #require(await world.stored(StatefulSet.descriptor, "events-storage"))
            let managers = stored[path: ["metadata", "managedFields"]]?.arrayValue ?? []
            let operatorFields = managers.first { $0["manager"]?.stringValue == "hadron-operator" }
            #expect(
                operatorFields?[path: ["fieldsV1", "f:spec", "f:replicas"]] != nil, "the operator owns replicas again")
            #expect(!managers.contains { $0["manager"]?.stringValue == "kubectl" }, "kubectl's only field moved")
            await running.stop()
        }
    }

    @Test func withoutTheLeaseNothingIsForced() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world, ingress: false)
            let leadership = ScriptedLeadership()
            let running = try await world.startController(leadership: leadership)
            await running.controller.reconcileAll()

            leadership.set(leading: false)
            _ = try await world.admin.applyObject(
                ["metadata": ["name": "events-storage", "namespace": "default"], "spec": ["replicas": 5]],
                descriptor: StatefulSet.descriptor, fieldManager: "kubectl", force: true)
            // The conflict is seen, the Lease check fails, and the pass is retried (with backoff) — never forced.
            #expect(await eventually { leadership.asked >= 2 })
            #expect(!world.operatorWrites().contains { $0.query["force"] == "true" })
            #expect(
                await world.stored(StatefulSet.descriptor, "events-storage")?[path: ["spec", "replicas"]]?.intValue == 5
            )
            #expect(running.controller.isReconciling, "the elector, not a failed check, ends a term")
            await running.stop()
        }
    }

    @Test func aFieldTheSpecNoLongerAsksForIsReleased() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world)
            let running = try await world.startController()
            await running.controller.reconcileAll()
            #expect(await world.stored(Ingress.descriptor, "events-gateway")?[path: ["spec", "tls"]] != nil)

            // Every remaining field keeps its value, so only the body's digest shows the change.
            _ = try await world.admin.mergePatch(
                HadronCluster.self, name: "events", namespace: "default",
                patch: ["spec": ["gateway": ["ingress": ["tlsSecret": .null]]]])
            #expect(
                await eventually {
                    let ingress = await world.stored(Ingress.descriptor, "events-gateway")
                    return ingress != nil && ingress?[path: ["spec", "tls"]] == nil
                })
            await running.stop()
        }
    }

    @Test func partitionsGrowButNeverShrink() async throws {
        try await OperatorWorld.with { world in
            _ = try await world.createCluster()
            for ordinal in 0..<3 { try await world.createStoragePod(ordinal: ordinal) }
            _ = try await world.createStream("orders", partitions: 2, replicationFactor: 3)
            let running = try await world.startController()
            await running.controller.reconcileAll()
            let placed = try #require(try await world.stream("orders").status?.partitions)
            #expect(placed.count == 2)

            // Grow: the placed partitions keep replicas, leader and epoch; two are added, with Services.
            _ = try await world.admin.mergePatch(
                HadronStream.self, name: "orders", namespace: "default", patch: ["spec": ["partitions": 4]])
            #expect(await eventually { (try? await world.stream("orders").status?.partitions?.count) == 4 })
            let grown = try #require(try await world.stream("orders").status?.partitions)
            #expect(Array(grown.prefix(2)) == placed)
            #expect(grown[3].replicas == ["events-storage-0", "events-storage-1", "events-storage-2"])
            for partition in 0..<4 {
                #expect(await world.stored(KubeService.descriptor, "events-orders-\(partition)") != nil)
            }

            // Shrink: refused and reported; nothing removed.
            _ = try await world.admin.mergePatch(
                HadronStream.self, name: "orders", namespace: "default", patch: ["spec": ["partitions": 1]])
            #expect(
                await eventually {
                    let status = try? await world.stream("orders").status
                    return status?.conditions?.first { $0.type == "Degraded" }?.reason == "PartitionShrinkRejected"
                        && status?.observedGeneration == 3
                })
            let afterShrink = try await world.stream("orders")
            #expect(afterShrink.status?.partitions == grown)
            let degraded = afterShrink.status?.conditions?.first { $0.type == "Degraded" }
            #expect(degraded?.status == "True")
            #expect(degraded?.message?.contains("set spec.partitions to at least 4") == true)
            for partition in 0..<4 {
                #expect(await world.stored(KubeService.descriptor, "events-orders-\(partition)") != nil)
            }
            #expect(!world.operatorWrites().contains { $0.method == "DELETE" })
            await running.stop()
        }
    }

    @Test func objectsNoLongerDeclaredAreMarkedStaleNotDeleted() async throws {
        try await OperatorWorld.with { world in
            _ = try await Self.declareWorld(world)
            let running = try await world.startController()
            await running.controller.reconcileAll()

            // The ingress leaves the cluster's spec: the Ingress stays, listed as stale.
            _ = try await world.admin.mergePatch(
                HadronCluster.self, name: "events", namespace: "default",
                patch: ["spec": ["gateway": ["ingress": .null]]])
            #expect(
                await eventually {
                    let status = try? await world.admin.get(HadronCluster.self, name: "events", namespace: "default")
                        .status
                    return status?.stale == [
                        StaleObject(
                            apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "events-gateway",
                            reason: "HadronCluster events no longer declares it; delete it when it is no longer needed")
                    ]
                })
            #expect(await world.stored(Ingress.descriptor, "events-gateway") != nil)

            // The stream is deleted with its dependents orphaned, then declared again with fewer partitions: the
            // Services of partitions it no longer has stay, listed as stale.
            try await world.admin.delete(
                HadronStream.self, name: "orders", namespace: "default", propagationPolicy: "Orphan")
            _ = try await world.createStream("orders", partitions: 2, replicationFactor: 2)
            #expect(
                await eventually {
                    let status = try? await world.stream("orders").status
                    return status?.stale?.map(\.name) == ["events-orders-2"] && status?.partitions?.count == 2
                })
            #expect(await world.stored(KubeService.descriptor, "events-orders-2") != nil)
            #expect(!world.operatorWrites().contains { $0.method == "DELETE" })
            await running.stop()
        }
    }

    @Test func placementWaitsForReadyStoragePodsAndFollowsThem() async throws {
        try await OperatorWorld.with { world in
            _ = try await world.createCluster()
            try await world.createStoragePod(ordinal: 0)
            try await world.createStoragePod(ordinal: 1)
            try await world.createStoragePod(ordinal: 2, ready: false)
            _ = try await world.createStream("orders", partitions: 2, replicationFactor: 3)
            let running = try await world.startController()
            await running.controller.reconcileAll()

            let waiting = try await world.stream("orders").status
            let ready = waiting?.conditions?.first { $0.type == "Ready" }
            #expect(ready?.status == "False" && ready?.reason == "AwaitingStorageNodes")
            #expect(waiting?.partitions?.map(\.state) == ["Unavailable", "Unavailable"])
            let service = await world.stored(KubeService.descriptor, "events-orders-0")
            #expect(
                service != nil && service?[path: ["spec", "selector"]] == nil, "no leader: the Service selects nothing")

            // The third pod becomes ready: its watch event alone brings placement.
            try await world.setReady("events-storage-2", true)
            #expect(
                await eventually {
                    (try? await world.stream("orders").status?.partitions?.map(\.state)) == ["Online", "Online"]
                })
            #expect(
                await eventually {
                    await world.stored(KubeService.descriptor, "events-orders-1")?[
                        path: ["spec", "selector", "statefulset.kubernetes.io/pod-name"]]?.stringValue
                        == "events-storage-1"
                })
            await running.stop()
        }
    }
}
