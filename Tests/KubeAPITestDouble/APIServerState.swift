import Foundation
public import KubeAPI

/// Test-controlled behaviour of the double.
public struct DoubleSettings: Sendable {
    /// How a watch from a compacted resourceVersion fails: a 200 stream with one `ERROR` event
    /// (what the watch cache does), or a plain HTTP 410.
    public enum ExpiredWatchForm: Sendable {
        case errorEvent
        case httpStatus
    }

    /// Upper bound on every watch, whatever `timeoutSeconds` asks (the server's own timeout).
    public var maximumWatchDuration: Duration
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    public var bookmarkInterval: Duration
    public var expiredWatchForm: ExpiredWatchForm
    /// Pause between the pieces of a deliberately split event, so they travel as separate chunks.
    public var chunkGap: Duration
    /// Answer every watch request with 503 (an apiserver restarting), so a test can change and
    /// compact the store while no watch is open.
    public var refuseWatches = false
    /// CRDs whose schemas custom resources are pruned, defaulted and validated against on every
    /// write (nil: stored as sent). `CustomResourceSchemas.load(directory:)` reads a chart's `crds/`.
    public var customResourceSchemas: CustomResourceSchemas?
    /// `components.schemas` of the OpenAPI v3 document of each built-in group version, keyed as in
    /// `/openapi/v3` (`api/v1`, `apis/apps/v1`); served at `/openapi/v3/…` with the double's paths.
    public var openAPIComponents: [String: JSONValue] = [:]

    public init(
        maximumWatchDuration: Duration = .seconds(60),
        bookmarkInterval: Duration = .milliseconds(300),
        expiredWatchForm: ExpiredWatchForm = .errorEvent,
        chunkGap: Duration = .milliseconds(3)
    ) {
        self.maximumWatchDuration = maximumWatchDuration
        self.bookmarkInterval = bookmarkInterval
        self.expiredWatchForm = expiredWatchForm
        self.chunkGap = chunkGap
    }
}

