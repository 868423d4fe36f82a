/// Why an event, a message or a batch was refused: which attribute, which rule.
///
/// The ``description`` is written for the person who sent the request: the gateway puts it verbatim into the
/// `detail` of a problem+json answer. ``code`` is open-ended (new codes never break a `switch` of a caller).
public struct CloudEventError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missingAttribute, emptyAttribute, invalidAttributeType, invalidAttributeName, invalidURI
            case invalidTimestamp, invalidInteger, invalidMediaType, unsupportedSpecVersion, invalidJSON
            case duplicateMember, conflictingData, invalidBase64, invalidHeaderValue, invalidData
            case notACloudEvent, invalidBatch, unsupportedContentType, unsupportedCharset, invalidEncoding
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A required attribute is absent (or `null`).
        public static let missingAttribute = Code(.missingAttribute)
        /// A string attribute that must be non-empty is empty.
        public static let emptyAttribute = Code(.emptyAttribute)
        /// An attribute has a JSON type the specification does not allow for it (float, object, array, …).
        public static let invalidAttributeType = Code(.invalidAttributeType)
        /// An extension name is not `[a-z0-9]+`, or is reserved.
        public static let invalidAttributeName = Code(.invalidAttributeName)
        public static let invalidURI = Code(.invalidURI)
        /// `time` (or another Timestamp) is not RFC 3339.
        public static let invalidTimestamp = Code(.invalidTimestamp)
        /// An Integer is outside the 32-bit signed range.
        public static let invalidInteger = Code(.invalidInteger)
        public static let invalidMediaType = Code(.invalidMediaType)
        public static let unsupportedSpecVersion = Code(.unsupportedSpecVersion)
        /// The body is not well-formed JSON, or not UTF-8.
        public static let invalidJSON = Code(.invalidJSON)
        public static let duplicateMember = Code(.duplicateMember)
        /// `data` and `data_base64` are both present.
        public static let conflictingData = Code(.conflictingData)
        public static let invalidBase64 = Code(.invalidBase64)
        /// A binary-mode header value is badly quoted or percent-encoded, or not UTF-8 once decoded.
        public static let invalidHeaderValue = Code(.invalidHeaderValue)
        /// Data declared as JSON is not valid JSON.
        public static let invalidData = Code(.invalidData)
        /// A request that is neither structured nor batched and carries no `ce-` headers.
        public static let notACloudEvent = Code(.notACloudEvent)
        /// A batch body that is not a JSON array of objects.
        public static let invalidBatch = Code(.invalidBatch)
        /// A CloudEvents content type this library does not speak (`application/cloudevents+xml`, …): HTTP 415.
        public static let unsupportedContentType = Code(.unsupportedContentType)
        /// A `charset` this library cannot decode: HTTP 415.
        public static let unsupportedCharset = Code(.unsupportedCharset)
        /// The body is not valid in the character set it declares.
        public static let invalidEncoding = Code(.invalidEncoding)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The attribute (or JSON member, or header) at fault, when there is one.
    public let attribute: String?
    /// The position of the event in a batch, when the error is about one event of a batch.
    public private(set) var index: Int?
    /// What rule was broken, in words.
    public let message: String

    public init(_ code: Code, attribute: String? = nil, _ message: String) {
        self.code = code
        self.attribute = attribute
        self.message = message
    }

    /// The same error, placed at position `index` of a batch.
    public func inBatch(at index: Int) -> CloudEventError {
        var copy = self
        copy.index = index
        return copy
    }

    /// True when HTTP should answer 415 Unsupported Media Type rather than 400 Bad Request.
    public var isUnsupportedMediaType: Bool {
        code == .unsupportedContentType || code == .unsupportedCharset
    }

    public var description: String {
        var text = ""
        if let index { text += "event \(index) of the batch: " }
        if let attribute { text += "attribute '\(attribute)': " }
        return text + message
    }
}
