/// RFC 3986 syntax checks for URI and URI-reference attributes.
///
/// Only syntax is checked; nothing is resolved or normalised, so the text is stored exactly as received.
enum URIGrammar {
    /// True when `text` is an RFC 3986 `URI-reference` (absolute URI or relative reference).
    static func isURIReference(_ text: String.UTF8View) -> Bool {
        var text = String(text)
        return text.withUTF8 { isURIReference(bytes: $0) }
    }

    private static func isURIReference(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        var index = 0
        if let colon = schemeEnd(bytes) {
            index = colon + 1
        } else {
            // path-noscheme: a colon in the first segment of a relative reference is not allowed.
            var probe = 0
            while probe < count, bytes[probe] != 0x3A, bytes[probe] != 0x2F, bytes[probe] != 0x3F, bytes[probe] != 0x23 {
                probe += 1
            }
            if probe < count, bytes[probe] == 0x3A { return false }
        }
        // hier-part / relative-part
        if count >= index + 2, bytes[index] == 0x2F, bytes[index + 1] == 0x2F {
            index += 2
            var authorityEnd = index
            while authorityEnd < count, bytes[authorityEnd] != 0x2F, bytes[authorityEnd] != 0x3F,
                bytes[authorityEnd] != 0x23
            {
                authorityEnd += 1
            }
            guard isAuthority(bytes[index..<authorityEnd]) else { return false }
            index = authorityEnd
        }
        // path, then "?" query, then "#" fragment; each run stops at the first byte it does not allow, and the
        // reference is valid only if that byte starts the next part or the text ends there.
        guard skipRun(bytes, &index, .path) else { return false }
        if index < count, bytes[index] == 0x3F {
            index += 1
            guard skipRun(bytes, &index, .queryOrFragment) else { return false }
        }
        if index < count, bytes[index] == 0x23 {
            index += 1
            guard skipRun(bytes, &index, .queryOrFragment) else { return false }
        }
        return index == count
    }

    /// The bytes a path, query or fragment allows besides percent-encodings: `pchar` and `/` (and `?` in a query
    /// or fragment). Bit n of `low` is set when byte n is allowed, bit n of `high` when byte 64 + n is.
    enum RunBytes {
        case path, queryOrFragment

        @inline(__always)
        func contains(_ byte: UInt8) -> Bool {
            let low: UInt64 = self == .path ? 0x2FFF_FFD2_0000_0000 : 0xAFFF_FFD2_0000_0000
            let high: UInt64 = 0x47FF_FFFE_87FF_FFFF
            return byte < 64 ? low >> byte & 1 == 1 : byte < 128 && high >> (byte - 64) & 1 == 1
        }
    }

