import Foundation
public import Logging

/// A Kubernetes API client over libcurl: typed requests for any `KubeResource`, raw requests for
/// everything else, and watches.
///
/// Every request runs on the shared `CurlEngine` thread, never on Swift's cooperative pool; libcurl is loaded by the
/// first request, so a process that never talks to Kubernetes never maps it.
public struct KubeClient: Sendable {
    public let configuration: KubeConfiguration
    public var logger: Logger
    /// Bound on each non-watch request.
    public var requestTimeout: Duration

    public init(configuration: KubeConfiguration, logger: Logger, requestTimeout: Duration = .seconds(30)) {
        self.configuration = configuration
        self.logger = logger
        self.requestTimeout = requestTimeout
    }

    // MARK: Raw requests

    /// Sends one request to the API server and returns the response if its status is 2xx;
    /// otherwise throws `KubeAPIError` with the decoded `Status`.
    public func send(
        method: String,
        path: String,
        query: [(String, String)] = [],
        body: [UInt8]? = nil,
        contentType: String? = nil,
        timeout: Duration? = nil
    ) async throws -> HTTPResponseData {
        let request = try makeRequest(method: method, path: path, query: query, body: body, contentType: contentType)
        var spec = request
        spec.timeout = timeout ?? requestTimeout
        let response = try await CurlEngine.shared().perform(spec, tls: configuration.tls)
        logger.trace(
            "kube request",
            metadata: ["http.method": "\(method)", "http.path": "\(path)", "http.status": "\(response.status)"])
        guard (200..<300).contains(response.status) else {
            throw KubeAPIError(httpStatus: response.status, body: response.body, request: "\(method) \(path)")
        }
        return response
    }

    /// Opens a streaming GET (a watch) and returns once the response head is in; a non-2xx status
    /// throws `KubeAPIError` before any body byte is handed out.
    public func openStream(path: String, query: [(String, String)]) async throws -> HTTPStreamingResponse {
        var spec = try makeRequest(method: "GET", path: path, query: query, body: nil, contentType: nil)
        spec.timeout = nil
        let response = try await CurlEngine.shared().stream(spec, tls: configuration.tls)
        guard response.head.status == 200 else {
            let body = try await response.collectBody()
            throw KubeAPIError(httpStatus: response.head.status, body: body, request: "GET \(path) (watch)")
        }
        return response
    }

    private func makeRequest(
        method: String,
        path: String,
        query: [(String, String)],
        body: [UInt8]?,
        contentType: String?
    ) throws -> HTTPRequestSpec {
        var url = configuration.server + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\($0.1.percentEncodedQueryValue)" }.joined(separator: "&")
        }
        var headers: [(name: String, value: String)] = [
            ("Accept", "application/json"),
            ("User-Agent", configuration.userAgent),
        ]
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let token = try configuration.token?.token(), !token.isEmpty {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        return HTTPRequestSpec(method: method, url: url, headers: headers, body: body, timeout: requestTimeout)
    }

    // MARK: Typed requests

    public func get<R: KubeResource>(_ type: R.Type, name: String, namespace: String? = nil) async throws -> R {
        let path = R.descriptor.objectPath(name: name, namespace: resolve(namespace, for: R.self))
        return try decode(R.self, try await send(method: "GET", path: path), request: "GET \(path)")
    }

    /// One page of a list. `limit` and `continueToken` page through large collections.
    public func list<R: KubeResource>(
        _ type: R.Type,
        namespace: String? = nil,
        allNamespaces: Bool = false,
        labelSelector: LabelSelector? = nil,
        fieldSelector: String? = nil,
        limit: Int? = nil,
        continueToken: String? = nil
    ) async throws -> KubeList<R> {
        let path = R.descriptor.collectionPath(namespace: allNamespaces ? nil : resolve(namespace, for: R.self))
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.requirements.isEmpty {
            query.append(("labelSelector", "\(labelSelector)"))
        }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken { query.append(("continue", continueToken)) }
        let response = try await send(method: "GET", path: path, query: query)
        return try decode(KubeList<R>.self, response, request: "GET \(path)")
    }

