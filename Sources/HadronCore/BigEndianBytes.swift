/// Fixed-width big-endian fields, the byte order of the batch header (as in Kafka's, so its tools can read ours).
///
/// Unaligned loads and stores: a batch sits anywhere in a segment file or a network buffer.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func readBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func writeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}
