/// An object of a known kind kept as the exact JSON the server sent: every field, modelled or not.
///
/// A typed model drops what it does not declare, so comparing an object the operator wants with
/// one the server holds must use this form — a field the model lacks would otherwise read as
/// missing forever. `Kind` only names the resource (its descriptor); nothing is decoded into it.
public struct Unstructured<Kind: KubeResource>: KubeResource, Equatable {
    public static var descriptor: ResourceDescriptor { Kind.descriptor }

    /// The whole object; `metadata` is kept in step with `object["metadata"]`.
    public private(set) var object: JSONValue
    public var metadata: ObjectMeta {
        didSet {
            if let encoded = try? JSONValue(encoding: metadata) {
                object["metadata"] = Self.merging(encoded, over: object["metadata"])
            }
        }
    }

    public init(_ object: JSONValue) throws {
        self.object = object
        self.metadata = try (object["metadata"] ?? .object([:])).decode(ObjectMeta.self)
    }

    public init(from decoder: any Decoder) throws {
        try self.init(try JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try object.encode(to: encoder)
    }

    /// Modelled metadata members replace the stored ones; members `ObjectMeta` does not model stay.
    private static func merging(_ modelled: JSONValue, over stored: JSONValue?) -> JSONValue {
        var result = stored?.objectValue ?? [:]
        for key in ObjectMeta.CodingKeys.allCases.map(\.stringValue) { result[key] = modelled[key] }
        return .object(result)
    }
}
