import KubeAPI

/// RFC 6902 JSON patch (`application/json-patch+json`): `add`, `remove`, `replace` and `test`, paths as
/// RFC 6901 pointers. A failed operation fails the whole patch with 422, as the API server answers.
enum JSONPatch {
    static func apply(_ patch: JSONValue, to target: JSONValue) throws -> JSONValue {
        guard let operations = patch.arrayValue else {
            throw APIFailure.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var document = target
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let pointer = operation["path"]?.stringValue else {
                throw APIFailure.badRequest("a JSON patch operation needs \"op\" and \"path\"")
            }
            let path = try tokens(pointer)
            switch op {
            case "add", "replace":
                guard let value = operation["value"] else { throw unprocessable("missing value for \(op)") }
                document = try set(value, at: path[...], in: document, replacing: op == "replace", pointer: pointer)
            case "remove":
                document = try remove(path[...], from: document, pointer: pointer)
            case "test":
                guard lookup(path, in: document) == operation["value"] ?? .null else {
                    throw unprocessable("testing value \(pointer) failed: test failed")
                }
            default:
                throw unprocessable("Unexpected kind: \(op)")
            }
        }
        return document
    }

    private static func lookup(_ path: [String], in document: JSONValue) -> JSONValue? {
        var current: JSONValue? = document
        for token in path {
            if case .array(let items)? = current {
                current = Int(token).flatMap { items.indices.contains($0) ? items[$0] : nil }
            } else {
                current = current?[token]
            }
        }
        return current
    }

    private static func tokens(_ pointer: String) throws -> [String] {
        guard pointer.isEmpty || pointer.hasPrefix("/") else {
            throw APIFailure.badRequest("JSON pointer \"\(pointer)\" must start with '/'")
        }
        return pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func set(
        _ value: JSONValue, at path: ArraySlice<String>, in document: JSONValue, replacing: Bool, pointer: String
    ) throws -> JSONValue {
        guard let first = path.first else { return value }
        let rest = path.dropFirst()
        switch document {
        case .object(var members):
            if rest.isEmpty {
                if replacing, members[first] == nil {
                    throw unprocessable("replace operation does not apply: doc is missing key: \(pointer)")
                }
                members[first] = value
            } else {
                guard let child = members[first] else { throw unprocessable("doc is missing path: \(pointer)") }
                members[first] = try set(value, at: rest, in: child, replacing: replacing, pointer: pointer)
            }
            return .object(members)
        case .array(var items):
            if rest.isEmpty, first == "-", !replacing {
                items.append(value)
                return .array(items)
            }
            guard let index = Int(first), index >= 0, index < items.count + (rest.isEmpty && !replacing ? 1 : 0) else {
                throw unprocessable("doc is missing path: \(pointer)")
            }
            if rest.isEmpty {
                if replacing { items[index] = value } else { items.insert(value, at: index) }
            } else {
                items[index] = try set(value, at: rest, in: items[index], replacing: replacing, pointer: pointer)
            }
            return .array(items)
        default:
            throw unprocessable("doc is missing path: \(pointer)")
        }
    }

    private static func remove(_ path: ArraySlice<String>, from document: JSONValue, pointer: String) throws
        -> JSONValue
    {
        guard let first = path.first else { throw unprocessable("cannot remove the whole document") }
        let rest = path.dropFirst()
        switch document {
        case .object(var members):
            guard let child = members[first] else { throw unprocessable("doc is missing path: \(pointer)") }
            members[first] = rest.isEmpty ? nil : try remove(rest, from: child, pointer: pointer)
            return .object(members)
        case .array(var items):
            guard let index = Int(first), items.indices.contains(index) else {
                throw unprocessable("doc is missing path: \(pointer)")
            }
            if rest.isEmpty {
                items.remove(at: index)
            } else {
                items[index] = try remove(rest, from: items[index], pointer: pointer)
            }
            return .array(items)
        default:
            throw unprocessable("doc is missing path: \(pointer)")
        }
    }

    private static func unprocessable(_ message: String) -> APIFailure {
        APIFailure(code: 422, reason: "Invalid", message: message)
    }
}
