import Testing

@testable import CloudEvents

/// The URI grammar was rewritten for speed (index loops, byte masks); it must accept exactly what it accepted.
@Suite("URI grammar agrees with the reference grammar")
struct URIGrammarTests {
    @Test(arguments: [
        "/relative", "relative/path", "https://example.com", "https://shop.example.com/orders?x=1#frag",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "http://[::1]:8080/", "http://[v1.x]/", "http://user:pw@host:80",
        "mailto:a@b", "//host", "?q", "#f", "", "a%20b", "a%2", "a%zz", "has space", ":no-scheme", "a:b:c", "ä",
        "http://host:port", "http://[::1", "http://h/p#f#g", "http://h/p?q?r/s", "x/a:b", "1abc:x", "a+b-c.d:x",
    ])
    func agreesOnATable(_ text: String) {
        #expect(URIGrammar.isURIReference(text.utf8) == ReferenceURIGrammar.isURIReference(text.utf8), "\(text)")
        #expect(URIGrammar.hasScheme(text.utf8) == ReferenceURIGrammar.hasScheme(text.utf8), "\(text)")
    }

    @Test func agreesOnGeneratedInputs() {
        var generator = JSONTextGenerator(seed: 0x0A11_CE55)
        let pieces = [
            "https", "urn", "x", "a1", ":", ":", "//", "/", "/", "?", "#", "@", "[", "]", "::1", "v1.", "%20", "%2", "%",
            "zz", "80", ".", "-", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", " ", "\"", "<", "é",
            "\u{7F}", "host.example", "192.168.0.1",
        ]
        var validCount = 0
        for _ in 0..<30_000 {
            let text = (0..<(1 + generator.next(8))).map { _ in pieces[generator.next(pieces.count)] }.joined()
            let expected = ReferenceURIGrammar.isURIReference(text.utf8)
            if expected { validCount += 1 }
            #expect(URIGrammar.isURIReference(text.utf8) == expected, "\(text)")
        }
        #expect(validCount > 3_000 && validCount < 27_000, "\(validCount) valid")
    }
}

/// The URI grammar before it was rewritten for speed, verbatim: the definition the faster one must follow.
enum ReferenceURIGrammar {
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
            guard isUnreserved(byte) || isSubDelim(byte) || extra.contains(byte) else { return false }
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
    private static func pchar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, extra: ReferenceStaticBytes) -> Int? {
        let byte = bytes[index]
        if byte == 0x25 {
            guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else { return nil }
            return index + 3
        }
        if isUnreserved(byte) || isSubDelim(byte) || byte == 0x3A || byte == 0x40 || extra.contains(byte) {
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
    /// `! $ & ' ( ) * + , ; =`
    static func isSubDelim(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: true
        default: false
        }
    }
}

/// The extra bytes a URI component allows besides `pchar`, without allocating an array per call.
enum ReferenceStaticBytes {
    case slash, slashQuestion

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        switch self {
        case .slash: byte == 0x2F
        case .slashQuestion: byte == 0x2F || byte == 0x3F
        }
    }
}
