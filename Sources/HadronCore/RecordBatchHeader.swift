/// The fixed 61-byte header in front of every record batch (DESIGN §7).
///
/// The layout is Kafka's v2 `RecordBatch` header, field for field and big-endian, so existing tooling (and
/// people who know Kafka) can read a Hadron segment:
///
/// | offset | field                | type   | note                                                    |
/// |-------:|----------------------|--------|---------------------------------------------------------|
/// | 0      | baseOffset           | Int64  | stamped by the leader                                   |
/// | 8      | batchLength          | Int32  | bytes after this field; the batch is `12 + batchLength` |
/// | 12     | partitionLeaderEpoch | Int32  | stamped by the leader                                   |
/// | 16     | magic                | Int8   | 2                                                       |
/// | 17     | crc                  | UInt32 | CRC-32C of bytes [21, end)                              |
/// | 21     | attributes           | Int16  | reserved, 0                                             |
/// | 23     | lastOffsetDelta      | Int32  | recordCount - 1                                         |
/// | 27     | firstTimestamp       | Int64  | ms since the Unix epoch, the gateway's receive time     |
/// | 35     | maxTimestamp         | Int64  |                                                         |
/// | 43     | producerId           | Int64  | -1 = none                                               |
/// | 51     | producerEpoch        | Int16  | -1 = none                                               |
/// | 53     | baseSequence         | Int32  | -1 = none                                               |
/// | 57     | recordCount          | Int32  |                                                         |
/// | 61     | records              |        | see ``RecordBatch``                                     |
///
/// The fields a leader assigns (base offset, epoch) lie before the CRC's range, so the gateway encodes and
/// checksums a batch once and the leader stamps it in place without touching the checksum.
public struct RecordBatchHeader: Sendable, Hashable {
    public static let size = 61
    public static let magic: Int8 = 2
    /// Bytes from the start of the batch to the first byte the CRC covers (the `attributes` field).
    public static let checksummedRangeStart = 21
    /// The smallest `batchLength`: a header with no records.
    public static let minimumBatchLength: Int32 = Int32(size - 12)

    enum Offset {
        static let baseOffset = 0
        static let batchLength = 8
        static let partitionLeaderEpoch = 12
        static let magic = 16
        static let crc = 17
        static let attributes = 21
        static let lastOffsetDelta = 23
        static let firstTimestamp = 27
        static let maxTimestamp = 35
        static let producerId = 43
        static let producerEpoch = 51
        static let baseSequence = 53
        static let recordCount = 57
    }

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var firstTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// The size of the whole batch in bytes, header included.
    public var totalSize: Int { 12 + Int(batchLength) }
    /// The offset of the batch's last record.
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }

    public init(
        baseOffset: Int64 = 0,
        batchLength: Int32,
        partitionLeaderEpoch: Int32 = 0,
        crc: UInt32 = 0,
        attributes: Int16 = 0,
        lastOffsetDelta: Int32,
        firstTimestamp: Int64,
        maxTimestamp: Int64,
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        recordCount: Int32
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.firstTimestamp = firstTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Reads the header at the start of `bytes`, which may hold more (the rest of a segment, further batches).
    ///
    /// Checks what the header alone can tell: there are 61 bytes, the magic is 2, `batchLength` covers at least
    /// the header, and the count is positive and agrees with `lastOffsetDelta`. It does not check that the whole
    /// batch is present nor its CRC: ``RecordBatch/verify(_:)`` does.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RecordBatchError) {
        guard bytes.count >= Self.size else {
            throw RecordBatchError(.tooShort, "\(bytes.count) bytes, a batch header needs \(Self.size)")
        }
        let magic = bytes.readBigEndian(at: Offset.magic, as: Int8.self)
        guard magic == Self.magic else {
            throw RecordBatchError(.badMagic, "magic byte is \(magic), expected \(Self.magic)")
        }
        batchLength = bytes.readBigEndian(at: Offset.batchLength, as: Int32.self)
        guard batchLength >= Self.minimumBatchLength else {
            throw RecordBatchError(
                .badLength, "batchLength \(batchLength) is less than the header's own \(Self.minimumBatchLength)")
        }
        lastOffsetDelta = bytes.readBigEndian(at: Offset.lastOffsetDelta, as: Int32.self)
        recordCount = bytes.readBigEndian(at: Offset.recordCount, as: Int32.self)
        guard recordCount > 0 else {
            throw RecordBatchError(.countMismatch, "recordCount is \(recordCount), a batch holds at least one record")
        }
        guard Int64(recordCount) == Int64(lastOffsetDelta) + 1 else {
            throw RecordBatchError(
                .countMismatch, "recordCount \(recordCount) does not match lastOffsetDelta \(lastOffsetDelta) + 1")
        }
        baseOffset = bytes.readBigEndian(at: Offset.baseOffset, as: Int64.self)
        partitionLeaderEpoch = bytes.readBigEndian(at: Offset.partitionLeaderEpoch, as: Int32.self)
        crc = bytes.readBigEndian(at: Offset.crc, as: UInt32.self)
        attributes = bytes.readBigEndian(at: Offset.attributes, as: Int16.self)
        firstTimestamp = bytes.readBigEndian(at: Offset.firstTimestamp, as: Int64.self)
        maxTimestamp = bytes.readBigEndian(at: Offset.maxTimestamp, as: Int64.self)
        producerId = bytes.readBigEndian(at: Offset.producerId, as: Int64.self)
        producerEpoch = bytes.readBigEndian(at: Offset.producerEpoch, as: Int16.self)
        baseSequence = bytes.readBigEndian(at: Offset.baseSequence, as: Int32.self)
    }

    /// Writes the header, all 61 bytes of it and the magic byte, at the start of `bytes`.
    ///
    /// The `crc` written is this value's; an encoder writes the records, then computes the checksum and writes the
    /// header (or patches the field).
    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size, "a batch header needs \(Self.size) bytes, got \(bytes.count)")
        bytes.writeBigEndian(baseOffset, at: Offset.baseOffset)
        bytes.writeBigEndian(batchLength, at: Offset.batchLength)
        bytes.writeBigEndian(partitionLeaderEpoch, at: Offset.partitionLeaderEpoch)
        bytes.writeBigEndian(Self.magic, at: Offset.magic)
        bytes.writeBigEndian(crc, at: Offset.crc)
        bytes.writeBigEndian(attributes, at: Offset.attributes)
        bytes.writeBigEndian(lastOffsetDelta, at: Offset.lastOffsetDelta)
        bytes.writeBigEndian(firstTimestamp, at: Offset.firstTimestamp)
        bytes.writeBigEndian(maxTimestamp, at: Offset.maxTimestamp)
        bytes.writeBigEndian(producerId, at: Offset.producerId)
        bytes.writeBigEndian(producerEpoch, at: Offset.producerEpoch)
        bytes.writeBigEndian(baseSequence, at: Offset.baseSequence)
        bytes.writeBigEndian(recordCount, at: Offset.recordCount)
    }
}

