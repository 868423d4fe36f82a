import Foundation
public import KubeAPI

/// One way a value breaks its schema, as the API server reports it in `status.details.causes`.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// `FieldValueInvalid`, `FieldValueTypeInvalid`, `FieldValueRequired`, `FieldValueNotSupported`,
    /// `FieldValueTooLong`, `FieldValueTooMany`.
    public var reason: String
    /// The field path the server names: `spec.partitions`, `spec.sinks[0].topic`.
    public var field: String
    /// The message without the field: `Invalid value: 0: spec.partitions in body should be …`.
    public var message: String

    public var description: String { "\(field): \(message)" }
}

/// An OpenAPI v3 schema as a kube-apiserver evaluates it: the structural schema of a CRD version
/// (`openAPIV3Schema`), or a built-in kind's schema with its `$ref`s resolved from `components`.
///
/// What it implements, with the server's messages (apiextensions-apiserver's validation of
/// kube-openapi results): `type` (and `nullable`), `required`, `enum`, `minimum`/`maximum`
/// (and exclusive), `pattern`, `minLength`/`maxLength`, `minItems`/`maxItems`, `minProperties`/
/// `maxProperties`, `items`, `properties`, `additionalProperties`, `allOf`/`anyOf`/`oneOf`,
/// `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`;
/// pruning of unknown fields and `default`s. CEL rules (`x-kubernetes-validations`) and formats are
/// not evaluated.
public struct StructuralSchema: Sendable {
    public let root: JSONValue
    /// Named schemas `$ref: #/components/schemas/NAME` points at.
    public let components: [String: JSONValue]

    public init(_ root: JSONValue, components: [String: JSONValue] = [:]) {
        self.root = root
        self.components = components
    }

    // MARK: Validation

    /// Every violation of the schema by `value` (an object: field paths start below the root).
    public func violations(of value: JSONValue) -> [SchemaViolation] {
        var found: [SchemaViolation] = []
        validate(value, against: root, path: [], into: &found)
        return found
    }

    /// Follows `$ref`, and the `allOf: [{$ref}]` the server wraps a described reference in.
    private func resolve(_ schema: JSONValue) -> JSONValue {
        if let parts = schema["allOf"]?.arrayValue, parts.count == 1, parts[0]["$ref"] != nil,
            schema["properties"] == nil, schema["items"] == nil
        {
            return resolve(parts[0])
        }
        guard let reference = schema["$ref"]?.stringValue else { return schema }
        let name = String(reference.split(separator: "/").last ?? "")
        return components[name].map(resolve) ?? [:]
    }

    private func validate(
        _ value: JSONValue, against raw: JSONValue, path: [String], into found: inout [SchemaViolation]
    ) {
        let schema = resolve(raw)
        let field = Self.fieldPath(path)
        let inBody = field.isEmpty ? "body" : "\(field) in body"
        for part in schema["allOf"]?.arrayValue ?? []
        where schema["allOf"]?.arrayValue?.count != 1 || part["$ref"] == nil {
            validate(value, against: part, path: path, into: &found)
        }

        let intOrString = schema["x-kubernetes-int-or-string"] == .bool(true)
        if case .null = value {
            if schema["nullable"] == .bool(true) { return }
            if let type = schema["type"]?.stringValue {
                found.append(Self.typeInvalid(field, value, "\(inBody) must be of type \(type): \"null\""))
            }
            return
        }
        if intOrString {
            guard value.isInteger || value.stringValue != nil else {
                found.append(
                    Self.typeInvalid(
                        field, value, "\(inBody) must be of type integer-or-string: \"\(value.typeName)\""))
                return
            }
        } else if let type = schema["type"]?.stringValue, !value.hasType(type) {
            found.append(Self.typeInvalid(field, value, "\(inBody) must be of type \(type): \"\(value.typeName)\""))
            return
        }

        for keyword in ["anyOf", "oneOf"] {
            guard let branches = schema[keyword]?.arrayValue, !branches.isEmpty, !intOrString else { continue }
            let matching = branches.filter { branch in
                var branchFound: [SchemaViolation] = []
                validate(value, against: branch, path: path, into: &branchFound)
                return branchFound.isEmpty
            }.count
            if matching == 0 || (keyword == "oneOf" && matching > 1) {
                found.append(
                    SchemaViolation(
                        reason: "FieldValueInvalid", field: field,
                        message: "Invalid value: \(value.rendered): \(inBody) must validate "
                            + (keyword == "oneOf" ? "one and only one schema (oneOf)" : "at least one schema (anyOf)")))
            }
        }

        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            found.append(
                SchemaViolation(
                    reason: "FieldValueNotSupported", field: field,
                    message: "Unsupported value: \(value.rendered): supported values: "
                        + allowed.map(\.rendered).joined(separator: ", ")))
        }

