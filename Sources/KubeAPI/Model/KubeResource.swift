/// A Kubernetes kind the client handles with a typed model.
///
/// `apiVersion` and `kind` are optional in the model because the API server leaves them out of the
/// items of a list; the client stamps them from `descriptor` on everything it sends.
public protocol KubeResource: Codable, Sendable {
    static var descriptor: ResourceDescriptor { get }
    var metadata: ObjectMeta { get set }
}

extension KubeResource {
    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
    public var resourceVersion: String? { metadata.resourceVersion }
}

/// A list response: `metadata.resourceVersion` is where a watch should start, `metadata.continue`
/// the token of the next page.
public struct KubeList<Item: KubeResource>: Codable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]

    public init(metadata: ListMeta = ListMeta(), items: [Item] = []) {
        self.metadata = metadata
        self.items = items
    }

    private enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        // The API server sends `"items": null` for an empty list of some kinds.
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

public struct ListMeta: Codable, Sendable, Equatable {
    public var resourceVersion: String?
    public var `continue`: String?
    public var remainingItemCount: Int?

    public init(resourceVersion: String? = nil, continue: String? = nil, remainingItemCount: Int? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
        self.remainingItemCount = remainingItemCount
    }
}
