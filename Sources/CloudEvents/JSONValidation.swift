/// Whether bytes are one complete JSON text (RFC 8259) in UTF-8: the check binary-mode data declared as JSON must
/// pass on every publish, and the encoder's choice between embedding data as JSON and base64.
///
/// It gives exactly the verdict of ``UTF8Validation`` followed by ``JSONReader/skipValue()`` over the whole input,
/// but in one pass and without errors or positions: UTF-8 is checked only inside strings (a byte of 0x80 or above
/// anywhere else is a syntax error anyway), and a string is scanned sixteen bytes at a time. Escapes are checked as
/// the reader checks them (``JSONEscape``): `"\q"` is not JSON. `CloudEventsTests/JSONValidationTests` hold the two
/// verdicts equal over generated inputs.
enum JSONValidation {
    static func isJSONText(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isJSONText($0) } }

    static func isJSONText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var open = ContainerStack()
        value: while true {
            guard let byte = nextByte(bytes, &index) else { return false }
            switch byte {
            case 0x22:
                guard skipString(bytes, &index) else { return false }
            case 0x7B, 0x5B:
                index += 1
                guard let next = nextByte(bytes, &index) else { return false }
                if next == (byte == 0x7B ? 0x7D : 0x5D) {
                    index += 1
                    break
                }
                open.push(isObject: byte == 0x7B)
                if byte == 0x7B, !skipMemberName(bytes, &index) { return false }
                continue value
            case 0x74: guard skipLiteral(bytes, &index, 0x6575_7274, length: 4) else { return false }  // "true"
            case 0x66: guard skipLiteral(bytes, &index, 0x65_736C_6166, length: 5) else { return false }  // "false"
            case 0x6E: guard skipLiteral(bytes, &index, 0x6C6C_756E, length: 4) else { return false }  // "null"
            case 0x2D, 0x30...0x39:
                guard skipNumber(bytes, &index) else { return false }
            default:
                return false
            }
            // A value is complete: a comma continues its container, a bracket closes it.
            while let isObject = open.top {
                guard let next = nextByte(bytes, &index) else { return false }
                if next == 0x2C {
                    index += 1
                    if isObject, !skipMemberName(bytes, &index) { return false }
                    continue value
                }
                guard next == (isObject ? 0x7D : 0x5D) else { return false }
                index += 1
                open.pop()
            }
            return nextByte(bytes, &index) == nil
        }
    }

    /// Skips whitespace; the byte after it, not consumed, or `nil` at the end of the input.
    @inline(__always)
    private static func nextByte(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> UInt8? {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            case let byte: return byte
            }
        }
        return nil
    }

    /// `"name"` then `:` inside an object, with whitespace around them.
    @inline(__always)
    private static func skipMemberName(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        guard nextByte(bytes, &index) == 0x22, skipString(bytes, &index), nextByte(bytes, &index) == 0x3A else {
            return false
        }
        index += 1
        return true
    }

    /// Skips the string whose opening quote is at `index`: false when it is unterminated, holds a control character
    /// or is not UTF-8.
    @inline(__always)
    private static func skipString(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        let count = bytes.count
        var position = index + 1
        while true {
            // Sixteen bytes at a time while none of them is a quote, a backslash, a control character or non-ASCII
            // (Swift's SIMD masks lower to per-lane loops here; two words of SWAR with one branch are faster).
            while position + 16 <= count {
                let first = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                let second = bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)
                guard SWAR.stringSpecialOrNonASCII(first) | SWAR.stringSpecialOrNonASCII(second) == 0 else { break }
                position += 16
            }
            if position + 8 <= count,
                SWAR.stringSpecialOrNonASCII(bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)) == 0
            {
                position += 8
            }
            guard position < count else { return false }
            let byte = bytes[position]
            if byte == 0x22 {
                index = position + 1
                return true
            }
            if byte == 0x5C {
                guard let length = JSONEscape.length(bytes, at: position) else { return false }
                position += length
                continue
            } else if byte < 0x80 {
                guard byte >= 0x20 else { return false }
                position += 1
                continue
            }
            guard let next = UTF8Validation.sequenceEnd(bytes, at: position) else { return false }
            position = next
        }
    }

    /// Skips `true`, `false` or `null`, given as little-endian bytes.
    @inline(__always)
    private static func skipLiteral(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, _ literal: UInt64, length: Int)
        -> Bool
    {
        guard index + length <= bytes.count else { return false }
        for offset in 0..<length where bytes[index + offset] != UInt8(truncatingIfNeeded: literal >> (offset * 8)) {
            return false
        }
        index += length
        return true
    }

    /// Skips a number: `-`? (`0` | [1-9][0-9]*) (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?
    @inline(__always)
    private static func skipNumber(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        let count = bytes.count
        @inline(__always) func isDigit(_ at: Int) -> Bool { at < count && bytes[at] &- 0x30 < 10 }
        var position = index
        if bytes[position] == 0x2D { position += 1 }
        guard isDigit(position) else { return false }
        if bytes[position] == 0x30 {
            position += 1
            if isDigit(position) { return false }
        } else {
            while isDigit(position) { position += 1 }
        }
        if position < count, bytes[position] == 0x2E {
            position += 1
            guard isDigit(position) else { return false }
            while isDigit(position) { position += 1 }
        }
        if position < count, bytes[position] | 0x20 == 0x65 {
            position += 1
            if position < count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
            guard isDigit(position) else { return false }
            while isDigit(position) { position += 1 }
        }
        index = position
        return true
    }
}
