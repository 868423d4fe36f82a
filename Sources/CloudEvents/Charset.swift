/// Transcoding of structured and batch bodies to UTF-8, by the `charset` parameter of their Content-Type.
///
/// The JSON reader works on UTF-8 only; other charsets are converted once, up front. The set is what senders use:
/// UTF-8, US-ASCII, ISO-8859-1 and the UTF-16 and UTF-32 families (RFC 2781 byte order rules).
public enum Charset {
    /// Converts `body` in `charset` to UTF-8; throws `unsupportedCharset` (HTTP 415) for a charset not supported,
    /// `invalidEncoding` (HTTP 400) for bytes that are not valid in the declared charset.
    public static func transcodeToUTF8(_ body: [UInt8], charset: String?) throws(CloudEventError) -> [UInt8] {
        guard let charset = charset?.lowercased() else { return body }
        switch charset {
        case "utf-8", "utf8":
            return body
        case "us-ascii", "ascii", "iso646-us", "ansi_x3.4-1968":
            guard body.allSatisfy({ $0 < 0x80 }) else { throw invalid(charset) }
            return body
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819":
            var output = [UInt8]()
            output.reserveCapacity(body.count + body.count / 8)
            for byte in body {
                if byte < 0x80 {
                    output.append(byte)
                } else {
                    output.append(0xC0 | byte >> 6)
                    output.append(0x80 | byte & 0x3F)
                }
            }
            return output
        case "utf-16", "utf16":
            if body.starts(with: [0xFF, 0xFE]) { return try utf16(body.dropFirst(2), bigEndian: false, charset) }
            if body.starts(with: [0xFE, 0xFF]) { return try utf16(body.dropFirst(2), bigEndian: true, charset) }
            return try utf16(body[...], bigEndian: true, charset)
        case "utf-16be", "utf16be": return try utf16(body[...], bigEndian: true, charset)
        case "utf-16le", "utf16le": return try utf16(body[...], bigEndian: false, charset)
        case "utf-32", "utf32":
            if body.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { return try utf32(body.dropFirst(4), bigEndian: false, charset) }
            if body.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { return try utf32(body.dropFirst(4), bigEndian: true, charset) }
            return try utf32(body[...], bigEndian: true, charset)
        case "utf-32be", "utf32be": return try utf32(body[...], bigEndian: true, charset)
        case "utf-32le", "utf32le": return try utf32(body[...], bigEndian: false, charset)
        default:
            throw CloudEventError(
                .unsupportedCharset,
                "charset \"\(charset)\" is not supported (use UTF-8, US-ASCII, ISO-8859-1, UTF-16 or UTF-32)")
        }
    }

    private static func invalid(_ charset: String) -> CloudEventError {
        CloudEventError(.invalidEncoding, "the body is not valid \(charset.uppercased())")
    }

    private static func utf16(_ body: ArraySlice<UInt8>, bigEndian: Bool, _ charset: String) throws(CloudEventError)
        -> [UInt8]
    {
        guard body.count % 2 == 0 else { throw invalid(charset) }
        var units = [UInt16]()
        units.reserveCapacity(body.count / 2)
        var index = body.startIndex
        while index < body.endIndex {
            let high = UInt16(body[index]), low = UInt16(body[index + 1])
            units.append(bigEndian ? high << 8 | low : low << 8 | high)
            index += 2
        }
        var output = [UInt8]()
        output.reserveCapacity(units.count)
        var decoder = UTF16()
        var iterator = units.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): UTF8.encode(scalar) { output.append($0) }
            case .emptyInput: return output
            case .error: throw invalid(charset)
            }
        }
    }

    private static func utf32(_ body: ArraySlice<UInt8>, bigEndian: Bool, _ charset: String) throws(CloudEventError)
        -> [UInt8]
    {
        guard body.count % 4 == 0 else { throw invalid(charset) }
        var output = [UInt8]()
        output.reserveCapacity(body.count / 4)
        var index = body.startIndex
        while index < body.endIndex {
            let bytes = (0..<4).map { UInt32(body[index + $0]) }
            let value =
                bigEndian
                ? bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]
                : bytes[3] << 24 | bytes[2] << 16 | bytes[1] << 8 | bytes[0]
            guard let scalar = Unicode.Scalar(value) else { throw invalid(charset) }
            UTF8.encode(scalar) { output.append($0) }
            index += 4
        }
        return output
    }
}
