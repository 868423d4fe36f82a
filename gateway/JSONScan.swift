import NIOCore

/// Reads integer members out of the small, flat JSON answers storage gives (`{"baseOffset":B,"lastOffset":L}`)
/// without building an object graph: these answers sit on the publish path, once per record batch.
///
/// It trusts its input to be a JSON object written by a Hadron peer; it finds the member by its quoted name at any
/// depth, which is exact for the flat objects of docs/internal-api.md.
enum JSONScan {
    static func integer(_ name: String, in body: ByteBuffer) -> Int64? {
        body.withUnsafeReadableBytes { bytes in integer(name, in: bytes) }
    }

    static func integer(_ name: String, in bytes: UnsafeRawBufferPointer) -> Int64? {
        let key = Array("\"\(name)\"".utf8)
        guard bytes.count >= key.count else { return nil }
        var start = 0
        while start + key.count <= bytes.count {
            guard let first = bytes[start...].firstIndex(of: key[0]), first + key.count <= bytes.count else {
                return nil
            }
            if bytes[first..<(first + key.count)].elementsEqual(key) {
                var position = first + key.count
                while position < bytes.count, isSpace(bytes[position]) { position += 1 }
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    start = first + 1
                    continue
                }
                position += 1
                while position < bytes.count, isSpace(bytes[position]) { position += 1 }
                return number(in: bytes, at: position)
            }
            start = first + 1
        }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func number(in bytes: UnsafeRawBufferPointer, at start: Int) -> Int64? {
        var position = start
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var value: Int64 = 0
        var digits = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[position] - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { return nil }
        return negative ? -value : value
    }
}