/// Operations on encoded record batches as bytes: the storage tier's view, which never decodes events.
public enum RecordBatch {
    /// Assigns the batch its place in the log: the leader's next offset and its current epoch.
    ///
    /// Both fields lie before the checksummed range, so the CRC stays valid and nothing is re-encoded.
    public static func stamp(baseOffset: Int64, epoch: Int32, in batch: UnsafeMutableRawBufferPointer) {
        precondition(batch.count >= RecordBatchHeader.size, "a batch is at least \(RecordBatchHeader.size) bytes")
        batch.writeBigEndian(baseOffset, at: RecordBatchHeader.Offset.baseOffset)
        batch.writeBigEndian(epoch, at: RecordBatchHeader.Offset.partitionLeaderEpoch)
    }

    /// Assigns the batch its place in the log (see ``stamp(baseOffset:epoch:in:)-(_,_,UnsafeMutableRawBufferPointer)``).
    public static func stamp(baseOffset: Int64, epoch: Int32, in batch: inout [UInt8]) {
        batch.withUnsafeMutableBytes { stamp(baseOffset: baseOffset, epoch: epoch, in: $0) }
    }

    /// The CRC-32C of bytes [21, totalSize), where totalSize comes from the batch's own `batchLength`
    /// (clamped to the buffer, so a lying length cannot read past it).
    public static func computeChecksum(_ batch: UnsafeRawBufferPointer) -> UInt32 {
        let start = RecordBatchHeader.checksummedRangeStart
        guard batch.count > start else { return CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let declared = 12 + Int(batch.readBigEndian(at: RecordBatchHeader.Offset.batchLength, as: Int32.self))
        let end = max(start, min(batch.count, declared))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: batch[start..<end]))
    }

    /// Checks that `batch` starts with one whole, undamaged batch: a valid header, all `12 + batchLength` bytes
    /// present, and a CRC that matches. Bytes after the batch are ignored; records are not decoded.
    @discardableResult
    public static func verify(_ batch: UnsafeRawBufferPointer) throws(RecordBatchError) -> RecordBatchHeader {
        let header = try RecordBatchHeader(parsing: batch)
        guard header.totalSize <= batch.count else {
            throw RecordBatchError(
                .truncated, "the batch is \(header.totalSize) bytes but only \(batch.count) are present")
        }
        let actual = computeChecksum(batch)
        guard actual == header.crc else {
            throw RecordBatchError(
                .checksumMismatch,
                "CRC-32C of bytes [21, \(header.totalSize)) is \(hex(actual)), the header says \(hex(header.crc))")
        }
        return header
    }

    /// Checks an encoded batch held in an array (see ``verify(_:)-(UnsafeRawBufferPointer)``).
    @discardableResult
    public static func verify(_ batch: [UInt8]) throws(RecordBatchError) -> RecordBatchHeader {
        // `withUnsafeBytes` rethrows untyped errors; a Result carries the typed one out.
        try batch.withUnsafeBytes { bytes in Result { () throws(RecordBatchError) in try verify(bytes) } }.get()
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
