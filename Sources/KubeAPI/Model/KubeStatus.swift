/// `metav1.Status`: how the API server explains a failed request (and a watch `ERROR` event).
public struct KubeStatus: Codable, Sendable, Equatable {
    public struct Details: Codable, Sendable, Equatable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }

    /// One reason among several: for a server-side apply conflict, `reason: FieldManagerConflict`
    /// with the `field` path and the other manager in `message`.
    public struct Cause: Codable, Sendable, Equatable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }

    public var kind: String?
    public var apiVersion: String?
    public var status: String?
    public var message: String?
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, `Expired`, `Gone`, …
    public var reason: String?
    public var details: Details?
    public var code: Int?

    public init(status: String? = "Failure", message: String?, reason: String?, code: Int?, details: Details? = nil) {
        self.kind = "Status"
        self.apiVersion = "v1"
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details
    }
}
