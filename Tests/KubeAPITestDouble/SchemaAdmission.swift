import KubeAPI

extension APIServerState {
    /// What the API server does to a custom resource before storing it, when the double knows its
    /// CRD: unknown fields are pruned (or, with `fieldValidation=Strict`, refused with 400), defaults
    /// are applied, and the result is validated against the schema (422 Invalid listing every
    /// violation in `status.details.causes`). Other kinds, and every kind when no CRDs were loaded,
    /// pass unchanged.
    func admitBySchema(_ object: JSONValue, request: APIRequest, name: String) throws -> JSONValue {
        let rule = request.rule
        guard rule.isCustom, let schema = settings.customResourceSchemas?.schema(for: rule.descriptor) else {
            return object
        }
        if request.query["fieldValidation"] == "Strict" {
            let unknown = schema.unknownFields(of: object)
            if !unknown.isEmpty {
                let descriptor = rule.descriptor
                let listed = unknown.map { "unknown field \"\($0.dropFirst())\"" }.joined(separator: ", ")
                throw APIFailure.badRequest(
                    "\(descriptor.kind) in version \"\(descriptor.version)\" cannot be handled as a \(descriptor.kind): "
                        + "strict decoding error: \(listed)")
            }
        }
        let admitted = schema.defaulted(schema.pruned(object))
        let violations = schema.violations(of: admitted)
        if !violations.isEmpty { throw APIFailure.invalid(rule, name: name, violations: violations) }
        return admitted
    }
}

extension APIFailure {
    /// 422 Invalid with one cause per violation, worded as the server words them:
    /// `Stream.hadron.dev "orders" is invalid: [spec.partitions: Invalid value: …, spec.cluster: …]`.
    static func invalid(_ rule: ResourceRule, name: String, violations: [SchemaViolation]) -> APIFailure {
        let descriptor = rule.descriptor
        let kind = descriptor.group.isEmpty ? descriptor.kind : "\(descriptor.kind).\(descriptor.group)"
        let listed = violations.map(\.description)
        let summary = listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
        let causes: [JSONValue] = violations.map {
            ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)]
        }
        return APIFailure(
            code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(summary)",
            details: [
                "name": .string(name), "group": .string(descriptor.group), "kind": .string(descriptor.kind),
                "causes": .array(causes),
            ])
    }
}
