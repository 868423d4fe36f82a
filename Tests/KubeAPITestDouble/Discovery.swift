import KubeAPI

/// The API server's discovery and OpenAPI endpoints, shaped as a v1.28 server answers them, so
/// that kubectl can map kinds to resources and decide how to validate:
///
/// - `/version`; `/api` (APIVersions), `/apis` (APIGroupList), `/api/v1` and `/apis/G/V`
///   (APIResourceList) from the double's `ResourceCatalog`. kubectl 1.32 asks `/api` and `/apis`
///   for aggregated discovery first (`Accept: …;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,
///   …,application/json`); a plain `application/json` answer is what a server without it sends, and
///   kubectl then reads each group version's resource list.
/// - `/openapi/v3` (the index of group versions) and `/openapi/v3/api/v1`, `/openapi/v3/apis/G/V`:
///   a PATCH path per resource that declares the `fieldValidation` parameter with the kind's
///   `x-kubernetes-group-version-kind` (kubectl's query-parameter verifier looks for exactly that:
///   when present, validation is left to the server), and the kinds' schemas under
///   `components.schemas` — built-in kinds from `DoubleSettings.openAPIComponents`, custom
///   resources from the loaded CRDs, as the server publishes a CRD's schema.
enum Discovery {
    static let listVerbs: [JSONValue] = [
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    ]

    /// The answer to a discovery or OpenAPI request, or nil when `path` is not one.
    static func answer(path: String, settings: DoubleSettings) -> (Int, JSONValue)? {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        switch trimmed {
        case "/version":
            return (
                200,
                [
                    "major": "1", "minor": "28", "gitVersion": "v1.28.0", "platform": "linux/amd64",
                    "goVersion": "go1.20.7", "compiler": "gc",
                ]
            )
        case "/api":
            return (
                200,
                [
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"]],
                ]
            )
        case "/apis":
            let groups: [JSONValue] = groupVersions().filter { !$0.group.isEmpty }.map { entry in
                let version: JSONValue = [
                    "groupVersion": .string("\(entry.group)/\(entry.version)"), "version": .string(entry.version),
                ]
                return ["name": .string(entry.group), "versions": [version], "preferredVersion": version]
            }
            return (200, ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)])
        case "/openapi/v3":
            var paths: [String: JSONValue] = [:]
            for entry in groupVersions() {
                let key = openAPIKey(group: entry.group, version: entry.version)
                paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=\(hash(key))")]
            }
            return (200, ["paths": .object(paths)])
        default:
            break
        }
        if trimmed.hasPrefix("/openapi/v3/") {
            let key = String(trimmed.dropFirst("/openapi/v3/".count))
            guard let entry = groupVersions().first(where: { openAPIKey(group: $0.group, version: $0.version) == key })
            else { return nil }
            return (200, openAPIDocument(group: entry.group, version: entry.version, settings: settings))
        }
        let segments = trimmed.split(separator: "/").map(String.init)
        let groupVersion: (group: String, version: String)?
        switch segments.count {
        case 2 where segments[0] == "api": groupVersion = ("", segments[1])
        case 3 where segments[0] == "apis": groupVersion = (segments[1], segments[2])
        default: groupVersion = nil
        }
        guard let groupVersion else { return nil }
        let rules = ResourceCatalog.rules.filter {
            $0.descriptor.group == groupVersion.group && $0.descriptor.version == groupVersion.version
        }
        guard !rules.isEmpty else { return nil }
        var resources: [JSONValue] = []
        for rule in rules {
            let descriptor = rule.descriptor
            resources.append([
                "name": .string(descriptor.plural), "singularName": .string(descriptor.kind.lowercased()),
                "namespaced": .bool(descriptor.namespaced), "kind": .string(descriptor.kind),
                "verbs": .array(listVerbs),
            ])
            if rule.hasStatus {
                resources.append([
                    "name": .string("\(descriptor.plural)/status"), "singularName": "",
                    "namespaced": .bool(descriptor.namespaced), "kind": .string(descriptor.kind),
                    "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return (
            200,
            [
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(
                    groupVersion.group.isEmpty ? groupVersion.version : "\(groupVersion.group)/\(groupVersion.version)"),
                "resources": .array(resources),
            ]
        )
    }

    /// Group versions in catalog order, each once.
    static func groupVersions() -> [(group: String, version: String)] {
        var seen = Set<String>()
        var result: [(group: String, version: String)] = []
        for rule in ResourceCatalog.rules where seen.insert(rule.descriptor.apiVersion).inserted {
            result.append((rule.descriptor.group, rule.descriptor.version))
        }
        return result.sorted { ($0.group, $0.version) < ($1.group, $1.version) }
    }

    static func openAPIKey(group: String, version: String) -> String {
        group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
    }

    /// A stable stand-in for the server's content hash (clients only echo it back).
    static func hash(_ key: String) -> String {
        var value: UInt64 = 14_695_981_039_346_656_037
        for byte in key.utf8 { value = (value ^ UInt64(byte)) &* 1_099_511_628_211 }
        return String(value, radix: 16, uppercase: true)
    }

    static func openAPIDocument(group: String, version: String, settings: DoubleSettings) -> JSONValue {
        let rules = ResourceCatalog.rules.filter { $0.descriptor.group == group && $0.descriptor.version == version }
        var paths: [String: JSONValue] = [:]
        var schemas = settings.openAPIComponents[openAPIKey(group: group, version: version)]?.objectValue ?? [:]
        for rule in rules {
            let descriptor = rule.descriptor
            let gvk: JSONValue = [
                "group": .string(group), "version": .string(version), "kind": .string(descriptor.kind),
            ]
            let base = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
            let scope = descriptor.namespaced ? "/namespaces/{namespace}" : ""
            paths["\(base)\(scope)/\(descriptor.plural)/{name}"] = [
                "patch": [
                    "operationId": .string("patch\(descriptor.kind)"),
                    "parameters": [
                        ["name": "dryRun", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                        ["name": "fieldManager", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                        ["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                        ["name": "force", "in": "query", "schema": ["type": "boolean", "uniqueItems": true]],
                    ],
                    "responses": [:],
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                ]
            ]
            if let schema = settings.customResourceSchemas?.schema(for: descriptor) {
                var published = schema.root
                published["x-kubernetes-group-version-kind"] = [gvk]
                let reversedGroup = group.split(separator: ".").reversed().joined(separator: ".")
                schemas["\(reversedGroup).\(version).\(descriptor.kind)"] = published
            }
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.28.0"], "paths": .object(paths),
            "components": ["schemas": .object(schemas)],
        ]
    }
}
