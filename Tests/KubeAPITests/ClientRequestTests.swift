import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

@Suite struct ClientRequestTests {
    @Test func createGetReplaceDeleteWithResourceVersions() async throws {
        try await withDouble { double in
            let kube = client(double)
            let created = try await kube.create(configMap("settings", data: ["a": "1"]))
            let firstVersion = try #require(created.metadata.resourceVersion)
            #expect(created.metadata.uid != nil)
            #expect(created.data == ["a": "1"])

            var fetched = try await kube.get(ConfigMap.self, name: "settings")
            #expect(fetched == created)
            fetched.data = ["a": "2"]
            let replaced = try await kube.replace(fetched)
            #expect(replaced.data == ["a": "2"])
            #expect(replaced.metadata.resourceVersion != firstVersion)

            // A replace from the stale copy is a 409 Conflict, not an AlreadyExists.
            var stale = created
            stale.data = ["a": "3"]
            do {
                _ = try await kube.replace(stale)
                Issue.record("stale replace must fail")
            } catch let error as KubeAPIError {
                #expect(error.isConflict && error.httpStatus == 409 && error.reason == "Conflict")
            }
            do {
                _ = try await kube.create(configMap("settings", data: [:]))
                Issue.record("duplicate create must fail")
            } catch let error as KubeAPIError {
                #expect(error.isAlreadyExists && error.status?.details?.name == "settings")
            }

            try await kube.delete(ConfigMap.self, name: "settings")
            do {
                _ = try await kube.get(ConfigMap.self, name: "settings")
                Issue.record("deleted object must be gone")
            } catch let error as KubeAPIError {
                #expect(error.isNotFound && error.reason == "NotFound")
                #expect(error.status?.message == "configmaps \"settings\" not found")
            }
            await #expect(throws: KubeAPIError.self) { try await kube.delete(ConfigMap.self, name: "settings") }
        }
    }

    @Test func deletePreconditionsAndFinalizers() async throws {
        try await withDouble { double in
            let kube = client(double)
            let created = try await kube.create(configMap("guarded", data: [:]))
            do {
                try await kube.delete(ConfigMap.self, name: "guarded", preconditionResourceVersion: "1")
                Issue.record("precondition must fail")
            } catch let error as KubeAPIError {
                #expect(error.isConflict)
            }
            var withFinalizer = created
            withFinalizer.metadata.finalizers = ["hadron.dev/cleanup"]
            withFinalizer = try await kube.replace(withFinalizer)
            try await kube.delete(ConfigMap.self, name: "guarded", preconditionUID: created.metadata.uid)
            var terminating = try await kube.get(ConfigMap.self, name: "guarded")
            #expect(terminating.metadata.deletionTimestamp != nil)
            terminating.metadata.finalizers = []
            _ = try await kube.replace(terminating)
            await #expect(throws: KubeAPIError.self) { try await kube.get(ConfigMap.self, name: "guarded") }
        }
    }

    @Test func listWithLabelSelectorsAndPagination() async throws {
        try await withDouble { double in
            let kube = client(double)
            for index in 0..<7 {
                _ = try await kube.create(
                    configMap(
                        "map-\(index)", labels: ["app": "hadron", "tier": index % 2 == 0 ? "storage" : "gateway"],
                        data: [:]))
            }
            _ = try await kube.create(configMap("other", labels: ["app": "else"], data: [:]))
            _ = try await kube.create(configMap("elsewhere", namespace: "second", labels: ["app": "hadron"], data: [:]))

            let storage = try await kube.list(ConfigMap.self, labelSelector: ["app": "hadron", "tier": "storage"])
            #expect(storage.items.map(\.name) == ["map-0", "map-2", "map-4", "map-6"])
            let notStorage = try await kube.list(
                ConfigMap.self, labelSelector: LabelSelector([.equals("app", "hadron"), .notEquals("tier", "storage")]))
            #expect(notStorage.items.count == 3)
            let setBased = try await kube.list(
                ConfigMap.self,
                labelSelector: LabelSelector([.isIn("app", ["else", "nothing"]), .doesNotExist("tier")]))
            #expect(setBased.items.map(\.name) == ["other"])
            let everywhere = try await kube.list(ConfigMap.self, allNamespaces: true, labelSelector: ["app": "hadron"])
            #expect(everywhere.items.count == 8)

            let firstPage = try await kube.list(ConfigMap.self, limit: 3)
            #expect(firstPage.items.count == 3)
            let token = try #require(firstPage.metadata.continue)
            // A change between pages does not show: pages share the first page's snapshot.
            _ = try await kube.create(configMap("zz-late", data: [:]))
            let secondPage = try await kube.list(ConfigMap.self, limit: 3, continueToken: token)
            #expect(secondPage.metadata.resourceVersion == firstPage.metadata.resourceVersion)
            let all = try await kube.listAll(ConfigMap.self, pageSize: 3)
            #expect(all.items.count == 9)
            #expect(Set(all.items.map(\.name)).count == 9)

            await double.compact()
            do {
                _ = try await kube.list(ConfigMap.self, limit: 3, continueToken: token)
                Issue.record("a compacted continue token must expire")
            } catch let error as KubeAPIError {
                #expect(error.isExpired && error.httpStatus == 410)
            }
        }
    }

