import CloudEvents
import Testing

@testable import HadronCore

@Suite("Record batch header, stamping and verification")
struct RecordBatchHeaderTests {
    private func batch(_ count: Int = 3) -> [UInt8] {
        RecordBatch.encode(
            events: EventFixtures.mixed(count), receiveTime: 1_700_000_000_123,
            producerId: 77, producerEpoch: 3, baseSequence: 1000)
    }

    private func big(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    @Test("fields sit at Kafka's v2 offsets, big-endian")
    func layout() throws {
        let bytes = batch(3)
        #expect(Array(bytes[0..<8]) == big(0))
        #expect(Array(bytes[8..<12]) == Array(big(Int64(bytes.count - 12))[4...]))
        #expect(Array(bytes[12..<16]) == [0, 0, 0, 0])
        #expect(bytes[16] == 2)
        #expect(Array(bytes[21..<23]) == [0, 0])
        #expect(Array(bytes[23..<27]) == [0, 0, 0, 2])
        #expect(Array(bytes[27..<35]) == big(1_700_000_000_123))
        #expect(Array(bytes[35..<43]) == big(1_700_000_000_123))
        #expect(Array(bytes[43..<51]) == big(77))
        #expect(Array(bytes[51..<53]) == [0, 3])
        #expect(Array(bytes[53..<57]) == [0, 0, 0x03, 0xE8])
        #expect(Array(bytes[57..<61]) == [0, 0, 0, 3])
        let crc = UInt32(bytes[17]) << 24 | UInt32(bytes[18]) << 16 | UInt32(bytes[19]) << 8 | UInt32(bytes[20])
        #expect(crc == CRC32C.checksum(Array(bytes[21...])))
    }

    @Test("parsing reads back every field")
    func parse() throws {
        let bytes = batch(3)
        let header = try bytes.withUnsafeBytes { bytes in
            try Result { () throws(RecordBatchError) in try RecordBatchHeader(parsing: bytes) }.get()
        }
        #expect(header.baseOffset == 0)
        #expect(header.totalSize == bytes.count)
        #expect(header.partitionLeaderEpoch == 0)
        #expect(header.attributes == 0)
        #expect(header.lastOffsetDelta == 2)
        #expect(header.recordCount == 3)
        #expect(header.firstTimestamp == 1_700_000_000_123)
        #expect(header.maxTimestamp == 1_700_000_000_123)
        #expect(header.producerId == 77)
        #expect(header.producerEpoch == 3)
        #expect(header.baseSequence == 1000)
        #expect(header.lastOffset == 2)
        #expect(try RecordBatch.verify(bytes) == header)
    }

    @Test("write then parse is the identity")
    func writeParse() throws {
        let header = RecordBatchHeader(
            baseOffset: .max - 10, batchLength: 49, partitionLeaderEpoch: .max, crc: 0xDEAD_BEEF,
            attributes: 0, lastOffsetDelta: 9, firstTimestamp: -5, maxTimestamp: .max, producerId: .min,
            producerEpoch: .min, baseSequence: .min, recordCount: 10)
        var bytes = [UInt8](repeating: 0xAA, count: RecordBatchHeader.size)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        let parsed = try bytes.withUnsafeBytes { bytes in
            try Result { () throws(RecordBatchError) in try RecordBatchHeader(parsing: bytes) }.get()
        }
        #expect(parsed == header)
    }

    @Test("stamping sets base offset and epoch and keeps the CRC valid")
    func stampKeepsChecksum() throws {
        var bytes = batch(5)
        let before = try RecordBatch.verify(bytes)
        RecordBatch.stamp(baseOffset: 1_234_567_890_123, epoch: 42, in: &bytes)
        let after = try RecordBatch.verify(bytes)
        #expect(after.baseOffset == 1_234_567_890_123)
        #expect(after.partitionLeaderEpoch == 42)
        #expect(after.lastOffset == 1_234_567_890_127)
        #expect(after.crc == before.crc)
        let offsets = try RecordBatch.decode(bytes).map(\.offset)
        #expect(offsets == Array(1_234_567_890_123...1_234_567_890_127))
    }

    @Test("stamping through a raw buffer inside a larger buffer")
    func stampInPlaceInSegment() throws {
        let one = batch(2)
        var segment = one + one
        segment.withUnsafeMutableBytes { raw in
            RecordBatch.stamp(baseOffset: 2, epoch: 9, in: UnsafeMutableRawBufferPointer(rebasing: raw[one.count...]))
        }
        let second = try segment.withUnsafeBytes { raw in
            try Result { () throws(RecordBatchError) in
                try RecordBatch.verify(UnsafeRawBufferPointer(rebasing: raw[one.count...]))
            }.get()
        }
        #expect(second.baseOffset == 2 && second.partitionLeaderEpoch == 9)
        #expect(try RecordBatch.verify(segment).baseOffset == 0, "the first batch is untouched and still valid")
    }

    @Test("a flipped bit anywhere in [21, end) fails the CRC; outside the range it does not")
    func everyBitFlipIsDetected() throws {
        let bytes = batch(2)
        for index in 0..<bytes.count {
            for bit in [0, 3, 7] {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                let result = Result { () throws(RecordBatchError) in try RecordBatch.verify(damaged) }
                switch index {
                case 17..<bytes.count:
                    // Inside the checksummed range, or the CRC field itself.
                    guard case .failure(let error) = result else {
                        Issue.record("flip of bit \(bit) at byte \(index) went unnoticed")
                        continue
                    }
                    // Except that a changed count is caught by the header check, before the CRC.
                    let countField = (23..<27).contains(index) || (57..<61).contains(index)
                    let expected: RecordBatchError.Code = countField ? .countMismatch : .checksumMismatch
                    #expect(error.code == expected, "byte \(index) bit \(bit): \(error)")
                case 0..<8, 12..<16:
                    // Base offset and epoch are stamped in place, outside the CRC by design.
                    #expect(throws: Never.self) { try result.get() }
                default:
                    // batchLength or magic: the header itself is refused.
                    #expect(throws: RecordBatchError.self) { try result.get() }
                }
            }
        }
    }

    @Test(
        "header errors are precise",
        arguments: [
            (Mutation.truncateTo(60), RecordBatchError.Code.tooShort),
            (.truncateTo(0), .tooShort),
            (.set(16, 1), .badMagic),
            (.set(16, 0xFF), .badMagic),
            (.setInt32(8, 48), .badLength),
            (.setInt32(8, -1), .badLength),
            (.setInt32(57, 4), .countMismatch),
            (.setInt32(57, 0), .countMismatch),
            (.setInt32Pair(23, -1, 57, 0), .countMismatch),
            (.setInt32Pair(23, .max, 57, .min), .countMismatch),
        ])
    func headerErrors(mutation: Mutation, code: RecordBatchError.Code) {
        let bytes = mutation.apply(to: batch(3))
        let error = bytes.withUnsafeBytes { raw in
            Result { () throws(RecordBatchError) in try RecordBatchHeader(parsing: raw) }
        }
        guard case .failure(let error) = error else {
            Issue.record("\(mutation) parsed")
            return
        }
        #expect(error.code == code, "\(error)")
        #expect(!error.description.isEmpty)
    }

    @Test("verify refuses a batch whose bytes end early, naming both sizes")
    func truncatedBatch() {
        let bytes = batch(3)
        for cut in [61, bytes.count / 2, bytes.count - 1] {
            let error = #expect(throws: RecordBatchError.self) { try RecordBatch.verify(Array(bytes[..<cut])) }
            #expect(error?.code == .truncated)
            #expect(error?.message.contains("\(bytes.count)") == true && error?.message.contains("\(cut)") == true)
        }
    }

    @Test("computeChecksum covers exactly [21, totalSize), ignoring bytes after the batch")
    func checksumRange() {
        let bytes = batch(2)
        let withTrailer = bytes + [1, 2, 3]
        let expected = CRC32C.checksum(Array(bytes[21...]))
        #expect(bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) } == expected)
        #expect(withTrailer.withUnsafeBytes { RecordBatch.computeChecksum($0) } == expected)
        #expect(throws: Never.self) { try RecordBatch.verify(withTrailer) }
    }

    enum Mutation: Sendable, CustomStringConvertible {
        case truncateTo(Int)
        case set(Int, UInt8)
        case setInt32(Int, Int32)
        case setInt32Pair(Int, Int32, Int, Int32)

        func apply(to bytes: [UInt8]) -> [UInt8] {
            var bytes = bytes
            func put(_ offset: Int, _ value: Int32) {
                withUnsafeBytes(of: value.bigEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) }
            }
            switch self {
            case .truncateTo(let count): bytes.removeSubrange(count...)
            case .set(let offset, let value): bytes[offset] = value
            case .setInt32(let offset, let value): put(offset, value)
            case .setInt32Pair(let a, let x, let b, let y):
                put(a, x)
                put(b, y)
            }
            return bytes
        }

        var description: String {
            switch self {
            case .truncateTo(let count): "truncated to \(count) bytes"
            case .set(let offset, let value): "byte \(offset) = \(value)"
            case .setInt32(let offset, let value): "int32 at \(offset) = \(value)"
            case .setInt32Pair(let a, let x, let b, let y): "int32 at \(a) = \(x), at \(b) = \(y)"
            }
        }
    }
}
