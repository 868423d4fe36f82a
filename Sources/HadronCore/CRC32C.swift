internal import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every record batch (DESIGN §7).
///
/// Castagnoli rather than the zlib polynomial because x86-64 (SSE4.2) and ARMv8 compute it in hardware, and
/// because Kafka's v2 batches use it too, so tooling that knows that layout recognises ours. The work happens in
/// the `CCRC32C` C target: the hardware instruction is not reachable from Swift without intrinsics.
public enum CRC32C {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Continues `checksum` (the finished checksum of what came before, 0 for nothing) over `bytes`, so a
    /// checksum can be computed over pieces that are not contiguous in memory.
    public static func update(_ checksum: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return checksum }
        return hadron_crc32c_update(checksum, base, bytes.count)
    }

    /// Continues `checksum` over `bytes`.
    public static func update(_ checksum: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(checksum, $0) }
    }

    /// True when this machine computes the checksum with a CPU instruction rather than tables.
    public static var isHardwareAccelerated: Bool { hadron_crc32c_is_hardware_accelerated() != 0 }

    /// The table-driven path alone, whatever the CPU; tests compare it with the hardware path.
    static func portableUpdate(_ checksum: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return checksum }
        return hadron_crc32c_update_portable(checksum, base, bytes.count)
    }
}
