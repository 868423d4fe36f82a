/// A typed attribute value, as the CloudEvents type system defines it.
///
/// The type an attribute travels with matters for exact round trips: a structured-mode extension `"n": 5` is an
/// Integer and comes back as the JSON number 5; the same extension sent in binary mode as `ce-n: 5` is a String.
public enum AttributeValue: Sendable, Hashable {
    case string(String)
    case integer(Int32)
    case boolean(Bool)
    case binary([UInt8])
    case uri(URI)
    case uriReference(URIReference)
    case timestamp(Timestamp)

    /// The canonical string encoding of the specification's type system (used by the HTTP binary mode).
    public var canonicalString: String {
        switch self {
        case .string(let value): value
        case .integer(let value): String(value)
        case .boolean(let value): value ? "true" : "false"
        case .binary(let bytes): Base64.encode(bytes)
        case .uri(let uri): uri.text
        case .uriReference(let reference): reference.text
        case .timestamp(let timestamp): timestamp.text
        }
    }
}

/// An absolute URI (RFC 3986 §4.3): a scheme, then the rest. Valid by construction.
public struct URI: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// Validates `text` as an absolute URI.
    public init(_ text: String) throws(CloudEventError) {
        guard URIGrammar.isURIReference(text.utf8), URIGrammar.hasScheme(text.utf8) else {
            throw .init(.invalidURI, "\"\(text)\" is not an absolute URI (RFC 3986: scheme \":\" hier-part)")
        }
        self.text = text
    }

    /// Wraps text already validated, for example when decoding storage that only ever held valid values.
    public init(unchecked text: String) { self.text = text }

    public var description: String { text }
}

/// A URI-reference (RFC 3986 §4.1): an absolute URI or a relative reference. Valid by construction.
public struct URIReference: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) throws(CloudEventError) {
        guard URIGrammar.isURIReference(text.utf8) else {
            throw .init(.invalidURI, "\"\(text)\" is not a URI-reference (RFC 3986)")
        }
        self.text = text
    }

    public init(unchecked text: String) { self.text = text }

    public var description: String { text }
}
