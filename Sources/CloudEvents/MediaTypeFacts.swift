/// What the binding and the encoder ask of a media type, answered by reading the text in place.
///
/// ``MediaType`` builds strings and a parameter dictionary; these questions are asked of every binary-mode request
/// (is it valid, is it JSON in UTF-8, does it name a CloudEvents format), so they are answered from byte ranges.
/// Only a quoted parameter value (rare: `charset="utf-8"`) sends the text to the full parser. The answers are those
/// of ``MediaType``, which stays the definition; `MediaTypeFactsTests` hold the two equal over generated inputs.
struct MediaTypeFacts: Equatable {
    /// A CloudEvents format named by the essence, if any.
    enum CloudEventsFormat: Equatable {
        /// `application/cloudevents+json`
        case structured
        /// `application/cloudevents-batch+json`
        case batch
        /// Any other essence starting with `application/cloudevents` (`+xml`, `-batch+xml`, `x`, …).
        case unsupported
    }

    /// ``MediaType/isJSON``
    var isJSON: Bool
    /// ``MediaType/isTextual``
    var isTextual: Bool
    /// ``MediaType/isUTF8``
    var isUTF8: Bool
    var cloudEventsFormat: CloudEventsFormat?

    private init(isJSON: Bool, isTextual: Bool, isUTF8: Bool, cloudEventsFormat: CloudEventsFormat?) {
        self.isJSON = isJSON
        self.isTextual = isTextual
        self.isUTF8 = isUTF8
        self.cloudEventsFormat = cloudEventsFormat
    }

    /// The facts of `text`, or `nil` when it is not a valid media type.
    init?(_ text: String) {
        var text = text
        let scanned = text.withUTF8 { bytes -> Scan in
            // The type nearly every binary-mode event declares, written the usual way: two loads and done.
            if bytes.count == 16,
                UnsafeRawBufferPointer(bytes).loadUnaligned(as: UInt64.self) == 0x7461_6369_6C70_7061,  // "applicat"
                UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: 8, as: UInt64.self) == 0x6E6F_736A_2F6E_6F69  // "ion/json"
            {
                return .valid(Self.applicationJSON)
            }
            return Self.scan(bytes)
        }
        switch scanned {
        case .valid(let facts): self = facts
        case .invalid: return nil
        case .needsParser:
            guard let mediaType = MediaType(text) else { return nil }
            self.init(mediaType)
        }
    }

    /// The facts of a parsed media type: the reference the scan must agree with.
    init(_ mediaType: MediaType) {
        isJSON = mediaType.isJSON
        isTextual = mediaType.isTextual
        isUTF8 = mediaType.isUTF8
        switch mediaType.essence {
        case JSONEventFormat.mediaType: cloudEventsFormat = .structured
        case JSONEventFormat.batchMediaType: cloudEventsFormat = .batch
        case let essence where essence.hasPrefix("application/cloudevents"): cloudEventsFormat = .unsupported
        default: cloudEventsFormat = nil
        }
    }

    private static var applicationJSON: MediaTypeFacts {
        MediaTypeFacts(isJSON: true, isTextual: false, isUTF8: true, cloudEventsFormat: nil)
    }

    private enum Scan {
        case valid(MediaTypeFacts)
        case invalid
        /// A quoted parameter value: unquoting needs the full parser.
        case needsParser
    }

    /// Follows ``MediaType``'s parser step by step, keeping ranges instead of strings.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Scan {
        var index = 0
        func token() -> Range<Int>? {
            let start = index
            while index < bytes.count, MediaType.isTokenByte(bytes[index]) { index += 1 }
            return index > start ? start..<index : nil
        }
        func skipWhitespace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }
        skipWhitespace()
        guard let type = token(), index < bytes.count, bytes[index] == 0x2F else { return .invalid }
        index += 1
        guard let subtype = token() else { return .invalid }
        var charset: Range<Int>?
        skipWhitespace()
        while index < bytes.count {
            guard bytes[index] == 0x3B else { return .invalid }
            index += 1
            skipWhitespace()
            if index == bytes.count || bytes[index] == 0x3B { continue }  // RFC 9110 allows empty parameters
            guard let name = token(), index < bytes.count, bytes[index] == 0x3D else { return .invalid }
            index += 1
            if index < bytes.count, bytes[index] == 0x22 { return .needsParser }
            guard let value = token() else { return .invalid }
            if equalsLowercased(bytes, name, "charset") { charset = value }  // the last one wins, as in the parser
            skipWhitespace()
        }

        let subtypeLength = subtype.count
        func subtypeHasSuffix(_ suffix: StaticString) -> Bool {
            subtypeLength >= suffix.utf8CodeUnitCount
                && equalsLowercased(bytes, (subtype.upperBound - suffix.utf8CodeUnitCount)..<subtype.upperBound, suffix)
        }
        var cloudEventsFormat: CloudEventsFormat?
        if equalsLowercased(bytes, type, "application"), subtypeLength >= 11,
            equalsLowercased(bytes, subtype.lowerBound..<(subtype.lowerBound + 11), "cloudevents")
        {
            if equalsLowercased(bytes, subtype, "cloudevents+json") {
                cloudEventsFormat = .structured
            } else if equalsLowercased(bytes, subtype, "cloudevents-batch+json") {
                cloudEventsFormat = .batch
            } else {
                cloudEventsFormat = .unsupported
            }
        }
        return .valid(
            MediaTypeFacts(
                isJSON: equalsLowercased(bytes, subtype, "json") || subtypeHasSuffix("+json"),
                isTextual: equalsLowercased(bytes, type, "text") || equalsLowercased(bytes, subtype, "xml")
                    || subtypeHasSuffix("+xml"),
                isUTF8: charset.map { equalsLowercased(bytes, $0, "utf-8") || equalsLowercased(bytes, $0, "utf8") } ?? true,
                cloudEventsFormat: cloudEventsFormat))
    }

    /// Whether the token at `range` equals the lower-case ASCII `literal`, ignoring ASCII case.
    @inline(__always)
    private static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString)
        -> Bool
    {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for offset in 0..<range.count {
            let byte = bytes[range.lowerBound + offset]
            let lowered = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            guard lowered == expected[offset] else { return false }
        }
        return true
    }
}
