import KubeAPI

/// A field path: object member names from the root (`["spec", "replicas"]`).
typealias FieldPath = [String]

/// One entry of `metadata.managedFields`.
struct ManagerEntry: Sendable, Equatable {
    var manager: String
    /// `Apply` or `Update`.
    var operation: String
    /// `""` or `"status"`.
    var subresource: String
    var apiVersion: String
    var time: String
    var fields: Set<FieldPath>

    var rendered: JSONValue {
        var entry: JSONValue = [
            "manager": .string(manager), "operation": .string(operation), "apiVersion": .string(apiVersion),
            "time": .string(time), "fieldsType": "FieldsV1", "fieldsV1": FieldOwnership.render(fields),
        ]
        if !subresource.isEmpty { entry["subresource"] = .string(subresource) }
        return entry
    }

    /// How a conflict names this manager: `"name"` for appliers, `"name" using v1` for updaters.
    var conflictName: String {
        operation == "Apply" ? "conflict with \"\(manager)\"" : "conflict with \"\(manager)\" using \(apiVersion)"
    }
}

/// Field sets as server-side apply tracks them. Objects are granular, member by member; scalars are
/// atomic, and so are lists unless the kind declares them keyed (`listType=map`): then each item is
/// its own path element `k:{"name":"…"}`, owned member by member like an object. Only the lists
/// Hadron shares with another manager are declared (a webhook configuration's `webhooks`, whose
/// `caBundle` the operator writes into the chart's items); others stay atomic — Hadron owns them whole.
enum FieldOwnership {
    /// Members the server sets or that identify the object; never owned.
    static let untracked: Set<FieldPath> = [
        ["apiVersion"], ["kind"], ["metadata", "name"], ["metadata", "namespace"], ["metadata", "uid"],
        ["metadata", "resourceVersion"], ["metadata", "generation"], ["metadata", "creationTimestamp"],
        ["metadata", "managedFields"], ["metadata", "deletionTimestamp"], ["metadata", "selfLink"],
        ["metadata", "deletionGracePeriodSeconds"],
    ]

    /// The leaf paths of `value` that a request to `subresource` may own: with a status
    /// subresource, the main resource never owns `status` and `/status` owns nothing else.
    static func trackedLeaves(of value: JSONValue, rule: ResourceRule, subresource: String) -> Set<FieldPath> {
        leaves(of: value, keyedLists: rule.keyedLists).filter { path in
            if untracked.contains(where: { path.starts(with: $0) }) { return false }
            if rule.hasStatus {
                let isStatus = path.first == "status"
                return subresource == "status" ? isStatus : !isStatus
            }
            return true
        }
    }

    /// - Parameter keyedLists: list paths (without item keys) whose items are keyed by the named field.
    static func leaves(of value: JSONValue, prefix: FieldPath = [], keyedLists: [FieldPath: String] = [:])
        -> Set<FieldPath>
    {
        if case .array(let items) = value, !items.isEmpty,
            let keyField = keyedLists[prefix.filter { !$0.hasPrefix("k:") }]
        {
            var result: Set<FieldPath> = []
            for item in items {
                guard let key = item[keyField]?.stringValue else { return [prefix] }
                result.formUnion(leaves(of: item, prefix: prefix + [itemKey(keyField, key)], keyedLists: keyedLists))
            }
            return result
        }
        guard case .object(let members) = value, !(members.isEmpty && !prefix.isEmpty) else {
            return prefix.isEmpty ? [] : [prefix]
        }
        var result: Set<FieldPath> = []
        for (key, member) in members {
            result.formUnion(leaves(of: member, prefix: prefix + [key], keyedLists: keyedLists))
        }
        return result
    }

