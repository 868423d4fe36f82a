import HTTPTypes

/// Binary-mode header value encoding (CloudEvents HTTP binding §3.1.3.2 and DESIGN.md §4).
///
/// Decoding: surrounding whitespace trimmed; a double-quoted value unquoted (RFC 9110 quoted-string); then
/// percent-decoded exactly once, the result required to be UTF-8. Encoding percent-encodes space, `"`, `%` and
/// everything outside printable ASCII, so any attribute value survives any HTTP hop.
enum HeaderValue {
    /// Decodes the value of the field at `position`; whether the result is printable ASCII, which spares it the
    /// attribute string check.
    ///
    /// Nearly every value is printable ASCII with no `"` or `%`: then decoding only trims, and a value with nothing
    /// to trim is the field's own string, shared rather than copied. The check reads the field's `String`; if that
    /// is printable ASCII, it holds exactly the field's bytes (a field that is not UTF-8 reads as a string with
    /// U+FFFD, which is not ASCII), and anything else is decoded from the raw bytes as before.
    @inline(__always)
    static func decode(_ fields: HTTPFields, at position: Int, attribute: String) throws(CloudEventError)
        -> (String, isPrintableASCII: Bool)
    {
        var value = fields[position].value
        let (start, end, isPlainPrintable) = value.withUTF8 { raw in
            let (start, end) = trimmed(raw)
            var index = start
            while index + 8 <= end,
                SWAR.nonPrintableQuoteOrPercent(UnsafeRawBufferPointer(raw).loadUnaligned(fromByteOffset: index, as: UInt64.self)) == 0
            {
                index += 8
            }
            while index < end {
                let byte = raw[index]
                guard byte &- 0x20 < 0x5F, byte != 0x22, byte != 0x25 else { break }
                index += 1
            }
            return (start, end, index == end)
        }
        guard isPlainPrintable else {
            let decoded = try fields[position].withUnsafeBytesOfValue { (raw) throws(CloudEventError) -> String in
                try decode(UnsafeRawBufferPointer(raw), attribute: attribute)
            }
            return (decoded, false)
        }
        if start == 0, end == value.utf8.count { return (value, true) }
        return (value.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }, true)
    }

    /// The Content-Type value at `position` with surrounding whitespace trimmed (it is not unquoted or
    /// percent-decoded); whether it is printable ASCII. Like ``decode(_:at:attribute:)``, it shares the field's
    /// string when there is nothing to trim.
    @inline(__always)
    static func trimmedContentType(_ fields: HTTPFields, at position: Int) -> (String, isPrintableASCII: Bool) {
        var value = fields[position].value
        let (start, end, isPrintable) = value.withUTF8 { raw in
            let (start, end) = trimmed(raw)
            return (start, end, SWAR.isPrintableASCII(UnsafeRawBufferPointer(raw), from: start, to: end))
        }
        guard isPrintable else { return (value.trimmingWhitespace(), false) }
        if start == 0, end == value.utf8.count { return (value, true) }
        return (value.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }, true)
    }

    /// The bounds of `raw` without surrounding spaces and tabs.
    @inline(__always)
    private static func trimmed(_ raw: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var start = 0
        var end = raw.count
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        return (start, end)
    }

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
