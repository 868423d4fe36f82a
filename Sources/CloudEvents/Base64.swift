/// RFC 4648 base64 (standard alphabet), for `data_base64` and Binary attributes; no Foundation on the hot path.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// Encodes with `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output = [UInt8]()
        append(bytes, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the padded encoding of `bytes` to `output`.
    public static func append(_ bytes: some Collection<UInt8>, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let chunk = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
            output.append(second == nil ? 0x3D : alphabet[Int(chunk >> 6 & 0x3F)])
            output.append(third == nil ? 0x3D : alphabet[Int(chunk & 0x3F)])
        }
    }

    /// Decodes padded or unpadded base64; `nil` on any byte outside the alphabet, misplaced padding or a length
    /// no encoder produces. Non-zero leftover bits are tolerated, as RFC 4648 §3.5 permits.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var input = Array(text)
        if input.count % 4 == 0, input.last == 0x3D {
            input.removeLast()
            if input.last == 0x3D { input.removeLast() }
        }
        guard input.count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in input {
            let value = decodeTable[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
