public import Foundation
public import KubeAPI
import Yams

/// The CustomResourceDefinitions the double enforces: with them, custom resources are pruned,
/// defaulted and validated against their version's `openAPIV3Schema` on every write, as a real
/// API server does. Without them (the default) the double stores custom resources as sent.
public struct CustomResourceSchemas: Sendable {
    /// The CRD objects, as loaded.
    public let definitions: [JSONValue]
    private let schemas: [String: StructuralSchema]

    public init(definitions: [JSONValue]) {
        self.definitions = definitions
        var schemas: [String: StructuralSchema] = [:]
        for definition in definitions {
            guard let group = definition[path: ["spec", "group"]]?.stringValue,
                let plural = definition[path: ["spec", "names", "plural"]]?.stringValue
            else { continue }
            for version in definition[path: ["spec", "versions"]]?.arrayValue ?? [] {
                guard let name = version["name"]?.stringValue,
                    let schema = version[path: ["schema", "openAPIV3Schema"]]
                else { continue }
                schemas["\(plural).\(group)/\(name)"] = StructuralSchema(schema)
            }
        }
        self.schemas = schemas
    }

    /// Every CustomResourceDefinition in the `.yaml`/`.yml` files of `directory` (several documents
    /// per file allowed), e.g. a Helm chart's `crds/`.
    public static func load(directory: URL) throws -> CustomResourceSchemas {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var definitions: [JSONValue] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            definitions += try YAMLDocuments.parse(text).filter {
                $0["kind"]?.stringValue == "CustomResourceDefinition"
            }
        }
        return CustomResourceSchemas(definitions: definitions)
    }

    /// The schema of `plural.group` at `version`, if a loaded CRD declares it.
    public func schema(group: String, version: String, plural: String) -> StructuralSchema? {
        schemas["\(plural).\(group)/\(version)"]
    }

    public func schema(for descriptor: ResourceDescriptor) -> StructuralSchema? {
        schema(group: descriptor.group, version: descriptor.version, plural: descriptor.plural)
    }
}

/// YAML documents as JSON values, with YAML 1.1 core-schema typing as Kubernetes decodes them
/// (`"True"` quoted stays a string, `3` is a number, `~` is null).
public enum YAMLDocuments {
    public static func parse(_ text: String) throws -> [JSONValue] {
        var documents: [JSONValue] = []
        // Parser.nextRoot, not compose_all: its sequence ends quietly at a malformed document.
        let parser = try Parser(yaml: text)
        while let node = try parser.nextRoot() {
            let value = convert(node)
            if case .null = value { continue }
            documents.append(value)
        }
        return documents
    }

    static func convert(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            let tag = node.tag
            if tag == Tag(.null) { return .null }
            if tag == Tag(.bool), let value = Bool.construct(from: scalar) { return .bool(value) }
            if tag == Tag(.int), let value = Int.construct(from: scalar) { return .number(Double(value)) }
            if tag == Tag(.float), let value = Double.construct(from: scalar) { return .number(value) }
            return .string(scalar.string)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping { members[key.string ?? ""] = convert(value) }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.map(convert))
        case .alias:
            return .null
        }
    }
}