    /// Skips allowed bytes and percent-encodings from `index`; false when a `%` is not followed by two hex digits.
    @inline(__always)
    private static func skipRun(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int, _ allowed: RunBytes) -> Bool {
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if allowed.contains(byte) {
                index += 1
            } else if byte == 0x25 {
                guard index + 2 < count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return false }
                index += 3
            } else {
                break
            }
        }
        return true
    }

    /// True when the reference starts with a scheme (so it is an absolute URI, given it is a valid reference).
    static func hasScheme(_ text: String.UTF8View) -> Bool {
        var text = String(text)
        return text.withUTF8 { schemeEnd($0) != nil }
    }

    /// The index of the colon ending a valid `scheme`, if the text starts with one.
    private static func schemeEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = bytes.first, isAlpha(first) else { return nil }
        var index = 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x3A { return index }
            guard isAlpha(byte) || isDigit(byte) || byte == 0x2B || byte == 0x2D || byte == 0x2E else { return nil }
            index += 1
        }
        return nil
    }

    private static func isAuthority(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        // Nearly every authority is a plain host name: unreserved and sub-delim bytes only, which is a valid
        // reg-name with no userinfo, port or IP literal. One pass settles it; anything else takes the full grammar.
        var index = bytes.startIndex
        while index < bytes.endIndex, isUnreservedOrSubDelim(bytes[index]) { index += 1 }
        if index == bytes.endIndex { return true }
        var rest = bytes
        if let at = rest.lastIndex(of: 0x40) {
            guard isRun(rest[rest.startIndex..<at], allowingColon: true) else { return false }
            rest = rest[(at + 1)...]
        }
        if rest.first == 0x5B {
            guard let close = rest.firstIndex(of: 0x5D), isIPLiteral(rest[(rest.startIndex + 1)..<close]) else {
                return false
            }
            rest = rest[(close + 1)...]
            if rest.isEmpty { return true }
            guard rest.first == 0x3A else { return false }
            return rest.dropFirst().allSatisfy(isDigit)
        }
        if let colon = rest.lastIndex(of: 0x3A) {
            guard rest[(colon + 1)...].allSatisfy(isDigit) else { return false }
            rest = rest[rest.startIndex..<colon]
        }
        return isRun(rest, allowingColon: false)
    }

    /// `*( unreserved / pct-encoded / sub-delims )`, with `:` too for userinfo.
    private static func isRun(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, allowingColon: Bool) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == 0x25 {
                guard index + 2 < bytes.endIndex, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else {
                    return false
                }
                index += 3
                continue
            }
            guard isUnreservedOrSubDelim(byte) || (allowingColon && byte == 0x3A) else { return false }
            index += 1
        }
        return true
    }

    private static func isIPLiteral(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        if let first = bytes.first, first == 0x76 || first == 0x56 {  // IPvFuture: "v" 1*HEXDIG "." 1*( … )
            guard let dot = bytes.firstIndex(of: 0x2E), dot > bytes.startIndex + 1,
                bytes[(bytes.startIndex + 1)..<dot].allSatisfy(isHex), dot + 1 < bytes.endIndex
            else { return false }
            return bytes[(dot + 1)...].allSatisfy { isUnreserved($0) || isSubDelim($0) || $0 == 0x3A }
        }
        return isIPv6(bytes)
    }

    /// RFC 3986 `IPv6address`: eight 16-bit groups, `::` at most once, an IPv4 tail allowed.
    private static func isIPv6(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        var halves: [Substring] = []
        var rest = text[...]
        while let range = rest.firstRange(of: "::") {
            halves.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        halves.append(rest)
        guard halves.count <= 2 else { return false }
        func groups(_ part: Substring) -> [Substring]? {
            part.isEmpty ? [] : part.split(separator: ":", omittingEmptySubsequences: false)
        }
        guard var head = groups(halves[0]) else { return false }
        var tail = halves.count == 2 ? (groups(halves[1]) ?? []) : []
        var count = 0
        var all = head + tail
        if let last = all.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            count += 2
            all.removeLast()
            if !tail.isEmpty { tail.removeLast() } else { head.removeLast() }
        }
        for group in all {
            guard (1...4).contains(group.utf8.count), group.utf8.allSatisfy(isHex) else { return false }
            count += 1
        }
        return halves.count == 2 ? count <= 7 : count == 8
    }

    private static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy(isDigit), let value = Int(part) else {
                    return false
                }
                return value <= 255 && (part.utf8.count == 1 || part.utf8.first != 0x30)
            }
    }

    static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66) }
    static func isUnreserved(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
    }
    /// ``isUnreserved(_:)`` or ``isSubDelim(_:)``, the test every byte of a URI takes: bit n of the first mask is
    /// set when byte n is either, bit n of the second when byte 64 + n is (`GrammarTests` check the masks).
    @inline(__always)
    static func isUnreservedOrSubDelim(_ byte: UInt8) -> Bool {
        byte < 64
            ? (0x2BFF_7FD2_0000_0000 as UInt64) >> byte & 1 == 1
            : byte < 128 && (0x47FF_FFFE_87FF_FFFE as UInt64) >> (byte - 64) & 1 == 1
    }

    /// `! $ & ' ( ) * + , ; =`
    static func isSubDelim(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: true
        default: false
        }
    }
}
