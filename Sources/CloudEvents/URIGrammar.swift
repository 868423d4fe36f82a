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
        var index = 0
        if let colon = schemeEnd(bytes) {
            index = colon + 1
        } else if let first = bytes.firstIndex(where: { $0 == 0x3A || $0 == 0x2F || $0 == 0x3F || $0 == 0x23 }),
            bytes[first] == 0x3A
        {
            // path-noscheme: a colon in the first segment of a relative reference is not allowed.
            return false
        }
        // hier-part / relative-part
        if bytes.count >= index + 2, bytes[index] == 0x2F, bytes[index + 1] == 0x2F {
            index += 2
            let authorityEnd = bytes[index...].firstIndex(where: { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 }) ?? bytes.count
            guard isAuthority(bytes[index..<authorityEnd]) else { return false }
            index = authorityEnd
        }
        // path
        while index < bytes.count, bytes[index] != 0x3F, bytes[index] != 0x23 {
            guard let next = pchar(bytes, index, extra: .slash) else { return false }
            index = next
        }
        // query
        if index < bytes.count, bytes[index] == 0x3F {
            index += 1
            while index < bytes.count, bytes[index] != 0x23 {
                guard let next = pchar(bytes, index, extra: .slashQuestion) else { return false }
                index = next
            }
        }
        // fragment
        if index < bytes.count, bytes[index] == 0x23 {
            index += 1
            while index < bytes.count {
                guard let next = pchar(bytes, index, extra: .slashQuestion) else { return false }
                index = next
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
        var rest = bytes
        if let at = rest.lastIndex(of: 0x40) {
            guard isRun(rest[rest.startIndex..<at], extra: [0x3A]) else { return false }
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
        return isRun(rest, extra: [])
    }

    /// `*( unreserved / pct-encoded / sub-delims / extra )`
    private static func isRun(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, extra: [UInt8]) -> Bool {
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
            guard isUnreservedOrSubDelim(byte) || extra.contains(byte) else { return false }
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

    /// Consumes one `pchar` (or an `extra` byte) at `index`; the index after it, or `nil` when none is there.
    private static func pchar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, extra: StaticBytes) -> Int? {
        let byte = bytes[index]
        if byte == 0x25 {
            guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return nil }
            return index + 3
        }
        if isUnreservedOrSubDelim(byte) || byte == 0x3A || byte == 0x40 || extra.contains(byte) {
            return index + 1
        }
        return nil
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

/// The extra bytes a URI component allows besides `pchar`, without allocating an array per call.
enum StaticBytes {
    case slash, slashQuestion

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        switch self {
        case .slash: byte == 0x2F
        case .slashQuestion: byte == 0x2F || byte == 0x3F
        }
    }
}