    @Test func mergePatchAndStatusSubresource() async throws {
        try await withDouble { double in
            let kube = client(double)
            let stream = HadronStream(
                metadata: ObjectMeta(name: "orders", labels: ["a": "b"]),
                spec: .init(cluster: "events", partitions: 3, replicationFactor: 3, minInSyncReplicas: 2))
            let created = try await kube.create(stream)
            #expect(created.metadata.generation == 1)
            let patched = try await kube.mergePatch(
                HadronStream.self, name: "orders",
                patch: ["spec": ["partitions": 6], "metadata": ["labels": ["a": .null]]])
            #expect(patched.spec?.partitions == 6)
            #expect(patched.spec?.cluster == "events")
            #expect(patched.metadata.labels == nil || patched.metadata.labels?["a"] == nil)
            #expect(patched.metadata.generation == 2)

            var withStatus = patched
            withStatus.status = .init(
                observedGeneration: 2,
                partitions: [.init(partition: 0, leader: "events-storage-1", epoch: 4, state: "Online")])
            withStatus.spec?.partitions = 99
            let statusWritten = try await kube.replaceStatus(withStatus)
            #expect(statusWritten.status?.partitions?.first?.epoch == 4)
            #expect(statusWritten.spec?.partitions == 6, "a /status write leaves the spec alone")
            #expect(statusWritten.metadata.generation == 2, "a /status write leaves the generation alone")

            var specOnly = statusWritten
            specOnly.status = nil
            let replaced = try await kube.replace(specOnly)
            #expect(replaced.status?.partitions?.count == 1, "the main resource ignores status")

            let statusPatched = try await kube.mergePatch(
                HadronStream.self, name: "orders", patch: ["status": ["observedGeneration": 3]], subresource: "status")
            #expect(statusPatched.status?.observedGeneration == 3)
            #expect(statusPatched.metadata.generation == replaced.metadata.generation)
        }
    }

