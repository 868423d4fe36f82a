/// An RFC 9110 media type: `type/subtype` with parameters.
///
/// The HTTP binding chooses the mode from it, the JSON format decides from it whether `data` is embedded JSON, and
/// a structured body is transcoded by its `charset`.
public struct MediaType: Sendable, Hashable {
    /// `type/subtype`, lower-cased (media types compare case-insensitively).
    public let essence: String
    /// Parameters by lower-cased name, values unquoted.
    public let parameters: [String: String]

    /// Parses `text`; `nil` when it is not a valid media type.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    private init(essence: String, parameters: [String: String]) {
        self.essence = essence
        self.parameters = parameters
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> MediaType? {
        var index = 0
        func token() -> String? {
            let start = index
            var upper = false
            while index < bytes.count, Self.isTokenByte(bytes[index]) {
                upper = upper || (bytes[index] >= 0x41 && bytes[index] <= 0x5A)
                index += 1
            }
            guard index > start else { return nil }
            let token = String(decoding: bytes[start..<index], as: UTF8.self)
            return upper ? token.lowercased() : token
        }
        func skipWhitespace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }
        skipWhitespace()
        guard let type = token(), index < bytes.count, bytes[index] == 0x2F else { return nil }
        index += 1
        guard let subtype = token() else { return nil }
        var parameters: [String: String] = [:]
        skipWhitespace()
        while index < bytes.count {
            guard bytes[index] == 0x3B else { return nil }
            index += 1
            skipWhitespace()
            if index == bytes.count || bytes[index] == 0x3B { continue }  // RFC 9110 allows empty parameters
            guard let name = token(), index < bytes.count, bytes[index] == 0x3D else { return nil }
            index += 1
            var value: [UInt8] = []
            if index < bytes.count, bytes[index] == 0x22 {
                guard let (unquoted, end) = QuotedString.unquote(Array(bytes), from: index) else { return nil }
                value = unquoted
                index = end
            } else {
                let start = index
                while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
                guard index > start else { return nil }
                value = Array(bytes[start..<index])
            }
            parameters[name] = String(decoding: value, as: UTF8.self)
            skipWhitespace()
        }
        return MediaType(essence: type + "/" + subtype, parameters: parameters)
    }

    /// Checks the grammar without building the parsed value (validation runs for every event).
    public static func isValid(_ text: String) -> Bool { MediaTypeFacts(text) != nil }

    /// The `charset` parameter, lower-cased.
    public var charset: String? { parameters["charset"]?.lowercased() }

    /// `application/json`, any `*/json` (`text/json` too) and any `*/*+json`: data of these types is JSON text.
    public var isJSON: Bool { essence.hasSuffix("/json") || essence.hasSuffix("+json") }

    /// `text/*`, `*/xml` and `*/*+xml`: data of these types is text.
    public var isTextual: Bool { essence.hasPrefix("text/") || essence.hasSuffix("/xml") || essence.hasSuffix("+xml") }

    /// True when the charset is absent or names UTF-8, so text data can be embedded as a JSON string as it is.
    public var isUTF8: Bool {
        guard let charset else { return true }
        return charset == "utf-8" || charset == "utf8"
    }

    /// RFC 9110 `tchar`: `!#$%&'*+-.^_`|~`, digits and letters. Bit n of the first mask is set when byte n is a
    /// tchar, bit n of the second when byte 64 + n is (`GrammarTests` check the masks against the list).
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        byte < 64
            ? (0x03FF_6CFA_0000_0000 as UInt64) >> byte & 1 == 1
            : byte < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (byte - 64) & 1 == 1
    }
}

/// RFC 9110 `quoted-string`, shared by media type parameters and binary-mode header values.
enum QuotedString {
    /// Unquotes the quoted-string that starts at `start` (a DQUOTE); the content and the index after the closing
    /// quote, or `nil` when the string is not closed or holds a byte a quoted-string may not hold.
    static func unquote(_ bytes: [UInt8], from start: Int) -> ([UInt8], Int)? {
        var index = start + 1
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x22:
                return (value, index + 1)
            case 0x5C:
                guard index + 1 < bytes.count, isQuotedPairByte(bytes[index + 1]) else { return nil }
                value.append(bytes[index + 1])
                index += 2
            default:
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                guard byte == 0x09 || byte == 0x20 || byte == 0x21 || (byte >= 0x23 && byte != 0x7F) else { return nil }
                value.append(byte)
                index += 1
            }
        }
        return nil
    }

    private static func isQuotedPairByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || byte == 0x20 || (byte >= 0x21 && byte != 0x7F)
    }
}
