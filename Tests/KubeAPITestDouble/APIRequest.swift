import KubeAPI

/// A request as the double's store sees it: the resource path already resolved.
struct APIRequest: Sendable {
    var method: String
    var rule: ResourceRule
    /// `nil` for cluster-scoped resources and for lists across all namespaces.
    var namespace: String?
    var name: String?
    var subresource: String?
    var query: [String: String]
    var body: [UInt8]
    var contentType: String
    var userAgent: String

    /// The manager an update is recorded under: `fieldManager`, else the user agent up to its first `/`.
    var manager: String {
        if let manager = query["fieldManager"], !manager.isEmpty { return manager }
        return String(userAgent.split(separator: "/").first ?? "unknown")
    }

    /// Parses `/api/v1/...` and `/apis/GROUP/VERSION/...`.
    static func resolve(path: String) throws -> (
        rule: ResourceRule, namespace: String?, name: String?, subresource: String?
    ) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let group: String
        let version: String
        if segments.first == "api", segments.count >= 2 {
            group = ""
            version = segments[1]
            segments.removeFirst(2)
        } else if segments.first == "apis", segments.count >= 3 {
            group = segments[1]
            version = segments[2]
            segments.removeFirst(3)
        } else {
            throw APIFailure.unknownPath()
        }
        var namespace: String?
        if segments.first == "namespaces", segments.count >= 3 {
            namespace = segments[1]
            segments.removeFirst(2)
        }
        guard let plural = segments.first,
            let rule = ResourceCatalog.rule(group: group, version: version, plural: plural)
        else {
            throw APIFailure.unknownPath()
        }
        if namespace != nil, !rule.descriptor.namespaced { throw APIFailure.unknownPath() }
        segments.removeFirst()
        let name = segments.first
        let subresource = segments.count > 1 ? segments[1] : nil
        if segments.count > 2 { throw APIFailure.unknownPath() }
        if let subresource, subresource != "status" || !rule.hasStatus { throw APIFailure.unknownPath() }
        if name != nil, rule.descriptor.namespaced, namespace == nil { throw APIFailure.unknownPath() }
        return (rule, namespace, name, subresource)
    }
}

/// What the store answers: a JSON body, or a watch to stream.
enum APIResponse: Sendable {
    case json(Int, JSONValue)
    case watch(WatchFeed, timeout: Duration, bookmarks: Bool)
}
