import HadronTestSupport
import Testing

@testable import HadronCore

/// Bit-at-a-time CRC-32C straight from the definition, the oracle the fast paths are held to.
private func referenceCRC32C(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}

@Suite("CRC-32C")
struct CRC32CTests {
    static let vectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
        ([], 0),
    ]

    @Test("published check value and RFC 3720 vectors", arguments: vectors)
    func knownVectors(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
        #expect(bytes.withUnsafeBytes { CRC32C.portableUpdate(0, $0) } == expected)
        #expect(referenceCRC32C(bytes) == expected)
    }

    @Test("the accelerated path equals the bitwise reference on random lengths and alignments")
    func fastPathMatchesReference() {
        var random = SeededGenerator(seed: 0xC3C3)
        // Lengths cross every path: bytes before alignment, 8-byte words, both interleave sizes (3×256, 3×4096).
        let buffer = random.bytes(40_000)
        var lengths = Array(0...80) + [767, 768, 769, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 9, 39_990]
        for _ in 0..<60 { lengths.append(Int.random(in: 0...39_990, using: &random)) }
        buffer.withUnsafeBytes { all in
            for length in lengths {
                let offset = Int.random(in: 0...min(7, buffer.count - length), using: &random)
                let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                let expected = referenceCRC32C(slice)
                #expect(CRC32C.checksum(slice) == expected, "length \(length) at offset \(offset)")
                #expect(CRC32C.portableUpdate(0, slice) == expected, "portable, length \(length) at offset \(offset)")
            }
        }
    }

    @Test("update over pieces equals the checksum of the whole")
    func incrementalUpdate() {
        var random = SeededGenerator(seed: 7)
        let bytes = random.bytes(20_000)
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 13, 4096, 12_345, 20_000] {
            let first = CRC32C.update(0, Array(bytes[..<split]))
            #expect(CRC32C.update(first, Array(bytes[split...])) == whole, "split at \(split)")
        }
    }

    @Test("on x86-64 the hardware instruction is in use")
    func hardwareOnX86() {
        #if arch(x86_64)
            #expect(CRC32C.isHardwareAccelerated)
        #else
            #expect(!CRC32C.isHardwareAccelerated)
        #endif
    }
}
