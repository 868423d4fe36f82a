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

/// Field sets as server-side apply tracks them. Objects are granular, member by member; lists and
/// scalars are atomic (the real server merges some lists by key — containers by name — which
/// Hadron does not rely on: it owns whole lists).
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
        leaves(of: value).filter { path in
            if untracked.contains(where: { path.starts(with: $0) }) { return false }
            if rule.hasStatus {
                let isStatus = path.first == "status"
                return subresource == "status" ? isStatus : !isStatus
            }
            return true
        }
    }

    static func leaves(of value: JSONValue, prefix: FieldPath = []) -> Set<FieldPath> {
        guard case .object(let members) = value, !(members.isEmpty && !prefix.isEmpty) else {
            return prefix.isEmpty ? [] : [prefix]
        }
        var result: Set<FieldPath> = []
        for (key, member) in members {
            result.formUnion(leaves(of: member, prefix: prefix + [key]))
        }
        return result
    }

    static func value(at path: FieldPath, in value: JSONValue?) -> JSONValue? {
        var current = value
        for key in path { current = current?[key] }
        return current
    }

    static func setting(_ newValue: JSONValue, at path: FieldPath, in value: JSONValue) -> JSONValue {
        guard let first = path.first else { return newValue }
        var members = value.objectValue ?? [:]
        members[first] = setting(newValue, at: Array(path.dropFirst()), in: members[first] ?? .object([:]))
        return .object(members)
    }

    /// Removes the member at `path`, then any object it leaves empty (up to, not including, the root).
    static func removing(_ path: FieldPath, from value: JSONValue) -> JSONValue {
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
            root = setting(.object([:]), at: path.map { "f:\($0)" }, in: root)
        }
        return root
    }

    /// `.spec.replicas`, as conflict causes name fields.
    static func describe(_ path: FieldPath) -> String {
        path.map { ".\($0)" }.joined()
    }
}