    @Test func serverSideApplyCreatesUpdatesConflictsAndForces() async throws {
        try await withDouble { double in
            let kube = client(double)
            let intent = configMap("placement", labels: ["app": "hadron"], data: ["replicas": "3", "zone": "a"])
            let created = try await kube.apply(intent, fieldManager: "hadron-operator")
            #expect(double.requests.last?.contentType == "application/apply-patch+yaml")
            #expect(double.requests.last?.query["fieldManager"] == "hadron-operator")
            #expect(created.data == ["replicas": "3", "zone": "a"])
            #expect(created.metadata.managedFields?.first?.manager == "hadron-operator")
            #expect(created.metadata.managedFields?.first?.operation == "Apply")

            // Re-applying the same intent changes nothing.
            let again = try await kube.apply(intent, fieldManager: "hadron-operator")
            #expect(again.metadata.resourceVersion == created.metadata.resourceVersion)

            // Another manager takes `replicas` with a plain update...
            _ = try await kube.mergePatch(ConfigMap.self, name: "placement", patch: ["data": ["replicas": "5"]])
            // ...so applying a different value conflicts, naming the field and the manager.
            var changed = intent
            changed.data = ["replicas": "4", "zone": "a"]
            do {
                _ = try await kube.apply(changed, fieldManager: "hadron-operator")
                Issue.record("apply over another manager's field must conflict")
            } catch let error as KubeAPIError {
                #expect(error.httpStatus == 409 && error.reason == "Conflict")
                #expect(error.causes.first?.reason == "FieldManagerConflict")
                #expect(error.causes.first?.field == ".data.replicas")
                #expect(error.causes.first?.message?.contains("hadron") == true)
            }
            let forced = try await kube.apply(changed, fieldManager: "hadron-operator", force: true)
            #expect(forced.data?["replicas"] == "4")
            let owners = forced.metadata.managedFields ?? []
            #expect(
                owners.filter { $0.fieldsV1?[path: ["f:data", "f:replicas"]] != nil }.map(\.manager) == [
                    "hadron-operator"
                ])

            // A field the manager stops sending is released and, owned by nobody else, deleted.
            var smaller = changed
            smaller.data = ["replicas": "4"]
            let released = try await kube.apply(smaller, fieldManager: "hadron-operator")
            #expect(released.data == ["replicas": "4"])
            #expect(released.metadata.labels == ["app": "hadron"])
        }
    }

    @Test func applyOfStatusHasItsOwnManagedFieldsEntry() async throws {
        try await withDouble { double in
            let kube = client(double)
            let stream = HadronStream(metadata: ObjectMeta(name: "events"), spec: .init(partitions: 3))
            let created = try await kube.apply(stream, fieldManager: "hadron-operator")
            var status = HadronStream(metadata: ObjectMeta(name: "events"))
            status.status = .init(observedGeneration: 1, partitions: [.init(partition: 0, leader: "s-0", epoch: 1)])
            let applied = try await kube.applyStatus(status, fieldManager: "hadron-operator")
            #expect(applied.spec?.partitions == 3)
            #expect(applied.status?.partitions?.first?.leader == "s-0")
            #expect(applied.metadata.generation == created.metadata.generation)
            let entries = applied.metadata.managedFields ?? []
            #expect(entries.contains { $0.subresource == "status" && $0.operation == "Apply" })
            #expect(entries.contains { $0.subresource == nil && $0.operation == "Apply" })
        }
    }

    @Test func everyKindRoundTripsThroughTheAPI() async throws {
        try await withDouble { double in
            let kube = client(double)
            let selector = LabelSelectorSpec(matchLabels: ["app": "hadron"])
            let template = PodTemplateSpec(
                metadata: ObjectMeta(labels: ["app": "hadron"]),
                spec: PodSpec(containers: [Container(name: "hadron", image: "hadron:dev", args: ["storage"])]))
            _ = try await kube.create(
                Lease(metadata: ObjectMeta(name: "l"), spec: LeaseSpec(holderIdentity: "x", leaseDurationSeconds: 15)))
            _ = try await kube.create(Pod(metadata: ObjectMeta(name: "p"), spec: template.spec))
            _ = try await kube.create(
                KubeService(
                    metadata: ObjectMeta(name: "s"),
                    spec: ServiceSpec(selector: ["app": "hadron"], ports: [ServicePort(port: 80)])))
            _ = try await kube.create(
                StatefulSet(
                    metadata: ObjectMeta(name: "ss"),
                    spec: StatefulSetSpec(replicas: 3, serviceName: "s", selector: selector, template: template)))
            _ = try await kube.create(
                Deployment(
                    metadata: ObjectMeta(name: "d"),
                    spec: DeploymentSpec(replicas: 2, selector: selector, template: template)))
            _ = try await kube.create(Secret(metadata: ObjectMeta(name: "sec"), stringData: ["k": "v"]))
            _ = try await kube.create(
                PodDisruptionBudget(metadata: ObjectMeta(name: "pdb"), spec: .init(minAvailable: 2, selector: selector))
            )
            _ = try await kube.create(ServiceAccount(metadata: ObjectMeta(name: "sa")))
            _ = try await kube.create(
                Role(
                    metadata: ObjectMeta(name: "r"),
                    rules: [PolicyRule(apiGroups: [""], resources: ["pods"], verbs: ["get"])]))
            _ = try await kube.create(
                RoleBinding(metadata: ObjectMeta(name: "rb"), roleRef: .init(name: "r"), subjects: [.init(name: "sa")]))
            _ = try await kube.create(
                ValidatingWebhookConfiguration(
                    metadata: ObjectMeta(name: "hadron"),
                    webhooks: [.init(name: "v.hadron.dev", clientConfig: ["url": "https://x"])]))
            _ = try await kube.create(
                CustomResourceDefinition(
                    metadata: ObjectMeta(name: "streams.hadron.dev"),
                    spec: .init(
                        group: "hadron.dev", names: .init(plural: "streams", kind: "Stream"), scope: "Namespaced",
                        versions: [])))
            _ = try await kube.create(
                HadronCluster(
                    metadata: ObjectMeta(name: "events"), spec: .init(image: "hadron:dev", storage: .init(replicas: 3)))
            )
            _ = try await kube.create(
                HadronSubscription(
                    metadata: ObjectMeta(name: "billing"),
                    spec: .init(stream: "orders", subscriber: .init(uri: "http://billing"))))
            _ = try await kube.create(
                HadronExchange(
                    metadata: ObjectMeta(name: "x"),
                    spec: .init(cluster: "events", sinks: [.init(topic: "a.>", uri: "http://s")])))
            _ = try await kube.create(
                HadronEndpoint(metadata: ObjectMeta(name: "e"), spec: .init(cluster: "events", timeout: "PT30S")))
            _ = try await kube.create(
                HadronPipeline(
                    metadata: ObjectMeta(name: "pl"), spec: .init(stream: "orders", stages: [.init(name: "charge")])))
            _ = try await kube.create(
                HadronAuthGrant(
                    metadata: ObjectMeta(name: "g"),
                    spec: .init(
                        cluster: "events", secretName: "w",
                        permissions: [.init(resource: "streams/orders", verbs: ["publish"])])))

            #expect(
                try await kube.get(StatefulSet.self, name: "ss").spec?.template.spec?.containers.first?.args == [
                    "storage"
                ])
            #expect(try await kube.get(ValidatingWebhookConfiguration.self, name: "hadron").metadata.namespace == nil)
            #expect(try await kube.list(CustomResourceDefinition.self).items.count == 1)
            #expect(try await kube.get(HadronAuthGrant.self, name: "g").spec?.permissions.first?.verbs == ["publish"])
            #expect(try await kube.list(KubeService.self).items.first?.spec?.ports?.first?.port == 80)
            #expect(
                double.requests.contains {
                    $0.path == "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
                })
            #expect(double.requests.contains { $0.path == "/apis/hadron.dev/v1alpha1/namespaces/default/authgrants" })
        }
    }

    @Test func clientCertificateCredentialsAndHTTP2() async throws {
        try await withDouble { double in
            let kube = KubeClient(configuration: double.certificateConfiguration(), logger: testLogger())
            let response = try await kube.send(method: "GET", path: "/api/v1/namespaces/default/configmaps")
            #expect(response.head.httpMajorVersion == 2)
            #expect(double.requests.last?.httpMajorVersion == 2)
            #expect(double.requests.last?.authentication == .clientCertificate(commonName: double.pki.clientCommonName))

            let stranger = KubeClient(configuration: double.tokenConfiguration(token: "wrong"), logger: testLogger())
            do {
                _ = try await stranger.list(ConfigMap.self)
                Issue.record("a wrong token must be refused")
            } catch let error as KubeAPIError {
                #expect(error.isUnauthorized && error.reason == "Unauthorized")
            }
        }
    }

    @Test func concurrentRequestsDoNotBlockTheCooperativePool() async throws {
        try await withDouble { double in
            let kube = client(double)
            let namespace = "busy"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        _ = try await kube.create(configMap("c\(index)", namespace: namespace, data: ["i": "\(index)"]))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await kube.list(ConfigMap.self, namespace: namespace).items.count == 40)
        }
    }

    @Test func cancellingARequestEndsItPromptly() async throws {
        try await withDouble { double in
            double.addToken("cut-off")
            double.blackhole(token: "cut-off")
            let kube = KubeClient(configuration: double.tokenConfiguration(token: "cut-off"), logger: testLogger())
            let task = Task { try await kube.list(ConfigMap.self) }
            #expect(await eventually { double.requests.count == 1 })
            let started = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(ContinuousClock.now - started < .seconds(2))

            var bounded = KubeClient(configuration: double.tokenConfiguration(token: "cut-off"), logger: testLogger())
            bounded.requestTimeout = .milliseconds(300)
            do {
                _ = try await bounded.list(ConfigMap.self)
                Issue.record("a hanging request must time out")
            } catch let error as TransportError {
                #expect(error.isTimeout)
            }
        }
    }
}
