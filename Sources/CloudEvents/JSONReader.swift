/// A strict RFC 8259 reader over UTF-8 bytes that the CloudEvents JSON format decodes with.
///
/// Foundation's JSON parsers lose what the format needs: which members were duplicated, whether a number was
/// written as an integer, and the exact text of `data`, which must be stored verbatim. This reader hands out
/// positions into the input instead of building a tree, so `data` is a slice and nothing is parsed twice.
/// The input must have passed ``UTF8Validation`` first; string slices are then valid by construction.
struct JSONReader {
    enum Token: Equatable { case string, number, object, array, `true`, `false`, null }

    let bytes: UnsafeRawBufferPointer
    private(set) var index: Int

    init(_ bytes: UnsafeRawBufferPointer, at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var atEnd: Bool { index >= bytes.count }

    func failure(_ message: String) -> CloudEventError {
        .init(.invalidJSON, "malformed JSON at byte \(index): \(message)")
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(CloudEventError) {
        guard peek() == byte else { throw failure("expected \(what)") }
        index += 1
    }

    /// Consumes `byte` if it is next.
    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// What kind of value starts next.
    mutating func nextToken() throws(CloudEventError) -> Token {
        guard let byte = peek() else { throw failure("unexpected end of input, expected a value") }
        switch byte {
        case 0x22: return .string
        case 0x7B: return .object
        case 0x5B: return .array
        case 0x74: return .true
        case 0x66: return .false
        case 0x6E: return .null
        case 0x2D, 0x30...0x39: return .number
        default: throw failure("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    /// Reads a string value and decodes its escapes.
    mutating func readString() throws(CloudEventError) -> String {
        let (start, end, escaped) = try scanString()
        if !escaped {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        return String(decoding: try unescape(start, end), as: UTF8.self)
    }

    /// Reads a string value; also whether it was written in printable ASCII without escapes, which settles the
    /// CloudEvents attribute string check for it (``CloudEvent/EstablishedFacts/printableASCIIStrings``).
    mutating func readStringNotingPrintableASCII() throws(CloudEventError) -> (String, isPrintableASCII: Bool) {
        let (start, end, escaped) = try scanString()
        if !escaped {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            return (text, SWAR.isPrintableASCII(bytes, from: start, to: end))
        }
        return (String(decoding: try unescape(start, end), as: UTF8.self), false)
    }

    /// Reads a string and returns where its content lies, undecoded, and whether it holds escapes.
    mutating func readRawString() throws(CloudEventError) -> (range: Range<Int>, escaped: Bool) {
        let (start, end, escaped) = try scanString()
        return (start..<end, escaped)
    }

    /// Reads a string value and returns its decoded UTF-8 bytes.
    mutating func readStringBytes() throws(CloudEventError) -> [UInt8] {
        let (start, end, escaped) = try scanString()
        return escaped ? try unescape(start, end) : Array(bytes[start..<end])
    }

    /// Reads `true`, `false` or `null` literally.
    mutating func readLiteral(_ token: Token) throws(CloudEventError) {
        let text: StaticString =
            switch token {
            case .true: "true"
            case .false: "false"
            default: "null"
            }
        let length = text.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw failure("invalid literal") }
        for offset in 0..<length where bytes[index + offset] != text.utf8Start[offset] {
            throw failure("invalid literal")
        }
        index += length
    }

    /// Reads a number; whether it was written as an integer (no fraction, no exponent) and its text range.
    mutating func readNumber() throws(CloudEventError) -> (isInteger: Bool, range: Range<Int>) {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == 0x2D { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("a number needs digits") }
        if bytes[index] == 0x30 {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("leading zeros are not allowed") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == 0x2E {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("a fraction needs digits") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == 0x65 {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("an exponent needs digits") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return (isInteger, start..<index)
    }

    /// Skips one value of any kind, checking its syntax; returns the range of its text.
    ///
    /// Containers are walked iteratively with a bit stack, so a deeply nested `data` cannot exhaust the call stack.
    mutating func skipValue() throws(CloudEventError) -> Range<Int> {
        _ = peek()
        let start = index
        var open = ContainerStack()
        value: while true {
            let token = try nextToken()
            switch token {
            case .string: _ = try scanString()
            case .number: _ = try readNumber()
            case .true, .false, .null: try readLiteral(token)
            case .object, .array:
                index += 1
                if consume(token == .object ? 0x7D : 0x5D) { break }
                open.push(isObject: token == .object)
                if token == .object { try memberName() }
                continue value
            }
            // A value is complete: a comma continues its container, a bracket closes it.
            while let isObject = open.top {
                guard let byte = peek() else { throw failure("unexpected end of input inside a container") }
                if byte == 0x2C {
                    index += 1
                    if isObject { try memberName() }
                    continue value
                }
                guard byte == (isObject ? 0x7D : 0x5D) else {
                    throw failure(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
                index += 1
                open.pop()
            }
            return start..<index
        }
    }

    /// Reads `"name":` inside an object.
    private mutating func memberName() throws(CloudEventError) {
        guard peek() == 0x22 else { throw failure("expected a member name") }
        _ = try scanString()
        try expect(0x3A, "':' after a member name")
    }

    /// Scans a string starting at the opening quote; the content range and whether it holds escapes.
    @inline(__always)
    private mutating func scanString() throws(CloudEventError) -> (Int, Int, Bool) {
        guard peek() == 0x22 else { throw failure("expected a string") }
        index += 1
        let start = index
        var escaped = false
        while index < bytes.count {
            // Eight bytes at a time while none of them is a quote, a backslash or a control character.
            while index + 8 <= bytes.count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                guard !SWAR.hasStringSpecial(word) else { break }
                index += 8
            }
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == 0x22 {
                index += 1
                return (start, index - 1, escaped)
            }
            if byte == 0x5C {
                escaped = true
                guard let length = JSONEscape.length(bytes, at: index) else {
                    throw failure(#"invalid escape in a string: RFC 8259 allows \" \\ \/ \b \f \n \r \t and \u with four hex digits"#)
                }
                index += length
                continue
            }
            if byte < 0x20 { throw failure("control characters must be escaped in strings") }
            index += 1
        }
        throw failure("unterminated string")
    }

    private func unescape(_ start: Int, _ end: Int) throws(CloudEventError) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(end - start)
        var position = start
        func hex4(_ at: Int) throws(CloudEventError) -> UInt32 {
            guard at + 4 <= end else { throw failure("truncated \\u escape") }
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = bytes[at + offset]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x37)
                case 0x61...0x66: digit = UInt32(byte - 0x57)
                default: throw failure("invalid \\u escape")
                }
                value = value << 4 | digit
            }
            return value
        }
        while position < end {
            let byte = bytes[position]
            guard byte == 0x5C else {
                output.append(byte)
                position += 1
                continue
            }
            guard position + 1 < end else { throw failure("truncated escape") }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case 0x22, 0x5C, 0x2F: output.append(escape)
            case 0x62: output.append(0x08)
            case 0x66: output.append(0x0C)
            case 0x6E: output.append(0x0A)
            case 0x72: output.append(0x0D)
            case 0x74: output.append(0x09)
            case 0x75:
                var scalar = try hex4(position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 6 <= end, bytes[position] == 0x5C, bytes[position + 1] == 0x75 else {
                        throw failure("unpaired surrogate in \\u escape")
                    }
                    let low = try hex4(position + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in \\u escape") }
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("unpaired surrogate in \\u escape")
                }
                UTF8.encode(Unicode.Scalar(scalar)!) { output.append($0) }
            default: throw failure("invalid escape '\\\(Unicode.Scalar(escape))'")
            }
        }
        return output
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}

/// Which containers are open while skipping a value: one bit per level, object or array.
struct ContainerStack {
    private var words: [UInt64] = []
    private var inline: UInt64 = 0
    private var depth = 0

    var top: Bool? {
        guard depth > 0 else { return nil }
        let level = depth - 1
        let word = level < 64 ? inline : words[level / 64 - 1]
        return word >> UInt64(level % 64) & 1 == 1
    }

    mutating func push(isObject: Bool) {
        let level = depth
        if level >= 64, level % 64 == 0 { words.append(0) }
        let bit: UInt64 = isObject ? 1 << UInt64(level % 64) : 0
        if level < 64 {
            inline = inline & ~(1 << UInt64(level)) | bit
        } else {
            words[level / 64 - 1] = words[level / 64 - 1] & ~(1 << UInt64(level % 64)) | bit
        }
        depth += 1
    }

    mutating func pop() {
        depth -= 1
        if depth >= 64, depth % 64 == 0 { words.removeLast() }
    }
}

/// Word-at-a-time byte tests ("SIMD within a register"), for scanning long strings in `data`.
enum SWAR {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// True when some byte of `word` is zero.
    @inline(__always)
    static func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }

    /// Non-zero when some byte of `word` is `"`, `\`, below 0x20 or 0x80 and above (it may also be non-zero for a
    /// plain byte after such a byte, never zero when one is there): what ends a plain ASCII run of a JSON string.
    @inline(__always)
    static func stringSpecialOrNonASCII(_ word: UInt64) -> UInt64 {
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        // A byte below 0x20 borrows when 0x20 is subtracted; a byte of 0x80 and above has its high bit already.
        return ((word &- ones &* 0x20) | word | (quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & highs
    }

    /// Non-zero when some byte of `word` is below 0x20 or 0x7F and above — not printable ASCII (it may also be
    /// non-zero for a printable byte after such a byte, never zero when one is there).
    @inline(__always)
    static func nonPrintableASCII(_ word: UInt64) -> UInt64 {
        // Below 0x20 borrows when 0x20 is subtracted; 0x7F carries into the high bit when 1 is added.
        ((word &- ones &* 0x20) | (word &+ ones) | word) & highs
    }

    /// Whether `bytes[start..<end]` is all printable ASCII (0x20–0x7E), eight bytes at a time.
    @inline(__always)
    static func isPrintableASCII(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Bool {
        var index = start
        while index + 8 <= end, nonPrintableASCII(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) == 0 {
            index += 8
        }
        while index < end, bytes[index] &- 0x20 < 0x5F { index += 1 }
        return index == end
    }

    /// Like ``nonPrintableASCII(_:)``, and non-zero too when some byte is `"` or `%`: what a binary-mode header
    /// value must not hold to be used as it is.
    @inline(__always)
    static func nonPrintableQuoteOrPercent(_ word: UInt64) -> UInt64 {
        let quote = word ^ (ones &* 0x22)
        let percent = word ^ (ones &* 0x25)
        return nonPrintableASCII(word) | ((quote &- ones) & ~quote | (percent &- ones) & ~percent) & highs
    }

    /// True when some byte of `word` is `"`, `\` or below 0x20 — the bytes that end a plain run of a JSON string.
    @inline(__always)
    static func hasStringSpecial(_ word: UInt64) -> Bool {
        hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C)) || (word &- ones &* 0x20) & ~word & highs != 0
    }
}
