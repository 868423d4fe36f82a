public import KubeAPI

/// Identifies an object (or its status) across kinds.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var resource: String
    public var namespace: String
    public var name: String
    /// `""` for the object, `"status"` for its status subresource.
    public var subresource: String

    public init(_ descriptor: ResourceDescriptor, namespace: String, name: String, subresource: String = "") {
        self.resource = descriptor.qualifiedName
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
    }

    public var description: String {
        "\(resource) \(namespace)/\(name)" + (subresource.isEmpty ? "" : "/\(subresource)")
    }
}

/// One object the operator wants to exist, as the exact body it applies: the operator's complete
/// intent for the fields it owns (server-side apply releases whatever it stops sending).
public struct DesiredObject: Sendable, Equatable {
    /// Records which body the object was last applied with, so a field dropped from the body is
    /// noticed by any later leader, not only by the process that applied it (see `ObjectApplier`).
    public static let bodyDigestAnnotation = "hadron.dev/applied-digest"

    public var descriptor: ResourceDescriptor
    public var namespace: String
    public var name: String
    public var body: JSONValue
    /// `"status"` for a status apply, whose body holds only identity and `status`.
    public var subresource: String?

    /// A main-resource object from a typed model; the digest annotation is added here.
    public init<R: KubeResource>(_ object: R) throws {
        var body = try JSONValue(encoding: object)
        body["apiVersion"] = .string(R.descriptor.apiVersion)
        body["kind"] = .string(R.descriptor.kind)
        try self.init(descriptor: R.descriptor, body: body)
    }

    /// A main-resource object from its JSON body; the digest annotation is added here.
    public init(descriptor: ResourceDescriptor, body: JSONValue) throws {
        var body = body
        body["status"] = nil
        body["apiVersion"] = .string(descriptor.apiVersion)
        body["kind"] = .string(descriptor.kind)
        let digest = Self.digest(of: body)
        var annotations = body[path: ["metadata", "annotations"]]?.objectValue ?? [:]
        annotations[Self.bodyDigestAnnotation] = .string(digest)
        body["metadata"]?["annotations"] = .object(annotations)
        self.descriptor = descriptor
        self.namespace = body[path: ["metadata", "namespace"]]?.stringValue ?? ""
        self.name = body[path: ["metadata", "name"]]?.stringValue ?? ""
        self.body = body
        self.subresource = nil
    }

    /// The status of `owner` as the operator wants it: the operator is the only writer of the status
    /// of its CRs, so the status it applies is the whole of it.
    public init(statusOf descriptor: ResourceDescriptor, namespace: String, name: String, status: JSONValue) {
        self.descriptor = descriptor
        self.namespace = namespace
        self.name = name
        self.body = [
            "apiVersion": .string(descriptor.apiVersion), "kind": .string(descriptor.kind),
            "metadata": ["name": .string(name), "namespace": .string(namespace)], "status": status,
        ]
        self.subresource = "status"
    }

    public var key: ObjectKey {
        ObjectKey(descriptor, namespace: namespace, name: name, subresource: subresource ?? "")
    }

    /// FNV-1a (64 bits) of the body's canonical JSON text (sorted keys): a change detector, not a
    /// defence — anyone who may edit the object may edit the annotation too.
    static func digest(of body: JSONValue) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body.serialized() {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