    /// Puts the items of each keyed list in the order the real merge gives them: items the object already
    /// had keep their places, items the apply adds follow in the apply's order. (Setting paths one by one
    /// from a set would otherwise order new items at random.)
    static func orderingKeyedItems(
        _ result: JSONValue, previous: JSONValue?, applied: JSONValue, keyedLists: [FieldPath: String]
    ) -> JSONValue {
        var result = result
        for (path, field) in keyedLists where !path.contains(where: { $0.hasPrefix("k:") }) {
            guard let items = value(at: path, in: result)?.arrayValue else { continue }
            let before = (value(at: path, in: previous)?.arrayValue ?? []).compactMap { $0[field]?.stringValue }
            let added = (value(at: path, in: applied)?.arrayValue ?? []).compactMap { $0[field]?.stringValue }
            func rank(_ item: JSONValue) -> Int {
                guard let key = item[field]?.stringValue else { return Int.max }
                if let index = before.firstIndex(of: key) { return index }
                return before.count + (added.firstIndex(of: key) ?? added.count)
            }
            let ordered = items.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }
            result = setting(.array(ordered.map(\.element)), at: path, in: result)
        }
        return result
    }

    /// The path element of a keyed list item, spelled as `fieldsV1` spells it: `k:{"name":"validate"}`.
    static func itemKey(_ field: String, _ value: String) -> String {
        "k:" + String(decoding: JSONValue.object([field: .string(value)]).serialized(), as: UTF8.self)
    }

    /// The key field and value of a `k:{…}` path element; nil for an object member name.
    static func parseItemKey(_ element: String) -> (field: String, value: String)? {
        guard element.hasPrefix("k:"), let key = try? JSONValue(parsing: Array(element.utf8.dropFirst(2))),
            let (field, value) = key.objectValue?.first, let text = value.stringValue
        else { return nil }
        return (field, text)
    }

    /// One step down: an object member, or the item of a keyed list that a `k:{…}` element names.
    private static func child(_ element: String, of value: JSONValue?) -> JSONValue? {
        if let (field, key) = parseItemKey(element), case .array(let items)? = value {
            return items.first { $0[field]?.stringValue == key }
        }
        return value?[element]
    }

    static func value(at path: FieldPath, in value: JSONValue?) -> JSONValue? {
        var current = value
        for key in path { current = child(key, of: current) }
        return current
    }

    static func setting(_ newValue: JSONValue, at path: FieldPath, in value: JSONValue) -> JSONValue {
        guard let first = path.first else { return newValue }
        if let (field, key) = parseItemKey(first) {
            var items = value.arrayValue ?? []
            let index: Int
            if let found = items.firstIndex(where: { $0[field]?.stringValue == key }) {
                index = found
            } else {
                items.append([field: .string(key)])
                index = items.count - 1
            }
            items[index] = setting(newValue, at: Array(path.dropFirst()), in: items[index])
            return .array(items)
        }
        var members = value.objectValue ?? [:]
        members[first] = setting(newValue, at: Array(path.dropFirst()), in: members[first] ?? .object([:]))
        return .object(members)
    }

    /// Removes the member at `path`, then any object it leaves empty (up to, not including, the root).
    /// Removing the key field of a keyed item removes the item, as pruning the last owner's item does.
    static func removing(_ path: FieldPath, from value: JSONValue) -> JSONValue {
        if let first = path.first, let (field, key) = parseItemKey(first), var items = value.arrayValue {
            guard let index = items.firstIndex(where: { $0[field]?.stringValue == key }) else { return value }
            if path.count == 1 || path == [first, field] {
                items.remove(at: index)
            } else {
                items[index] = removing(Array(path.dropFirst()), from: items[index])
            }
            return .array(items)
        }
        guard let first = path.first, var members = value.objectValue else { return value }
        if path.count == 1 {
            members[first] = nil
        } else if let child = members[first] {
            let pruned = removing(Array(path.dropFirst()), from: child)
            if case .object(let remaining) = pruned, remaining.isEmpty {
                members[first] = nil
            } else {
                members[first] = pruned
            }
        }
        return .object(members)
    }

    /// One path lies under (or is) the other.
    static func overlaps(_ a: FieldPath, _ b: FieldPath) -> Bool {
        a.starts(with: b) || b.starts(with: a)
    }

    /// `fieldsV1`: `{"f:spec": {"f:replicas": {}}}`.
    static func render(_ fields: Set<FieldPath>) -> JSONValue {
        var root: JSONValue = .object([:])
        for path in fields {
            root = renderSetting(path.map { $0.hasPrefix("k:") ? $0 : "f:\($0)" }, in: root)
        }
        return root
    }

    /// `fieldsV1` nests plain objects whatever the element (`k:{…}` included).
    private static func renderSetting(_ path: [String], in value: JSONValue) -> JSONValue {
        guard let first = path.first else { return .object([:]) }
        var members = value.objectValue ?? [:]
        members[first] = renderSetting(Array(path.dropFirst()), in: members[first] ?? .object([:]))
        return .object(members)
    }

    /// `.spec.replicas` or `.webhooks[name="validate"].clientConfig.caBundle`, as conflict causes name fields.
    static func describe(_ path: FieldPath) -> String {
        path.map { element in
            if let (field, key) = parseItemKey(element) { return "[\(field)=\"\(key)\"]" }
            return ".\(element)"
        }.joined()
    }
}
