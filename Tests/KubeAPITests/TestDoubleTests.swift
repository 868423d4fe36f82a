import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

/// The double's own specification: raw requests and the exact answers the real API server gives
/// (KUBE-API-FACTS.md). If the double drifts from the real server, these fail.
@Suite struct TestDoubleTests {
    static let leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases"

    static func lease(renewTime: String, resourceVersion: String? = nil, name: String = "l") -> [UInt8] {
        var metadata: JSONValue = ["name": .string(name)]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        let body: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
            "spec": [
                "holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": .string(renewTime),
                "acquireTime": .string(renewTime),
            ],
        ]
        return body.serialized()
    }

    /// Sends a raw request and returns (status, body).
    static func raw(
        _ kube: KubeClient, _ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        contentType: String = "application/json"
    ) async throws -> (Int, JSONValue) {
        do {
            let response = try await kube.send(
                method: method, path: path, query: query, body: body, contentType: contentType)
            return (response.status, try JSONValue(parsing: response.body))
        } catch let error as KubeAPIError {
            return (error.httpStatus, try JSONValue(encoding: error.status))
        }
    }

    @Test func leaseMicroTimeNeedsExactlySixDigits() async throws {
        try await withDouble { double in
            let kube = client(double)
            for bad in ["2026-11-21T10:00:00Z", "2026-11-21T10:00:00.123Z", "2026-11-21T10:00:00.123456789Z"] {
                let (status, body) = try await Self.raw(kube, "POST", Self.leases, body: Self.lease(renewTime: bad))
                #expect(status == 400, "\(bad)")
                #expect(body["reason"]?.stringValue == "BadRequest")
            }
            let (status, body) = try await Self.raw(
                kube, "POST", Self.leases, body: Self.lease(renewTime: "2026-11-21T10:00:00.123456Z"))
            #expect(status == 201)
            #expect(body[path: ["spec", "renewTime"]]?.stringValue == "2026-11-21T10:00:00.123456Z")
        }
    }

    @Test func leaseCreateUpdateRules() async throws {
        try await withDouble { double in
            let kube = client(double)
            let time = "2026-11-21T10:00:00.123456Z"
            let (created, object) = try await Self.raw(kube, "POST", Self.leases, body: Self.lease(renewTime: time))
            #expect(created == 201)
            let version = try #require(object[path: ["metadata", "resourceVersion"]]?.stringValue)

            let (again, exists) = try await Self.raw(kube, "POST", Self.leases, body: Self.lease(renewTime: time))
            #expect(again == 409)
            #expect(exists["reason"]?.stringValue == "AlreadyExists")
            #expect(exists["message"]?.stringValue == "leases.coordination.k8s.io \"l\" already exists")
            #expect(exists[path: ["details", "group"]]?.stringValue == "coordination.k8s.io")

            let (unconditional, invalid) = try await Self.raw(
                kube, "PUT", Self.leases + "/l", body: Self.lease(renewTime: time))
            #expect(unconditional == 422)
            #expect(invalid["reason"]?.stringValue == "Invalid")
            #expect(
                invalid[path: ["details", "causes"]]?.arrayValue?.first?["field"]?.stringValue
                    == "metadata.resourceVersion")

            let (updated, fresh) = try await Self.raw(
                kube, "PUT", Self.leases + "/l",
                body: Self.lease(renewTime: "2026-11-21T10:00:01.000000Z", resourceVersion: version))
            #expect(updated == 200)
            #expect(fresh[path: ["metadata", "resourceVersion"]]?.stringValue != version)

            let (stale, conflict) = try await Self.raw(
                kube, "PUT", Self.leases + "/l",
                body: Self.lease(renewTime: "2026-11-21T10:00:02.000000Z", resourceVersion: version))
            #expect(stale == 409)
            #expect(conflict["reason"]?.stringValue == "Conflict")
            #expect(
                conflict["message"]?.stringValue?.hasPrefix(
                    "Operation cannot be fulfilled on leases.coordination.k8s.io \"l\"") == true)

            let (missing, notFound) = try await Self.raw(kube, "GET", Self.leases + "/absent")
            #expect(missing == 404)
            #expect(notFound["message"]?.stringValue == "leases.coordination.k8s.io \"absent\" not found")
        }
    }

    @Test func applyAndPatchParameterRules() async throws {
        try await withDouble { double in
            let kube = client(double)
            let path = "/api/v1/namespaces/default/configmaps/c"
            let body: JSONValue = [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c"], "data": ["k": "v"],
            ]
            let (noManager, _) = try await Self.raw(
                kube, "PATCH", path, body: body.serialized(), contentType: "application/apply-patch+yaml")
            #expect(noManager == 422)
            let (created, _) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")], body: body.serialized(),
                contentType: "application/apply-patch+yaml")
            #expect(created == 201)
            let (updated, _) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")], body: body.serialized(),
                contentType: "application/apply-patch+yaml")
            #expect(updated == 200)
            let (forcedMerge, _) = try await Self.raw(
                kube, "PATCH", path, query: [("force", "true")], body: (["data": ["k": "w"]] as JSONValue).serialized(),
                contentType: "application/merge-patch+json")
            #expect(forcedMerge == 422)
            let (strategic, _) = try await Self.raw(
                kube, "PATCH", path, body: (["data": ["k": "w"]] as JSONValue).serialized(),
                contentType: "application/strategic-merge-patch+json")
            #expect(strategic == 415)
            let (noKind, _) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")],
                body: (["metadata": ["name": "c"]] as JSONValue).serialized(),
                contentType: "application/apply-patch+yaml")
            #expect(noKind == 400)
        }
    }

    @Test func ownerReferencesAreValidatedAsTheAPIServerDoes() async throws {
        try await withDouble { double in
            let kube = client(double)
            let path = "/api/v1/namespaces/default/configmaps/owned"
            func body(_ references: [JSONValue]) -> [UInt8] {
                JSONValue.object([
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": ["name": "owned", "ownerReferences": .array(references)],
                ]).serialized()
            }
            let owner: JSONValue = [
                "apiVersion": "hadron.dev/v1alpha1", "kind": "HadronCluster", "name": "a", "uid": "u-1",
                "controller": true, "blockOwnerDeletion": true,
            ]
            var noUID = owner
            noUID["uid"] = ""
            let (missing, status) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")], body: body([noUID]),
                contentType: "application/apply-patch+yaml")
            #expect(missing == 422)
            #expect(status["message"]?.stringValue?.contains("metadata.ownerReferences.uid") == true)
            var second = owner
            second["name"] = "b"
            second["uid"] = "u-2"
            let (twoControllers, twoStatus) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")], body: body([owner, second]),
                contentType: "application/apply-patch+yaml")
            #expect(twoControllers == 422)
            #expect(
                twoStatus["message"]?.stringValue?.contains("Only one reference can have Controller set to true")
                    == true)
            let (created, stored) = try await Self.raw(
                kube, "PATCH", path, query: [("fieldManager", "m")], body: body([owner]),
                contentType: "application/apply-patch+yaml")
            #expect(created == 201)
            #expect(stored[path: ["metadata", "ownerReferences"]] == [owner])
            // The request log keeps bodies, so tests can compare what a client applied.
            let applied = try #require(double.requests.last { $0.method == "PATCH" && $0.path == path })
            #expect(try JSONValue(parsing: applied.body) == JSONValue(parsing: body([owner])))
            #expect(applied.isWrite)
        }
    }

    @Test func ingressesAreServedWithAStatusSubresource() async throws {
        try await withDouble { double in
            let kube = client(double)
            let ingress = Ingress(
                metadata: ObjectMeta(name: "web", namespace: "default"),
                spec: ["rules": [["host": "a.example.com"]]])
            let applied = try await kube.apply(ingress, fieldManager: "m")
            #expect(applied.metadata.generation == 1)
            let raw = try await kube.getObject(Ingress.descriptor, name: "web", namespace: "default")
            #expect(raw[path: ["spec", "rules"]] == [["host": "a.example.com"]])
            let (status, _) = try await Self.raw(
                kube, "GET", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status")
            #expect(status == 200)

            // Unstructured keeps every field; its metadata writes through to the object.
            var unstructured = try await kube.get(Unstructured<Ingress>.self, name: "web", namespace: "default")
            #expect(unstructured.object[path: ["spec", "rules"]] == [["host": "a.example.com"]])
            #expect(unstructured.metadata.uid == applied.metadata.uid)
            unstructured.metadata.labels = ["tier": "edge"]
            #expect(unstructured.object[path: ["metadata", "labels", "tier"]] == "edge")
            #expect(unstructured.object[path: ["metadata", "uid"]]?.stringValue == applied.metadata.uid)
        }
    }

    @Test func listsDropTypeMetaOfBuiltInItemsButNotOfCustomResources() async throws {
        try await withDouble { double in
            let kube = client(double)
            _ = try await kube.create(configMap("c", data: [:]))
            _ = try await kube.create(HadronStream(metadata: ObjectMeta(name: "s")))
            let (_, maps) = try await Self.raw(kube, "GET", "/api/v1/namespaces/default/configmaps")
            #expect(maps["kind"]?.stringValue == "ConfigMapList")
            #expect(maps["items"]?.arrayValue?.first?["kind"] == nil)
            let (_, streams) = try await Self.raw(kube, "GET", "/apis/hadron.dev/v1alpha1/namespaces/default/streams")
            #expect(streams["items"]?.arrayValue?.first?["kind"]?.stringValue == "Stream")
            let (unknown, _) = try await Self.raw(kube, "GET", "/apis/hadron.dev/v1alpha1/namespaces/default/nothings")
            #expect(unknown == 404)
            let (noStatus, _) = try await Self.raw(kube, "GET", "/api/v1/namespaces/default/configmaps/c/status")
            #expect(noStatus == 404)
        }
    }

    @Test func noOpUpdateKeepsTheResourceVersion() async throws {
        try await withDouble { double in
            let kube = client(double)
            let created = try await kube.create(configMap("c", data: ["k": "v"]))
            let same = try await kube.replace(created)
            #expect(same.metadata.resourceVersion == created.metadata.resourceVersion)
        }
    }

    @Test func watchSelectorTransitionsTimeoutAndExpiredErrorEvent() async throws {
        try await withDouble(settings: DoubleSettings(maximumWatchDuration: .seconds(30))) { double in
            let kube = client(double)
            let start = String(await double.currentResourceVersion())
            _ = try await kube.create(configMap("x", labels: ["app": "hadron"], data: [:]))
            _ = try await kube.mergePatch(ConfigMap.self, name: "x", patch: ["metadata": ["labels": ["app": "no"]]])
            _ = try await kube.mergePatch(ConfigMap.self, name: "x", patch: ["metadata": ["labels": ["app": "hadron"]]])
            let response = try await kube.openStream(
                path: "/api/v1/namespaces/default/configmaps",
                query: [
                    ("watch", "true"), ("resourceVersion", start), ("labelSelector", "app=hadron"),
                    ("timeoutSeconds", "1"),
                ])
            var splitter = EventLineSplitter()
            var types: [String] = []
            var pieces = 0
            for try await piece in response.body {
                pieces += 1
                for line in try splitter.feed(piece) {
                    types.append(try JSONValue(parsing: line)["type"]?.stringValue ?? "")
                }
            }
            // The watch ended by itself at timeoutSeconds=1.
            #expect(types == ["ADDED", "DELETED", "ADDED"])
            #expect(pieces >= 2, "the double splits what it sends")

            await double.compact()
            let expired = try await kube.openStream(
                path: "/api/v1/namespaces/default/configmaps", query: [("watch", "true"), ("resourceVersion", start)])
            #expect(expired.head.status == 200)
            let body = try await expired.collectBody()
            let event = try JSONValue(parsing: body.dropLast())
            #expect(event["type"]?.stringValue == "ERROR")
            #expect(event[path: ["object", "code"]]?.intValue == 410)
            #expect(event[path: ["object", "reason"]]?.stringValue == "Expired")
        }
    }
}
