/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), bit for bit.
///
/// Hadron partitions keyed events exactly as Kafka's default partitioner does (DESIGN §4), so a user who moves
/// a keyed workload between the two finds each key in the partition they expect. That requires Kafka's variant,
/// not the reference MurmurHash2: seed 0x9747b28c, little-endian 4-byte blocks, and the tail handled by a
/// fall-through switch. Java's signed 32-bit arithmetic wraps exactly like `UInt32` with `&*`, and its `>>>` is
/// a logical shift, which is what `>>` does on `UInt32`.
public enum Murmur2 {
    static let seed: UInt32 = 0x9747_b28c
    static let m: UInt32 = 0x5bd1_e995
    static let r: UInt32 = 24

    /// The hash of `bytes`, as Kafka's `Utils.murmur2(byte[])` returns it (a signed Java `int`).
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let length = bytes.count
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for block in 0..<blocks {
            var k = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: block * 4, as: UInt32.self))
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        let remainder = length % 4
        if remainder == 3 { h ^= UInt32(bytes[tail + 2]) << 16 }
        if remainder >= 2 { h ^= UInt32(bytes[tail + 1]) << 8 }
        if remainder >= 1 {
            h ^= UInt32(bytes[tail])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The hash of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The hash of the UTF-8 encoding of `string`, the bytes Kafka hashes for a string key.
    public static func hash(_ string: String) -> Int32 {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Kafka's `Utils.toPositive`: clears the sign bit, so that `Int32.min` maps to 0 rather than overflowing
    /// as `abs` would.
    public static func toPositive(_ value: Int32) -> Int32 { value & 0x7fff_ffff }
}
