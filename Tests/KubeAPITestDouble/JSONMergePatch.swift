import KubeAPI

/// RFC 7386 JSON merge patch: objects merge member by member, `null` removes, anything else replaces.
enum JSONMergePatch {
    static func apply(_ patch: JSONValue, to target: JSONValue?) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result = target?.objectValue ?? [:]
        for (key, value) in members {
            if case .null = value {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key])
            }
        }
        return .object(result)
    }
}
