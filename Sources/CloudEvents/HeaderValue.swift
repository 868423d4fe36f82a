/// Binary-mode header value encoding (CloudEvents HTTP binding §3.1.3.2 and DESIGN.md §4).
///
/// Decoding: surrounding whitespace trimmed; a double-quoted value unquoted (RFC 9110 quoted-string); then
/// percent-decoded exactly once, the result required to be UTF-8. Encoding percent-encodes space, `"`, `%` and
/// everything outside printable ASCII, so any attribute value survives any HTTP hop.
enum HeaderValue {
    static func decode(_ raw: UnsafeRawBufferPointer, attribute: String) throws(CloudEventError) -> String {
        var start = 0
        var end = raw.count
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        var plain = true
        for index in start..<end where raw[index] == 0x25 || raw[index] == 0x22 || raw[index] >= 0x80 {
            plain = false
            break
        }
        if plain {
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<end]), as: UTF8.self)
        }
        var bytes = Array(raw[start..<end])
        if bytes.first == 0x22 {
            guard let (unquoted, after) = QuotedString.unquote(bytes, from: 0), after == bytes.count else {
                throw CloudEventError(
                    .invalidHeaderValue, attribute: attribute,
                    "the header value starts with a double quote but is not a valid quoted-string (RFC 9110)")
            }
            bytes = unquoted
        }
        var decoded = [UInt8]()
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x25 {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else {
                    throw CloudEventError(
                        .invalidHeaderValue, attribute: attribute,
                        "'%' must be followed by two hexadecimal digits (percent-encoding)")
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        guard UTF8Validation.isValid(decoded) else {
            throw CloudEventError(
                .invalidHeaderValue, attribute: attribute, "the percent-decoded header value is not valid UTF-8")
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    static func encode(_ text: String) -> String {
        guard text.utf8.contains(where: needsEncoding) else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var output = [UInt8]()
        output.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if needsEncoding(byte) {
                output.append(0x25)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            } else {
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func needsEncoding(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x25
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x37
        case 0x61...0x66: byte - 0x57
        default: nil
        }
    }
}