        switch value {
        case .number(let number):
            if let minimum = schema["minimum"]?.number {
                let exclusive = schema["exclusiveMinimum"] == .bool(true)
                if exclusive ? number <= minimum : number < minimum {
                    found.append(
                        Self.invalid(
                            field, value,
                            "\(inBody) should be greater than \(exclusive ? "" : "or equal to ")\(Self.format(minimum))"
                        ))
                }
            }
            if let maximum = schema["maximum"]?.number {
                let exclusive = schema["exclusiveMaximum"] == .bool(true)
                if exclusive ? number >= maximum : number > maximum {
                    found.append(
                        Self.invalid(
                            field, value,
                            "\(inBody) should be less than \(exclusive ? "" : "or equal to ")\(Self.format(maximum))"))
                }
            }
        case .string(let text):
            let length = text.count
            if let maximum = schema["maxLength"]?.intValue, length > maximum {
                found.append(
                    SchemaViolation(
                        reason: "FieldValueTooLong", field: field,
                        message: "Too long: may not be longer than \(maximum)"))
            }
            if let minimum = schema["minLength"]?.intValue, length < minimum {
                found.append(Self.invalid(field, value, "\(inBody) should be at least \(minimum) chars long"))
            }
            if let pattern = schema["pattern"]?.stringValue, !Self.matches(text, pattern) {
                found.append(Self.invalid(field, value, "\(inBody) should match '\(pattern)'"))
            }
        case .array(let items):
            if let maximum = schema["maxItems"]?.intValue, items.count > maximum {
                found.append(
                    SchemaViolation(
                        reason: "FieldValueTooMany", field: field,
                        message: "Too many: \(items.count): must have at most \(maximum) items"))
            }
            if let minimum = schema["minItems"]?.intValue, items.count < minimum {
                found.append(Self.invalid(field, value, "\(inBody) should have at least \(minimum) items"))
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() {
                    validate(item, against: itemSchema, path: Self.indexed(path, index), into: &found)
                }
            }
        case .object(let members):
            if let maximum = schema["maxProperties"]?.intValue, members.count > maximum {
                found.append(Self.invalid(field, value, "\(inBody) should have at most \(maximum) properties"))
            }
            if let minimum = schema["minProperties"]?.intValue, members.count < minimum {
                found.append(Self.invalid(field, value, "\(inBody) should have at least \(minimum) properties"))
            }
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                found.append(
                    SchemaViolation(
                        reason: "FieldValueRequired", field: Self.fieldPath(path + [name]), message: "Required value"))
            }
            let properties = schema["properties"]?.objectValue ?? [:]
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                if let property = properties[name] {
                    validate(member, against: property, path: path + [name], into: &found)
                } else if let additional = schema["additionalProperties"], case .object = additional {
                    validate(member, against: additional, path: path + [name], into: &found)
                }
            }
        default:
            break
        }
    }

    // MARK: Pruning and defaults

    /// The paths of fields the schema does not declare (what pruning would drop, and what
    /// `fieldValidation=Strict` rejects), as `.spec.foo`.
    public func unknownFields(of value: JSONValue) -> [String] {
        var found: [String] = []
        walkUnknown(value, schema: root, path: "", isRoot: true, into: &found)
        return found
    }

    /// `value` without the fields the schema does not declare, as the API server prunes them.
    public func pruned(_ value: JSONValue) -> JSONValue {
        prune(value, schema: root, isRoot: true)
    }

    /// `value` with every missing property that has a `default` set to it, nested defaults included.
    public func defaulted(_ value: JSONValue) -> JSONValue {
        applyDefaults(value, schema: root)
    }

    private func keepsEverything(_ schema: JSONValue) -> Bool {
        schema["x-kubernetes-preserve-unknown-fields"] == .bool(true)
    }

    /// apiVersion, kind and metadata are always kept at the root and in embedded resources.
    private static let typeMetaFields: Set<String> = ["apiVersion", "kind", "metadata"]

    private func walkUnknown(
        _ value: JSONValue, schema raw: JSONValue, path: String, isRoot: Bool, into found: inout [String]
    ) {
        let schema = resolve(raw)
        switch value {
        case .object(let members):
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            let embedded = isRoot || schema["x-kubernetes-embedded-resource"] == .bool(true)
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                let childPath = path + "." + name
                if embedded, name == "metadata", Self.isOpaqueMetadata(properties?[name].map(resolve)) {
                    continue
                } else if let property = properties?[name] {
                    walkUnknown(member, schema: property, path: childPath, isRoot: false, into: &found)
                } else if let additional, case .object = additional {
                    walkUnknown(member, schema: additional, path: childPath, isRoot: false, into: &found)
                } else if embedded, Self.typeMetaFields.contains(name) {
                    continue
                } else if !keepsEverything(schema), additional != .bool(true),
                    properties != nil || additional != nil
                        || schema["type"]?.stringValue == "object"
                {
                    found.append(childPath)
                }
            }
        case .array(let items):
            guard let itemSchema = schema["items"] else { return }
            for (index, item) in items.enumerated() {
                walkUnknown(item, schema: itemSchema, path: "\(path)[\(index)]", isRoot: false, into: &found)
            }
        default:
            break
        }
    }

    private func prune(_ value: JSONValue, schema raw: JSONValue, isRoot: Bool) -> JSONValue {
        let schema = resolve(raw)
        switch value {
        case .object(let members):
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            let embedded = isRoot || schema["x-kubernetes-embedded-resource"] == .bool(true)
            var kept: [String: JSONValue] = [:]
            for (name, member) in members {
                if embedded, name == "metadata", Self.isOpaqueMetadata(properties?[name].map(resolve)) {
                    kept[name] = member
                } else if let property = properties?[name] {
                    kept[name] = prune(member, schema: property, isRoot: false)
                } else if let additional, case .object = additional {
                    kept[name] = prune(member, schema: additional, isRoot: false)
                } else if keepsEverything(schema) || additional == .bool(true)
                    || (embedded && Self.typeMetaFields.contains(name))
                {
                    kept[name] = member
                }
            }
            return .object(kept)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return value }
            return .array(items.map { prune($0, schema: itemSchema, isRoot: false) })
        default:
            return value
        }
    }

    private func applyDefaults(_ value: JSONValue, schema raw: JSONValue) -> JSONValue {
        let schema = resolve(raw)
        switch value {
        case .object(var members):
            let properties = schema["properties"]?.objectValue ?? [:]
            for (name, property) in properties {
                let resolved = resolve(property)
                if let fallback = resolved["default"] {
                    if members[name] == nil { members[name] = fallback }
                    // A null for a non-nullable field with a default takes the default.
                    if members[name] == .null, resolved["nullable"] != .bool(true) { members[name] = fallback }
                }
            }
            for (name, member) in members {
                if let property = properties[name] {
                    members[name] = applyDefaults(member, schema: property)
                } else if let additional = schema["additionalProperties"], case .object = additional {
                    members[name] = applyDefaults(member, schema: additional)
                }
            }
            return .object(members)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return value }
            return .array(items.map { applyDefaults($0, schema: itemSchema) })
        default:
            return value
        }
    }

    // MARK: Structural checks

    /// Where the schema breaks the rules apiextensions.k8s.io/v1 puts on CRD schemas (a real API
    /// server refuses the CRD): every node with properties, items or additionalProperties states a
    /// `type` (unless int-or-string or preserve-unknown-fields), `metadata` at the root is only
    /// `type: object`, no `type`/`default`/`description`/`additionalProperties`/`nullable` inside
    /// anyOf/allOf/oneOf/not, no `$ref`, and every `default` validates against its own schema and is
    /// already pruned.
    public func structuralProblems() -> [String] {
        var problems: [String] = []
        if root["type"]?.stringValue != "object" { problems.append("root: type must be object") }
        if let metadata = root[path: ["properties", "metadata"]] {
            let keys = Set(metadata.objectValue?.keys.map { $0 } ?? [])
            if metadata["type"]?.stringValue != "object" || !keys.subtracting(["type", "description"]).isEmpty {
                problems.append("metadata: only `type: object` is allowed at the root's metadata")
            }
        }
        if root["default"] != nil { problems.append("root: default is not allowed") }
        checkStructure(root, path: "", inJunctor: false, into: &problems)
        return problems
    }

    private func checkStructure(_ schema: JSONValue, path: String, inJunctor: Bool, into problems: inout [String]) {
        guard case .object(let members) = schema else {
            problems.append("\(path): not a schema object")
            return
        }
        let label = path.isEmpty ? "root" : path
        if members["$ref"] != nil { problems.append("\(label): $ref is not allowed") }
        let intOrString = members["x-kubernetes-int-or-string"] == .bool(true)
        let preserves = members["x-kubernetes-preserve-unknown-fields"] == .bool(true)
        if inJunctor {
            for forbidden in ["type", "default", "description", "additionalProperties", "nullable"]
            where members[forbidden] != nil {
                problems.append("\(label): \(forbidden) is not allowed inside anyOf/allOf/oneOf/not")
            }
        } else if members["type"] == nil, !intOrString, !preserves {
            problems.append("\(label): type is required")
        }
        if intOrString, members["type"] != nil {
            problems.append("\(label): x-kubernetes-int-or-string excludes type")
        }
        if members["properties"] != nil, members["additionalProperties"] != nil {
            problems.append("\(label): properties and additionalProperties are mutually exclusive")
        }
        if let listType = members["x-kubernetes-list-type"]?.stringValue, listType == "map" {
            let keys = members["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let itemSchema = members["items"] ?? [:]
            let required = Set(itemSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            for key in keys where !required.contains(key) && itemSchema[path: ["properties", key, "default"]] == nil {
                problems.append("\(label): list map key \(key) must be required or defaulted")
            }
        }
        if let fallback = members["default"] {
            let own = StructuralSchema(schema)
            let violations = own.violations(of: fallback)
            if !violations.isEmpty { problems.append("\(label): default is invalid: \(violations)") }
            if own.pruned(fallback) != fallback { problems.append("\(label): default is not pruned") }
        }
        for (name, property) in members["properties"]?.objectValue ?? [:] {
            checkStructure(
                property, path: path.isEmpty ? name : "\(path).\(name)", inJunctor: inJunctor, into: &problems)
        }
        if let items = members["items"] {
            checkStructure(items, path: "\(label)[]", inJunctor: inJunctor, into: &problems)
        }
        if let additional = members["additionalProperties"], case .object = additional {
            checkStructure(additional, path: "\(label){}", inJunctor: inJunctor, into: &problems)
        }
        for junctor in ["anyOf", "allOf", "oneOf"] {
            for branch in members[junctor]?.arrayValue ?? [] {
                // The one exception: `anyOf`/`allOf: [{type: integer}, {type: string}]` of int-or-string.
                if intOrString, junctor != "oneOf",
                    [.object(["type": "integer"]), .object(["type": "string"])].contains(branch)
                {
                    continue
                }
                checkStructure(branch, path: "\(label).\(junctor)", inJunctor: true, into: &problems)
            }
        }
        if let negated = members["not"] {
            checkStructure(negated, path: "\(label).not", inJunctor: true, into: &problems)
        }
    }

    // MARK: Parts

    /// A CRD's root `metadata: {type: object}` says nothing of ObjectMeta's fields: the server keeps
    /// and validates them itself.
    static func isOpaqueMetadata(_ schema: JSONValue?) -> Bool {
        guard let schema else { return true }
        return schema["properties"] == nil && schema["allOf"] == nil
    }

    static func fieldPath(_ path: [String]) -> String {
        var text = ""
        for segment in path {
            if segment.hasPrefix("[") { text += segment } else { text += text.isEmpty ? segment : ".\(segment)" }
        }
        return text
    }

    static func indexed(_ path: [String], _ index: Int) -> [String] { path + ["[\(index)]"] }

    static func invalid(_ field: String, _ value: JSONValue, _ detail: String) -> SchemaViolation {
        SchemaViolation(
            reason: "FieldValueInvalid", field: field, message: "Invalid value: \(value.rendered): \(detail)")
    }

    static func typeInvalid(_ field: String, _ value: JSONValue, _ detail: String) -> SchemaViolation {
        SchemaViolation(
            reason: "FieldValueTypeInvalid", field: field, message: "Invalid value: \(value.rendered): \(detail)")
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 9e15 ? String(Int(number)) : String(number)
    }

    /// Go's RE2 and ICU agree on the patterns CRDs use (no lookaround, no backreferences).
    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
        let range = NSRange(text.startIndex..., in: text)
        return expression.firstMatch(in: text, range: range) != nil
    }
}

extension JSONValue {
    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var isInteger: Bool {
        if case .number(let value) = self { return value.rounded() == value }
        return false
    }

    func hasType(_ type: String) -> Bool {
        switch (type, self) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("number", .number):
            return true
        case ("integer", .number): return isInteger
        default: return false
        }
    }

    /// The JSON type name in the server's messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return isInteger ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// How Go's `%#v`-like rendering in field errors shows a value: strings quoted, numbers bare.
    var rendered: String {
        switch self {
        case .string(let text): return "\"\(text)\""
        case .number(let number): return StructuralSchema.format(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }
}
