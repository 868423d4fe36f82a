/// A request the API server answered with a failure status, decoded from its `Status` body.
public struct KubeAPIError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case status
        case undecodable
    }

    private let code: Code
    /// The HTTP status code (404, 409, 410, 422, …).
    public let httpStatus: Int
    /// The decoded `Status`, when the body was one.
    public let status: KubeStatus?
    public let message: String

    init(httpStatus: Int, body: [UInt8], request: String) {
        self.httpStatus = httpStatus
        if let decoded = try? JSONValue(parsing: body).decode(KubeStatus.self),
            decoded.kind == "Status" || decoded.reason != nil
        {
            self.code = .status
            self.status = decoded
            self.message = "\(request): \(httpStatus) \(decoded.reason ?? ""): \(decoded.message ?? "")"
        } else {
            self.code = .status
            self.status = nil
            let text = String(decoding: body.prefix(512), as: UTF8.self)
            self.message = "\(request): \(httpStatus): \(text)"
        }
    }

    /// A successful response whose body is not the expected object.
    init(undecodable body: [UInt8], request: String, error: any Error) {
        self.code = .undecodable
        self.httpStatus = 200
        self.status = nil
        self.message = "\(request): cannot decode the response: \(error)"
    }

    /// A watch `ERROR` event, which carries a `Status` in place of an object.
    init(watchError status: KubeStatus, request: String) {
        self.code = .status
        self.httpStatus = status.code ?? 500
        self.status = status
        self.message = "\(request): watch error \(status.code ?? 0) \(status.reason ?? ""): \(status.message ?? "")"
    }

    /// The `Status.reason`: `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Expired`, …
    public var reason: String? { status?.reason }

    /// The response was a success status but its body could not be decoded as the expected kind.
    public var isUndecodable: Bool { code == .undecodable }

    public var isNotFound: Bool { httpStatus == 404 }
    /// Create of an object that exists (409 `AlreadyExists`).
    public var isAlreadyExists: Bool { httpStatus == 409 && reason == "AlreadyExists" }
    /// Stale `resourceVersion` or an apply conflict (409 `Conflict`).
    public var isConflict: Bool { httpStatus == 409 && reason != "AlreadyExists" }
    /// A resourceVersion or continue token too old to serve (410, reason `Expired` or `Gone`).
    public var isExpired: Bool { httpStatus == 410 }
    public var isInvalid: Bool { httpStatus == 422 }
    public var isBadRequest: Bool { httpStatus == 400 }
    public var isUnauthorized: Bool { httpStatus == 401 }
    public var isForbidden: Bool { httpStatus == 403 }

    /// The causes of a server-side apply conflict (`reason: FieldManagerConflict`).
    public var causes: [KubeStatus.Cause] { status?.details?.causes ?? [] }

    public var description: String { message }
}
