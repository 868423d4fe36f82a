public import KubeAPI

/// `admission.k8s.io/v1` AdmissionReview, as the API server sends it to a validating webhook and expects it
/// back: the request in, the same envelope with `response` out.
///
/// The API server rejects a reply whose `apiVersion`/`kind` differ or whose `response.uid` is not the
/// request's, failing the user's request (with `failurePolicy: Fail`), so ``reply(_:)`` builds it from the
/// request and nothing else.
public struct AdmissionReview: Codable, Sendable {
    public static let apiVersion = "admission.k8s.io/v1"
    public static let kind = "AdmissionReview"

    public struct GroupVersionKind: Codable, Sendable, Equatable {
        public var group: String
        public var version: String
        public var kind: String

        public init(group: String, version: String, kind: String) {
            self.group = group
            self.version = version
            self.kind = kind
        }
    }

    public struct GroupVersionResource: Codable, Sendable, Equatable {
        public var group: String
        public var version: String
        public var resource: String

        public init(group: String, version: String, resource: String) {
            self.group = group
            self.version = version
            self.resource = resource
        }
    }

    public struct Request: Codable, Sendable {
        /// Echoed in `response.uid`.
        public var uid: String
        /// The kind of `object` as this webhook registered for it.
        public var kind: GroupVersionKind
        public var resource: GroupVersionResource
        /// `status` for a write to the status subresource; absent for the main resource.
        public var subResource: String?
        public var requestKind: GroupVersionKind?
        public var requestResource: GroupVersionResource?
        public var requestSubResource: String?
        public var name: String?
        public var namespace: String?
        /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
        public var operation: String
        public var userInfo: JSONValue?
        public var object: JSONValue?
        /// The object before an UPDATE (and the deleted object on DELETE).
        public var oldObject: JSONValue?
        /// Nothing is persisted; validation is side-effect free, so the answer is the same.
        public var dryRun: Bool?
        public var options: JSONValue?

        public init(
            uid: String, kind: GroupVersionKind, resource: GroupVersionResource, subResource: String? = nil,
            name: String? = nil, namespace: String? = nil, operation: String, object: JSONValue? = nil,
            oldObject: JSONValue? = nil, dryRun: Bool? = nil
        ) {
            self.uid = uid
            self.kind = kind
            self.resource = resource
            self.subResource = subResource
            self.name = name
            self.namespace = namespace
            self.operation = operation
            self.object = object
            self.oldObject = oldObject
            self.dryRun = dryRun
        }
    }

    public struct Response: Codable, Sendable {
        public var uid: String
        public var allowed: Bool
        /// `metav1.Status` of a denial: the API server prefixes the message with the webhook's name and returns
        /// the code to the client (`kubectl` prints `Error from server (Invalid): admission webhook … denied …`).
        public var status: KubeStatus?
        public var warnings: [String]?

        public init(uid: String, allowed: Bool, status: KubeStatus? = nil, warnings: [String]? = nil) {
            self.uid = uid
            self.allowed = allowed
            self.status = status
            self.warnings = warnings
        }
    }

    public var apiVersion: String
    public var kind: String
    public var request: Request?
    public var response: Response?

    public init(request: Request) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.request = request
    }

    /// The review to send back for `response`, which must carry the request's uid.
    public static func reply(_ response: Response) -> AdmissionReview {
        var review = AdmissionReview(apiVersion: apiVersion, kind: kind)
        review.response = response
        return review
    }

    private init(apiVersion: String, kind: String) {
        self.apiVersion = apiVersion
        self.kind = kind
    }
}
