import KubeAPI

/// The `Status` bodies the real API server answers failures with, word for word where Hadron or
/// its tests look at them.
struct APIFailure: Error {
    var code: Int
    var body: JSONValue

    init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
        self.code = code
        var status: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .number(Double(code)),
        ]
        if let details { status["details"] = details }
        self.body = status
    }

    static func details(_ rule: ResourceRule, name: String, causes: [JSONValue]? = nil) -> JSONValue {
        var details: JSONValue = ["name": .string(name), "kind": .string(rule.descriptor.plural)]
        if !rule.descriptor.group.isEmpty { details["group"] = .string(rule.descriptor.group) }
        if let causes { details["causes"] = .array(causes) }
        return details
    }

    static func notFound(_ rule: ResourceRule, name: String) -> APIFailure {
        APIFailure(
            code: 404, reason: "NotFound", message: "\(rule.descriptor.qualifiedName) \"\(name)\" not found",
            details: details(rule, name: name))
    }

    static func unknownPath() -> APIFailure {
        APIFailure(
            code: 404, reason: "NotFound", message: "the server could not find the requested resource",
            details: ["causes": [["reason": "UnexpectedServerResponse", "message": "404 page not found"]]])
    }

    static func alreadyExists(_ rule: ResourceRule, name: String) -> APIFailure {
        APIFailure(
            code: 409, reason: "AlreadyExists", message: "\(rule.descriptor.qualifiedName) \"\(name)\" already exists",
            details: details(rule, name: name))
    }

    static func conflict(_ rule: ResourceRule, name: String) -> APIFailure {
        APIFailure(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(rule.descriptor.qualifiedName) \"\(name)\": "
                + "the object has been modified; please apply your changes to the latest version and try again",
            details: details(rule, name: name))
    }

    static func invalid(_ rule: ResourceRule, name: String, field: String, detail: String) -> APIFailure {
        let descriptor = rule.descriptor
        let kind = descriptor.group.isEmpty ? descriptor.kind : "\(descriptor.kind).\(descriptor.group)"
        return APIFailure(
            code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(field): \(detail)",
            details: [
                "name": .string(name), "group": .string(descriptor.group), "kind": .string(descriptor.kind),
                "causes": [["reason": "FieldValueInvalid", "message": .string(detail), "field": .string(field)]],
            ])
    }

    static func badRequest(_ message: String) -> APIFailure {
        APIFailure(code: 400, reason: "BadRequest", message: message)
    }

    static func expired(_ message: String) -> APIFailure {
        APIFailure(code: 410, reason: "Expired", message: message)
    }

    static func unauthorized() -> APIFailure {
        APIFailure(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    static func methodNotAllowed() -> APIFailure {
        APIFailure(
            code: 405, reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource")
    }

    static func unsupportedMediaType(_ type: String) -> APIFailure {
        APIFailure(
            code: 415, reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: "
                + "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    }
}