    /// Every page of a list, following `continue`; the result's resourceVersion is the snapshot the
    /// pages share, which is where a watch must start.
    public func listAll<R: KubeResource>(
        _ type: R.Type,
        namespace: String? = nil,
        allNamespaces: Bool = false,
        labelSelector: LabelSelector? = nil,
        pageSize: Int = 500
    ) async throws -> KubeList<R> {
        var result = KubeList<R>()
        var token: String?
        repeat {
            let page = try await list(
                R.self, namespace: namespace, allNamespaces: allNamespaces, labelSelector: labelSelector,
                limit: pageSize, continueToken: token)
            if result.metadata.resourceVersion == nil {
                result.metadata.resourceVersion = page.metadata.resourceVersion
            }
            result.items += page.items
            token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return result
    }

    public func create<R: KubeResource>(_ object: R, namespace: String? = nil) async throws -> R {
        let path = R.descriptor.collectionPath(namespace: resolve(namespace ?? object.metadata.namespace, for: R.self))
        var body = try encode(object)
        body["metadata"]?["resourceVersion"] = nil
        body["metadata"]?["managedFields"] = nil
        let response = try await send(
            method: "POST", path: path, body: body.serialized(), contentType: "application/json")
        return try decode(R.self, response, request: "POST \(path)")
    }

    /// PUT: replaces the object. With `metadata.resourceVersion` set, a concurrent change is a 409.
    public func replace<R: KubeResource>(_ object: R, subresource: String? = nil) async throws -> R {
        let path = R.descriptor.objectPath(
            name: object.metadata.name ?? "", namespace: resolve(object.metadata.namespace, for: R.self),
            subresource: subresource)
        let body = try encode(object)
        let response = try await send(
            method: "PUT", path: path, body: body.serialized(), contentType: "application/json")
        return try decode(R.self, response, request: "PUT \(path)")
    }

    /// PUT to `/status`: only the status changes; `generation` stays.
    public func replaceStatus<R: KubeResource>(_ object: R) async throws -> R {
        try await replace(object, subresource: "status")
    }

    /// DELETE, optionally only if the object still has the given resourceVersion or uid.
    public func delete<R: KubeResource>(
        _ type: R.Type,
        name: String,
        namespace: String? = nil,
        preconditionResourceVersion: String? = nil,
        preconditionUID: String? = nil,
        propagationPolicy: String? = nil
    ) async throws {
        let path = R.descriptor.objectPath(name: name, namespace: resolve(namespace, for: R.self))
        var options: [String: JSONValue] = ["kind": "DeleteOptions", "apiVersion": "v1"]
        var preconditions: [String: JSONValue] = [:]
        if let preconditionResourceVersion { preconditions["resourceVersion"] = .string(preconditionResourceVersion) }
        if let preconditionUID { preconditions["uid"] = .string(preconditionUID) }
        if !preconditions.isEmpty { options["preconditions"] = .object(preconditions) }
        if let propagationPolicy { options["propagationPolicy"] = .string(propagationPolicy) }
        _ = try await send(
            method: "DELETE", path: path, body: JSONValue.object(options).serialized(), contentType: "application/json")
    }

    /// JSON merge patch (RFC 7386): members set to `null` are removed.
    public func mergePatch<R: KubeResource>(
        _ type: R.Type,
        name: String,
        namespace: String? = nil,
        patch: JSONValue,
        subresource: String? = nil
    ) async throws -> R {
        let path = R.descriptor.objectPath(
            name: name, namespace: resolve(namespace, for: R.self), subresource: subresource)
        let response = try await send(
            method: "PATCH", path: path, body: patch.serialized(), contentType: "application/merge-patch+json")
        return try decode(R.self, response, request: "PATCH \(path)")
    }

    /// Server-side apply: `object` is this manager's complete intent — fields it leaves out that it
    /// owned are released. Creates the object if absent. A conflict with another manager's field is
    /// a 409 with `FieldManagerConflict` causes unless `force` takes the field over.
    public func apply<R: KubeResource>(
        _ object: R,
        fieldManager: String,
        force: Bool = false,
        subresource: String? = nil
    ) async throws -> R {
        let response = try await applyResponse(
            try encode(object), descriptor: R.descriptor, fieldManager: fieldManager, force: force,
            subresource: subresource)
        return try decode(R.self, response, request: "PATCH \(R.descriptor.plural) (apply)")
    }

    /// Server-side apply of a body of any kind, as JSON (`apiVersion` and `kind` stamped from
    /// `descriptor`): for callers that hold objects of many kinds, or fields no typed model has.
    public func applyObject(
        _ body: JSONValue,
        descriptor: ResourceDescriptor,
        fieldManager: String,
        force: Bool = false,
        subresource: String? = nil
    ) async throws -> JSONValue {
        var body = body
        body["apiVersion"] = .string(descriptor.apiVersion)
        body["kind"] = .string(descriptor.kind)
        let response = try await applyResponse(
            body, descriptor: descriptor, fieldManager: fieldManager, force: force, subresource: subresource)
        return try decode(JSONValue.self, response, request: "PATCH \(descriptor.plural) (apply)")
    }

    /// GET of one object of any kind, as JSON.
    public func getObject(_ descriptor: ResourceDescriptor, name: String, namespace: String?) async throws -> JSONValue
    {
        let path = descriptor.objectPath(name: name, namespace: resolve(namespace, descriptor: descriptor))
        return try decode(JSONValue.self, try await send(method: "GET", path: path), request: "GET \(path)")
    }

    private func applyResponse(
        _ body: JSONValue, descriptor: ResourceDescriptor, fieldManager: String, force: Bool, subresource: String?
    ) async throws -> HTTPResponseData {
        let path = descriptor.objectPath(
            name: body[path: ["metadata", "name"]]?.stringValue ?? "",
            namespace: resolve(body[path: ["metadata", "namespace"]]?.stringValue, descriptor: descriptor),
            subresource: subresource)
        var body = body
        body["metadata"]?["managedFields"] = nil
        body["metadata"]?["resourceVersion"] = nil
        body["metadata"]?["creationTimestamp"] = nil
        var query = [("fieldManager", fieldManager)]
        if force { query.append(("force", "true")) }
        return try await send(
            method: "PATCH", path: path, query: query, body: body.serialized(),
            contentType: "application/apply-patch+yaml")
    }

    /// Server-side apply of the status alone (its own managedFields entry).
    public func applyStatus<R: KubeResource>(_ object: R, fieldManager: String, force: Bool = false) async throws -> R {
        try await apply(object, fieldManager: fieldManager, force: force, subresource: "status")
    }

    // MARK: Helpers

    /// The namespace a request for `R` goes to: none for cluster-scoped kinds, else the given one or
    /// the configuration's.
    func resolve<R: KubeResource>(_ namespace: String?, for type: R.Type) -> String? {
        resolve(namespace, descriptor: R.descriptor)
    }

    func resolve(_ namespace: String?, descriptor: ResourceDescriptor) -> String? {
        guard descriptor.namespaced else { return nil }
        if let namespace, !namespace.isEmpty { return namespace }
        return configuration.namespace
    }

    /// The object as JSON with `apiVersion` and `kind` stamped from its descriptor.
    func encode<R: KubeResource>(_ object: R) throws -> JSONValue {
        var value = try JSONValue(encoding: object)
        value["apiVersion"] = .string(R.descriptor.apiVersion)
        value["kind"] = .string(R.descriptor.kind)
        return value
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponseData, request: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw KubeAPIError(undecodable: response.body, request: request, error: error)
        }
    }
}
