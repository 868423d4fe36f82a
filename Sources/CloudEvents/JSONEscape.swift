/// The escapes RFC 8259 allows in a string — `\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t` and `\u` with four hex
/// digits — checked where strings are only skipped (the validator of JSON data, the reader's `skipValue`), so data
/// stored as JSON is JSON that any parser accepts. Surrogate pairing is left to the decoding of a string: the
/// grammar itself accepts any four hex digits.
enum JSONEscape {
    /// The length of the escape whose backslash is at `position` (2, or 6 for `\uXXXX`), or nil when it is not one.
    @inline(__always)
    static func length(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Int? {
        guard position + 1 < bytes.count else { return nil }
        switch bytes[position + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
            return 2
        case 0x75:
            guard position + 6 <= bytes.count else { return nil }
            for offset in 2..<6 where !isHexDigit(bytes[position + offset]) { return nil }
            return 6
        default:
            return nil
        }
    }

    @inline(__always)
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }
}