/// The double's etcd and registry: objects, one global resourceVersion counter, the change
/// history watches replay from, and the API server's rules for each verb.
actor APIServerState {
    struct Key: Hashable, Comparable {
        var resource: String
        var namespace: String
        var name: String

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.resource, lhs.namespace, lhs.name) < (rhs.resource, rhs.namespace, rhs.name)
        }
    }

    struct Stored {
        var object: JSONValue
        var managers: [ManagerEntry]
    }

    struct Change {
        var revision: Int
        var type: String
        var key: Key
        var object: JSONValue
        var previous: JSONValue?
    }

    struct Watcher {
        var feed: WatchFeed
        var resource: String
        var namespace: String?
        var selector: SelectorMatcher
        var descriptor: ResourceDescriptor
    }

    struct Snapshot {
        var revision: Int
        var items: [JSONValue]
    }

    private(set) var revision = 1000
    private var objects: [Key: Stored] = [:]
    private var history: [Change] = []
    private var compactedRevision = 0
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    private var snapshots: [Int: Snapshot] = [:]
    private var nextSnapshotID = 0
    var settings: DoubleSettings

    init(settings: DoubleSettings) {
        self.settings = settings
    }

    func update(_ change: @Sendable (inout DoubleSettings) -> Void) {
        change(&settings)
    }

    // MARK: Test hooks

    /// Forgets all history: any watch or continue token from an earlier resourceVersion is expired.
    func compact() {
        compactedRevision = revision
        history.removeAll()
        snapshots = snapshots.filter { $0.value.revision >= compactedRevision }
    }

    /// Ends every open watch, as a server timeout or restart would.
    func endWatches() {
        for watcher in watchers.values { watcher.feed.finish() }
        watchers.removeAll()
    }

    var openWatchCount: Int { watchers.count }

    func object(_ descriptor: ResourceDescriptor, namespace: String?, name: String) -> JSONValue? {
        objects[Key(resource: descriptor.qualifiedName, namespace: namespace ?? "", name: name)]?.object
    }

    // MARK: Dispatch

    func handle(_ request: APIRequest) throws -> APIResponse {
        switch (request.method, request.name) {
        case ("GET", nil):
            let watch = request.query["watch"]
            return watch == "true" || watch == "1" ? try startWatch(request) : try list(request)
        case ("GET", let name?):
            guard let stored = objects[key(request, name)] else { throw APIFailure.notFound(request.rule, name: name) }
            return .json(200, stored.object)
        case ("POST", nil):
            return try create(request)
        case ("PUT", let name?):
            return try replace(request, name: name)
        case ("PATCH", let name?):
            return try patch(request, name: name)
        case ("DELETE", let name?):
            return try delete(request, name: name)
        default:
            throw APIFailure.methodNotAllowed()
        }
    }

    private func key(_ request: APIRequest, _ name: String) -> Key {
        Key(resource: request.rule.descriptor.qualifiedName, namespace: request.namespace ?? "", name: name)
    }

    // MARK: Create

    private func create(_ request: APIRequest) throws -> APIResponse {
        let rule = request.rule
        guard request.subresource == nil else { throw APIFailure.methodNotAllowed() }
        if rule.descriptor.namespaced, request.namespace == nil { throw APIFailure.unknownPath() }
        var object = try parseObject(request)
        try checkTypeMeta(object, rule: rule, required: false)
        try checkNamespace(object, request)
        var name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if name.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.stringValue, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
        }
        guard !name.isEmpty else {
            throw APIFailure.invalid(
                rule, name: "", field: "metadata.name", detail: "Required value: name or generateName is required")
        }
        try validate(object, rule: rule, name: name)
        let key = Key(resource: rule.descriptor.qualifiedName, namespace: request.namespace ?? "", name: name)
        guard objects[key] == nil else { throw APIFailure.alreadyExists(rule, name: name) }
        if rule.hasStatus { object["status"] = nil }
        object["metadata"]?["name"] = .string(name)
        object = try admitBySchema(object, request: request, name: name)
        let fields = FieldOwnership.trackedLeaves(of: object, rule: rule, subresource: "")
        let managers =
            fields.isEmpty
            ? []
            : [
                ManagerEntry(
                    manager: request.manager, operation: "Update", subresource: "",
                    apiVersion: rule.descriptor.apiVersion,
                    time: Self.now(), fields: fields)
            ]
        return .json(201, insert(object, key: key, rule: rule, namespace: request.namespace, managers: managers))
    }

    private func insert(_ object: JSONValue, key: Key, rule: ResourceRule, namespace: String?, managers: [ManagerEntry])
        -> JSONValue
    {
        var object = object
        object["apiVersion"] = .string(rule.descriptor.apiVersion)
        object["kind"] = .string(rule.descriptor.kind)
        revision += 1
        var metadata = object["metadata"]?.objectValue ?? [:]
        metadata["name"] = .string(key.name)
        if let namespace { metadata["namespace"] = .string(namespace) } else { metadata["namespace"] = nil }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(Self.now())
        metadata["resourceVersion"] = .string(String(revision))
        metadata["generation"] = rule.tracksGeneration ? 1 : nil
        metadata["deletionTimestamp"] = nil
        metadata["managedFields"] = managers.isEmpty ? nil : .array(managers.map(\.rendered))
        object["metadata"] = .object(metadata)
        objects[key] = Stored(object: object, managers: managers)
        record(Change(revision: revision, type: "ADDED", key: key, object: object, previous: nil))
        return object
    }

    // MARK: Replace

    private func replace(_ request: APIRequest, name: String) throws -> APIResponse {
        let rule = request.rule
        let body = try parseObject(request)
        try checkTypeMeta(body, rule: rule, required: false)
        try checkNamespace(body, request)
        if let bodyName = body[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            throw APIFailure.badRequest(
                "the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        try validateMicroTimes(body, rule: rule)
        let key = key(request, name)
        guard let current = objects[key] else { throw APIFailure.notFound(rule, name: name) }
        let version = body[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
        if version.isEmpty {
            if !rule.allowsUnconditionalUpdate {
                throw APIFailure.invalid(
                    rule, name: name, field: "metadata.resourceVersion",
                    detail: "Invalid value: 0x0: must be specified for an update")
            }
        } else if version != current.object[path: ["metadata", "resourceVersion"]]?.stringValue {
            throw APIFailure.conflict(rule, name: name)
        }
        var updated: JSONValue
        if request.subresource == "status" {
            updated = current.object
            updated["status"] = body["status"]
        } else {
            updated = body
            if rule.hasStatus { updated["status"] = current.object["status"] }
        }
        try validate(updated, rule: rule, name: name)
        updated = try admitBySchema(updated, request: request, name: name)
        return .json(200, commit(updated, over: current, key: key, request: request, managers: nil))
    }

    // MARK: Patch

    private func patch(_ request: APIRequest, name: String) throws -> APIResponse {
        let rule = request.rule
        let type = request.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch type {
        case "application/apply-patch+yaml":
            return try apply(request, name: name)
        case "application/merge-patch+json", "application/json-patch+json":
            break
        default:
            throw APIFailure.unsupportedMediaType(type)
        }
        if request.query["force"] != nil {
            throw APIFailure(
                code: 422, reason: "Invalid",
                message:
                    "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
            )
        }
        let isJSONPatch = type == "application/json-patch+json"
        let patch: JSONValue
        if isJSONPatch {
            guard let operations = try? JSONValue(parsing: request.body) else {
                throw APIFailure.badRequest("the body of the request could not be decoded as a JSON patch")
            }
            patch = operations
        } else {
            patch = try parseObject(request)
        }
        let key = key(request, name)
        guard let current = objects[key] else { throw APIFailure.notFound(rule, name: name) }
        if let version = patch[path: ["metadata", "resourceVersion"]]?.stringValue,
            version != current.object[path: ["metadata", "resourceVersion"]]?.stringValue
        {
            throw APIFailure.conflict(rule, name: name)
        }
        let patched =
            isJSONPatch
            ? try JSONPatch.apply(patch, to: current.object) : JSONMergePatch.apply(patch, to: current.object)
        var updated: JSONValue
        if request.subresource == "status" {
            updated = current.object
            updated["status"] = patched["status"]
        } else {
            updated = patched
            if rule.hasStatus { updated["status"] = current.object["status"] }
        }
        try validateMicroTimes(updated, rule: rule)
        try validate(updated, rule: rule, name: name)
        updated = try admitBySchema(updated, request: request, name: name)
        return .json(200, commit(updated, over: current, key: key, request: request, managers: nil))
    }

    // MARK: Server-side apply

    private func apply(_ request: APIRequest, name: String) throws -> APIResponse {
        let rule = request.rule
        guard let manager = request.query["fieldManager"], !manager.isEmpty else {
            throw APIFailure(
                code: 422, reason: "Invalid",
                message:
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
            )
        }
        let force = request.query["force"] == "true"
        let applied = try parseObject(request)
        try checkTypeMeta(applied, rule: rule, required: true)
        try checkNamespace(applied, request)
        if let bodyName = applied[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            throw APIFailure.badRequest(
                "the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        try validateMicroTimes(applied, rule: rule)
        let subresource = request.subresource ?? ""
        let key = key(request, name)
        let current = objects[key]
        if current == nil, !subresource.isEmpty { throw APIFailure.notFound(rule, name: name) }
        if let version = applied[path: ["metadata", "resourceVersion"]]?.stringValue, !version.isEmpty,
            version != current?.object[path: ["metadata", "resourceVersion"]]?.stringValue
        {
            throw APIFailure.conflict(rule, name: name)
        }

        let appliedPaths = FieldOwnership.trackedLeaves(of: applied, rule: rule, subresource: subresource)
        var managers = current?.managers ?? []
        let isMine = { (entry: ManagerEntry) in
            entry.manager == manager && entry.operation == "Apply" && entry.subresource == subresource
        }

        // Conflicts: another manager owns a field this apply sets to a different value.
        var conflicts: [(entry: Int, path: FieldPath)] = []
        for (index, entry) in managers.enumerated() where entry.manager != manager {
            for owned in entry.fields {
                for path in appliedPaths where FieldOwnership.overlaps(owned, path) {
                    let longer = owned.count >= path.count ? owned : path
                    if FieldOwnership.value(at: longer, in: current?.object)
                        != FieldOwnership.value(at: longer, in: applied)
                    {
                        conflicts.append((index, owned))
                    }
                }
            }
        }
        if !conflicts.isEmpty {
            if !force {
                throw Self.applyConflict(conflicts.map { (managers[$0.entry], $0.path) }, rule: rule, name: name)
            }
            for conflict in conflicts { managers[conflict.entry].fields.remove(conflict.path) }
        }

        // The result: release what this manager stopped sending (unless another owns it), set the rest.
        var result =
            current?.object ?? [
                "apiVersion": .string(rule.descriptor.apiVersion), "kind": .string(rule.descriptor.kind),
                "metadata": ["name": .string(name)],
            ]
        let previous = managers.first(where: isMine)?.fields ?? []
        for path in previous.subtracting(appliedPaths) {
            let ownedElsewhere = managers.contains { entry in
                !isMine(entry) && entry.fields.contains { FieldOwnership.overlaps($0, path) }
            }
            if !ownedElsewhere { result = FieldOwnership.removing(path, from: result) }
        }
        for path in appliedPaths {
            if let value = FieldOwnership.value(at: path, in: applied) {
                result = FieldOwnership.setting(value, at: path, in: result)
            }
        }
        result = FieldOwnership.orderingKeyedItems(
            result, previous: current?.object, applied: applied, keyedLists: rule.keyedLists)
        if let index = managers.firstIndex(where: isMine) {
            if managers[index].fields != appliedPaths {
                managers[index].fields = appliedPaths
                managers[index].time = Self.now()
            }
        } else {
            managers.append(
                ManagerEntry(
                    manager: manager, operation: "Apply", subresource: subresource,
                    apiVersion: rule.descriptor.apiVersion, time: Self.now(), fields: appliedPaths))
        }
        managers.removeAll { $0.fields.isEmpty }
        try validate(result, rule: rule, name: name)

        guard let current else {
            if rule.hasStatus { result["status"] = nil }
            result = try admitBySchema(result, request: request, name: name)
            return .json(201, insert(result, key: key, rule: rule, namespace: request.namespace, managers: managers))
        }
        result = try admitBySchema(result, request: request, name: name)
        return .json(200, commit(result, over: current, key: key, request: request, managers: managers))
    }

    private static func applyConflict(_ conflicts: [(ManagerEntry, FieldPath)], rule: ResourceRule, name: String)
        -> APIFailure
    {
        let causes: [JSONValue] = conflicts.map { entry, path in
            [
                "reason": "FieldManagerConflict", "message": .string(entry.conflictName),
                "field": .string(FieldOwnership.describe(path)),
            ]
        }
        let message: String
        if conflicts.count == 1, let (entry, path) = conflicts.first {
            message = "Apply failed with 1 conflict: \(entry.conflictName): \(FieldOwnership.describe(path))"
        } else {
            let lines = conflicts.map { "\($0.0.conflictName): \(FieldOwnership.describe($0.1))" }
            message = "Apply failed with \(conflicts.count) conflicts: " + lines.joined(separator: "\n")
        }
        return APIFailure(code: 409, reason: "Conflict", message: message, details: ["causes": .array(causes)])
    }

    // MARK: Update commit

    /// Writes an update: server-owned metadata kept, generation bumped on spec changes, managed
    /// fields recorded (as an `Update` by the request's manager unless `managers` is given), no new
    /// resourceVersion and no event when nothing changed.
    private func commit(
        _ proposed: JSONValue, over current: Stored, key: Key, request: APIRequest, managers explicit: [ManagerEntry]?
    ) -> JSONValue {
        let rule = request.rule
        var object = proposed
        object["apiVersion"] = .string(rule.descriptor.apiVersion)
        object["kind"] = .string(rule.descriptor.kind)
        var metadata = object["metadata"]?.objectValue ?? [:]
        let old = current.object["metadata"]?.objectValue ?? [:]
        for field in [
            "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation", "resourceVersion",
        ] {
            metadata[field] = old[field]
        }
        metadata["managedFields"] = nil
        object["metadata"] = .object(metadata)

        let managers: [ManagerEntry]
        if let explicit {
            managers = explicit
        } else {
            let subresource = request.subresource ?? ""
            let oldLeaves = FieldOwnership.trackedLeaves(of: current.object, rule: rule, subresource: subresource)
            let newLeaves = FieldOwnership.trackedLeaves(of: object, rule: rule, subresource: subresource)
            let changed = newLeaves.filter {
                FieldOwnership.value(at: $0, in: object) != FieldOwnership.value(at: $0, in: current.object)
            }
            let removed = oldLeaves.subtracting(newLeaves)
            var updated = current.managers
            for index in updated.indices {
                let before = updated[index].fields
                updated[index].fields = before.filter { owned in
                    !changed.contains { FieldOwnership.overlaps($0, owned) } && !removed.contains(owned)
                }
            }
            if !changed.isEmpty {
                if let index = updated.firstIndex(where: {
                    $0.manager == request.manager && $0.operation == "Update" && $0.subresource == subresource
                }) {
                    updated[index].fields.formUnion(changed)
                    updated[index].time = Self.now()
                } else {
                    updated.append(
                        ManagerEntry(
                            manager: request.manager, operation: "Update", subresource: subresource,
                            apiVersion: rule.descriptor.apiVersion, time: Self.now(), fields: changed))
                }
            }
            managers = updated.filter { !$0.fields.isEmpty }
        }

        var comparable = current.object
        comparable["metadata"]?["managedFields"] = nil
        let ownershipSame =
            managers.map(\.fields) == current.managers.map(\.fields)
            && managers.map(\.manager) == current.managers.map(\.manager)
        if object == comparable, ownershipSame { return current.object }

        if rule.tracksGeneration, Self.specPart(object) != Self.specPart(current.object) {
            object["metadata"]?["generation"] = .number(Double((old["generation"]?.intValue ?? 0) + 1))
        }
        revision += 1
        object["metadata"]?["resourceVersion"] = .string(String(revision))
        object["metadata"]?["managedFields"] = managers.isEmpty ? nil : .array(managers.map(\.rendered))

        let finalizers = object[path: ["metadata", "finalizers"]]?.arrayValue ?? []
        if object[path: ["metadata", "deletionTimestamp"]] != nil, finalizers.isEmpty {
            objects[key] = nil
            record(Change(revision: revision, type: "DELETED", key: key, object: object, previous: current.object))
            return object
        }
        objects[key] = Stored(object: object, managers: managers)
        record(Change(revision: revision, type: "MODIFIED", key: key, object: object, previous: current.object))
        return object
    }

    private static func specPart(_ object: JSONValue) -> JSONValue {
        var part = object
        part["metadata"] = nil
        part["status"] = nil
        return part
    }

    // MARK: Delete

    private func delete(_ request: APIRequest, name: String) throws -> APIResponse {
        let rule = request.rule
        guard request.subresource == nil else { throw APIFailure.methodNotAllowed() }
        let key = key(request, name)
        guard let current = objects[key] else { throw APIFailure.notFound(rule, name: name) }
        if !request.body.isEmpty, let options = try? JSONValue(parsing: request.body) {
            let uid = current.object[path: ["metadata", "uid"]]?.stringValue ?? ""
            let version = current.object[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
            if let wanted = options[path: ["preconditions", "uid"]]?.stringValue, wanted != uid {
                throw APIFailure(
                    code: 409, reason: "Conflict",
                    message: "Precondition failed: UID in precondition: \(wanted), UID in object meta: \(uid)",
                    details: APIFailure.details(rule, name: name))
            }
            if let wanted = options[path: ["preconditions", "resourceVersion"]]?.stringValue, wanted != version {
                throw APIFailure(
                    code: 409, reason: "Conflict",
                    message: "Operation cannot be fulfilled on \(rule.descriptor.qualifiedName) \"\(name)\": the "
                        + "ResourceVersion in the precondition (\(wanted)) does not match the ResourceVersion in record "
                        + "(\(version)). The object might have been modified",
                    details: APIFailure.details(rule, name: name))
            }
        }
        if let finalizers = current.object[path: ["metadata", "finalizers"]]?.arrayValue, !finalizers.isEmpty {
            if current.object[path: ["metadata", "deletionTimestamp"]] != nil { return .json(200, current.object) }
            revision += 1
            var object = current.object
            object["metadata"]?["deletionTimestamp"] = .string(Self.now())
            object["metadata"]?["deletionGracePeriodSeconds"] = 0
            object["metadata"]?["resourceVersion"] = .string(String(revision))
            objects[key] = Stored(object: object, managers: current.managers)
            record(Change(revision: revision, type: "MODIFIED", key: key, object: object, previous: current.object))
            return .json(200, object)
        }
        revision += 1
        var object = current.object
        object["metadata"]?["resourceVersion"] = .string(String(revision))
        objects[key] = nil
        record(Change(revision: revision, type: "DELETED", key: key, object: object, previous: current.object))
        var details = APIFailure.details(rule, name: name)
        details["uid"] = current.object[path: ["metadata", "uid"]]
        return .json(
            200, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details])
    }

    // MARK: List

    private func list(_ request: APIRequest) throws -> APIResponse {
        let rule = request.rule
        let limit = request.query["limit"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        var snapshotRevision = revision
        var items: [JSONValue]
        var offset = 0
        var snapshotID: Int?
        if let token = request.query["continue"], !token.isEmpty {
            guard let decoded = Data(base64Encoded: token).flatMap({ try? JSONValue(parsing: Array($0)) }),
                let id = decoded["id"]?.intValue, let start = decoded["offset"]?.intValue
            else { throw APIFailure.badRequest("continue key is not valid") }
            guard let snapshot = snapshots[id], snapshot.revision >= compactedRevision else {
                throw APIFailure.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a "
                        + "new list without the continue parameter.")
            }
            snapshotID = id
            snapshotRevision = snapshot.revision
            items = snapshot.items
            offset = start
        } else {
            let selector = try SelectorMatcher(parsing: request.query["labelSelector"])
            let fields = try Self.fieldSelector(request.query["fieldSelector"])
            items = objects.keys.sorted()
                .filter { $0.resource == rule.descriptor.qualifiedName }
                .filter { request.namespace == nil || $0.namespace == request.namespace }
                .compactMap { objects[$0]?.object }
                .filter { selector.matches($0) && fields($0) }
        }
        var page = Array(items.dropFirst(offset))
        var metadata: JSONValue = ["resourceVersion": .string(String(snapshotRevision))]
        if let limit, page.count > limit {
            let id: Int
            if let snapshotID {
                id = snapshotID
            } else {
                id = nextSnapshotID
                nextSnapshotID += 1
                snapshots[id] = Snapshot(revision: snapshotRevision, items: items)
            }
            let token: JSONValue = ["id": .number(Double(id)), "offset": .number(Double(offset + limit))]
            metadata["continue"] = .string(Data(token.serialized()).base64EncodedString())
            metadata["remainingItemCount"] = .number(Double(page.count - limit))
            page = Array(page.prefix(limit))
        }
        let shaped = page.map { item -> JSONValue in
            guard !rule.isCustom else { return item }
            var item = item
            item["apiVersion"] = nil
            item["kind"] = nil
            return item
        }
        return .json(
            200,
            [
                "kind": .string(rule.descriptor.kind + "List"), "apiVersion": .string(rule.descriptor.apiVersion),
                "metadata": metadata, "items": .array(shaped),
            ])
    }

    private static func fieldSelector(_ text: String?) throws -> (JSONValue) -> Bool {
        guard let text, !text.isEmpty else { return { _ in true } }
        var checks: [(FieldPath, String)] = []
        for term in text.split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "=", with: "")
            }
            guard parts.count == 2, ["metadata.name", "metadata.namespace"].contains(parts[0]) else {
                throw APIFailure.badRequest("field label not supported: \(term)")
            }
            checks.append((parts[0].split(separator: ".").map(String.init), parts[1]))
        }
        return { object in checks.allSatisfy { FieldOwnership.value(at: $0.0, in: object)?.stringValue == $0.1 } }
    }

    // MARK: Watch

    private func startWatch(_ request: APIRequest) throws -> APIResponse {
        let rule = request.rule
        if settings.refuseWatches {
            throw APIFailure(code: 503, reason: "ServiceUnavailable", message: "watches are refused for this test")
        }
        let selector = try SelectorMatcher(parsing: request.query["labelSelector"])
        let feed = WatchFeed(id: nextWatcherID)
        nextWatcherID += 1
        let requested = request.query["timeoutSeconds"].flatMap { Int($0) }.map { Duration.seconds($0) }
        let timeout = min(requested ?? .seconds(1800), settings.maximumWatchDuration)
        let bookmarks = request.query["allowWatchBookmarks"] == "true"
        let watcher = Watcher(
            feed: feed, resource: rule.descriptor.qualifiedName, namespace: request.namespace, selector: selector,
            descriptor: rule.descriptor)
        let version = request.query["resourceVersion"] ?? ""

        if version.isEmpty || version == "0" {
            let current = objects.keys.sorted().filter { watcher.covers($0) }.compactMap { objects[$0]?.object }
            feed.push(current.filter(selector.matches).map { Self.line(type: "ADDED", object: $0) })
        } else {
            guard let start = Int(version) else {
                throw APIFailure.badRequest("invalid resource version: \(version)")
            }
            if start < compactedRevision {
                let message = "too old resource version: \(start) (\(compactedRevision))"
                switch settings.expiredWatchForm {
                case .httpStatus:
                    throw APIFailure.expired(message)
                case .errorEvent:
                    feed.push([Self.line(type: "ERROR", object: APIFailure.expired(message).body)])
                    feed.finish()
                    return .watch(feed, timeout: timeout, bookmarks: false)
                }
            }
            feed.push(history.filter { $0.revision > start }.compactMap { watcher.line(for: $0) })
        }
        watchers[feed.id] = watcher
        return .watch(feed, timeout: timeout, bookmarks: bookmarks)
    }

    func endWatch(_ id: Int) {
        watchers[id]?.feed.finish()
        watchers[id] = nil
    }

    /// Pushes a BOOKMARK at the current resourceVersion: every event up to it is already queued.
    func bookmark(_ id: Int) {
        guard let watcher = watchers[id] else { return }
        let object: JSONValue = [
            "kind": .string(watcher.descriptor.kind), "apiVersion": .string(watcher.descriptor.apiVersion),
            "metadata": ["resourceVersion": .string(String(revision)), "creationTimestamp": .null],
        ]
        watcher.feed.push([Self.line(type: "BOOKMARK", object: object)])
    }

    private func record(_ change: Change) {
        history.append(change)
        for watcher in watchers.values {
            if let line = watcher.line(for: change) { watcher.feed.push([line]) }
        }
    }

    static func line(type: String, object: JSONValue) -> [UInt8] {
        JSONValue.object(["type": .string(type), "object": object]).serialized() + [UInt8(ascii: "\n")]
    }

    // MARK: Validation

    private func parseObject(_ request: APIRequest) throws -> JSONValue {
        guard let value = try? JSONValue(parsing: request.body), case .object = value else {
            throw APIFailure.badRequest("the body of the request could not be decoded as a JSON object")
        }
        return value
    }

    private func checkTypeMeta(_ object: JSONValue, rule: ResourceRule, required: Bool) throws {
        let apiVersion = object["apiVersion"]?.stringValue
        let kind = object["kind"]?.stringValue
        if required, apiVersion == nil || kind == nil {
            throw APIFailure.badRequest(
                "Object 'Kind' is missing in '\(String(decoding: object.serialized().prefix(200), as: UTF8.self))'")
        }
        if let apiVersion, apiVersion != rule.descriptor.apiVersion {
            throw APIFailure.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version (\(rule.descriptor.apiVersion))"
            )
        }
        if let kind, kind != rule.descriptor.kind {
            throw APIFailure.badRequest(
                "the kind in the data (\(kind)) does not match the expected kind (\(rule.descriptor.kind))")
        }
    }

    private func checkNamespace(_ object: JSONValue, _ request: APIRequest) throws {
        if let namespace = object[path: ["metadata", "namespace"]]?.stringValue, !namespace.isEmpty,
            namespace != request.namespace
        {
            throw APIFailure.badRequest(
                "the namespace of the provided object does not match the namespace sent on the request")
        }
    }

    /// Lease times are MicroTime: exactly six fractional digits, else the body does not decode (400).
    private func validateMicroTimes(_ object: JSONValue, rule: ResourceRule) throws {
        guard rule.descriptor.plural == "leases", rule.descriptor.group == "coordination.k8s.io" else { return }
        for field in ["acquireTime", "renewTime"] {
            guard let value = object[path: ["spec", field]] else { continue }
            if case .null = value { continue }
            guard let text = value.stringValue, MicroTime(parsing: text) != nil else {
                throw APIFailure.badRequest(
                    "Lease in version \"v1\" cannot be handled as a Lease: parsing time \"\(value.stringValue ?? "?")\" "
                        + "as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse as RFC3339Micro")
            }
        }
    }

    /// The registry's field validation for the fields Hadron writes.
    private func validate(_ object: JSONValue, rule: ResourceRule, name: String) throws {
        try validateMicroTimes(object, rule: rule)
        try validateOwnerReferences(object, rule: rule, name: name)
        if rule.descriptor.plural == "leases", let seconds = object[path: ["spec", "leaseDurationSeconds"]]?.intValue,
            seconds <= 0
        {
            throw APIFailure.invalid(
                rule, name: name, field: "spec.leaseDurationSeconds",
                detail: "Invalid value: \(seconds): must be greater than 0")
        }
    }

    /// `ValidateOwnerReferences` of apimachinery: every reference names apiVersion, kind, name and
    /// uid, and at most one is the controller. (Whether the owner exists is the garbage collector's
    /// business, not the API server's.)
    private func validateOwnerReferences(_ object: JSONValue, rule: ResourceRule, name: String) throws {
        guard let references = object[path: ["metadata", "ownerReferences"]]?.arrayValue else { return }
        var controllers: [String] = []
        for reference in references {
            for field in ["apiVersion", "kind", "name", "uid"] {
                guard let value = reference[field]?.stringValue, !value.isEmpty else {
                    let detail =
                        field == "apiVersion"
                        ? "version must not be empty"
                        : field == "uid" ? "uid must not be empty" : "\(field) must not be empty"
                    throw APIFailure.invalid(
                        rule, name: name, field: "metadata.ownerReferences.\(field)",
                        detail: "Invalid value: \"\": \(detail)")
                }
            }
            if case .bool(true)? = reference["controller"] {
                controllers.append("\(reference["kind"]?.stringValue ?? "")/\(reference["name"]?.stringValue ?? "")")
            }
        }
        if controllers.count > 1 {
            throw APIFailure.invalid(
                rule, name: name, field: "metadata.ownerReferences",
                detail: "Invalid value: []v1.OwnerReference: Only one reference can have Controller set to true. "
                    + "Found \"true\" in references for \(controllers.joined(separator: " and "))")
        }
    }

    static func now() -> String {
        String(MicroTime.now().description.prefix(19)) + "Z"
    }
}

extension APIServerState.Watcher {
    func covers(_ key: APIServerState.Key) -> Bool {
        key.resource == resource && (namespace == nil || key.namespace == namespace)
    }

    /// The event this watcher sees for a change, after its selector: an object that starts matching
    /// is ADDED, one that stops matching is DELETED (as the real server's watch filter does).
    func line(for change: APIServerState.Change) -> [UInt8]? {
        guard covers(change.key) else { return nil }
        let now = change.type != "DELETED" && selector.matches(change.object)
        let before = change.previous.map(selector.matches) ?? false
        let type: String
        switch change.type {
        case "ADDED": guard now else { return nil }; type = "ADDED"
        case "DELETED": guard before || selector.matches(change.object) else { return nil }; type = "DELETED"
        default:
            switch (before, now) {
            case (true, true): type = "MODIFIED"
            case (false, true): type = "ADDED"
            case (true, false): type = "DELETED"
            case (false, false): return nil
            }
        }
        return APIServerState.line(type: type, object: change.object)
    }
}
