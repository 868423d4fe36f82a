/// Strict UTF-8 checks (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), with an ASCII fast
/// path, because every body and header value is checked once before anything is sliced into strings.
///
/// Public because storage decodes the same strings from record batches: the standard library's
/// `String(validating:as:)` runs unspecialised across modules and cost a third of record decoding.
public enum UTF8Validation {
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            // Eight ASCII bytes at a time: the common case for JSON.
            while index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                index += 8
            }
            guard index < count else { break }
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            guard let next = sequenceEnd(bytes, at: index) else { return false }
            index = next
        }
        return true
    }

    /// The index after the multi-byte sequence whose lead byte (0x80 or above) is at `index`, or `nil` when the
    /// sequence is not valid UTF-8. Shared with the JSON validator, which checks UTF-8 only inside strings.
    @inline(__always)
    static func sequenceEnd(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch bytes[index] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        let second = bytes[index + 1]
        guard second >= lower, second <= upper else { return nil }
        var offset = 2
        while offset < length {
            guard bytes[index + offset] & 0xC0 == 0x80 else { return nil }
            offset += 1
        }
        return index + length
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isValid($0) } }

    /// The string for `bytes`, or `nil` when they are not valid UTF-8.
    @inline(__always)
    public static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard isValid(bytes) else { return nil }
        return String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
    }

    /// The CloudEvents type system's String: no control characters (U+0000–U+001F, U+007F–U+009F) and no
    /// noncharacters (U+FDD0–U+FDEF, U+xxFFFE, U+xxFFFF). Surrogates cannot occur in a Swift `String`.
    static func isAllowedAttributeString(_ text: String) -> Bool {
        var copy = text
        let plainASCII = copy.withUTF8 { bytes in
            // Printable ASCII is the common case: check it a word at a time.
            var index = 0
            while index + 8 <= bytes.count {
                let word = UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                // A byte below 0x20, or 0x7F and above, ends the fast path.
                if (word &- ones &* 0x20) & ~word & high != 0 || (word &+ ones) & high != 0 || word & high != 0 { return false }
                index += 8
            }
            while index < bytes.count {
                guard bytes[index] >= 0x20, bytes[index] < 0x7F else { return false }
                index += 1
            }
            return true
        }
        return plainASCII || text.unicodeScalars.allSatisfy(isAllowedScalar)
    }

    private static func isAllowedScalar(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return false }
        if (0xFDD0...0xFDEF).contains(value) || value & 0xFFFE == 0xFFFE { return false }
        return true
    }
}
