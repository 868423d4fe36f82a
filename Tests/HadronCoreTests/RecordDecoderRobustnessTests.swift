import CloudEvents
import HadronTestSupport
import Testing

@testable import HadronCore

/// A batch around hand-written record bytes, with a correct header and CRC, so only the records are wrong.
private func batch(records: [UInt8], count: Int32 = 1) -> [UInt8] {
    let header = RecordBatchHeader(
        batchLength: Int32(RecordBatchHeader.size - 12 + records.count), lastOffsetDelta: count - 1,
        firstTimestamp: 0, maxTimestamp: 0, recordCount: count)
    var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size) + records
    bytes.withUnsafeMutableBytes { header.write(to: $0) }
    resign(&bytes)
    return bytes
}

/// A record body: offsetDelta, timestampDelta, then `attributes` (already counted by `attributeCount`), then data.
private func record(offsetDelta: UInt8 = 0, attributeCount: UInt8, _ attributes: [UInt8], data: [UInt8] = [0])
    -> [UInt8]
{
    let body = [offsetDelta, 0, attributeCount] + attributes + data
    return [UInt8(body.count)] + body
}

private func context(_ ordinal: UInt8, _ text: String, tag: UInt8? = nil) -> [UInt8] {
    [0, ordinal, tag ?? RecordLayout.Context.tag(ordinal), UInt8(text.utf8.count)] + Array(text.utf8)
}

/// The four required attributes.
private let required = context(0, "1.0") + context(1, "id") + context(2, "/s") + context(3, "t")

@Suite("Record decoder on malformed bytes")
struct RecordDecoderRobustnessTests {
    @Test("the hand-built record is valid, so the cases below test one fault each")
    func baselineDecodes() throws {
        let decoded = try RecordBatch.decode(batch(records: record(attributeCount: 4, required)))
        #expect(decoded.map(\.event) == [CloudEvent(id: "id", source: URIReference(unchecked: "/s"), type: "t")])
    }

    @Test(
        "each malformation is refused with a message naming the fault",
        arguments: [
            ("record length", [200] + Array(record(attributeCount: 4, required).dropFirst())),
            ("offsetDelta", record(offsetDelta: 1, attributeCount: 4, required)),
            ("unknown context attribute ordinal 8", record(attributeCount: 5, required + context(8, "x", tag: 0))),
            (
                "type tag 0, expected 5",
                record(
                    attributeCount: 4, context(0, "1.0") + context(1, "id") + context(2, "/s", tag: 0) + context(3, "t")
                )
            ),
            ("'id' appears twice", record(attributeCount: 5, required + context(1, "again"))),
            ("missing: type", record(attributeCount: 3, context(0, "1.0") + context(1, "id") + context(2, "/s"))),
            ("unknown type tag 9", record(attributeCount: 5, required + [2, UInt8(ascii: "x"), 9, 0])),
            (
                "not valid UTF-8",
                record(
                    attributeCount: 4,
                    context(0, "1.0") + [0, 1, 0, 2, 0xC3, 0x28] + context(2, "/s") + context(3, "t"))
            ),
            ("extension name is not valid UTF-8", record(attributeCount: 5, required + [2, 0xFF, 2, 1])),
            ("expected 0 or 1", record(attributeCount: 5, required + [2, UInt8(ascii: "b"), 2, 2])),
            (
                "'x' appears twice",
                record(attributeCount: 6, required + [2, UInt8(ascii: "x"), 2, 1] + [2, UInt8(ascii: "x"), 2, 0])
            ),
            ("data presence flag is 2", record(attributeCount: 4, required, data: [2])),
            ("data length", record(attributeCount: 4, required, data: [1, 50, 1, 2])),
            ("left over", record(attributeCount: 4, required, data: [0, 0xAA, 0xBB])),
            (
                "does not fit in 32 bits",
                record(attributeCount: 5, required + [2, UInt8(ascii: "n"), 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
            ),
            (
                "does not fit",
                record(
                    attributeCount: 5, required + [2, UInt8(ascii: "n"), 1] + [UInt8](repeating: 0x80, count: 11) + [1])
            ),
            ("cannot fit", record(attributeCount: 120, required)),
            ("extension name length", record(attributeCount: 5, required + [100, 0x61])),
            ("data presence flag is missing", Array(record(attributeCount: 4, required, data: []))),
        ] as [(String, [UInt8])])
    func malformedRecord(fault: String, records: [UInt8]) {
        let error = #expect(throws: RecordBatchError.self) { try RecordBatch.decode(batch(records: records)) }
        #expect(error?.code == .malformedRecord, "\(String(describing: error))")
        #expect(error?.message.contains(fault) == true, "\(String(describing: error)) should mention \(fault)")
        #expect(error?.message.contains("record 0") == true)
    }

    @Test("fewer records than the header counts")
    func fewerRecords() {
        let one = record(attributeCount: 4, required)
        let error = #expect(throws: RecordBatchError.self) { try RecordBatch.decode(batch(records: one, count: 2)) }
        #expect(error?.code == .countMismatch)
        #expect(error?.message.contains("holds 1") == true)
    }

    @Test("bytes after the last record")
    func trailingBytes() {
        let records = record(attributeCount: 4, required) + [0, 0]
        let error = #expect(throws: RecordBatchError.self) { try RecordBatch.decode(batch(records: records)) }
        #expect(error?.code == .countMismatch)
        let rawError = #expect(throws: RecordBatchError.self) {
            try batch(records: records).withUnsafeBytes { raw in
                try Result { () throws(RecordBatchError) in try RecordBatch.decodeRecords(raw) }.get()
            }
        }
        #expect(rawError?.code == .countMismatch)
    }

    /// Garbles valid batches at random (fixed seed) and decodes them with and without the CRC check: every
    /// outcome must be an error or a batch of exactly the header's record count, never a crash.
    @Test("random damage never crashes the decoder", arguments: [false, true])
    func fuzz(resignAfterDamage: Bool) throws {
        var random = SeededGenerator(seed: resignAfterDamage ? 0xF00D : 0xBEEF)
        let originals = [
            RecordBatch.encode(events: EventFixtures.mixed(7), receiveTime: 123),
            RecordBatch.encode(events: [EventFixtures.everything], receiveTime: -1),
            RecordBatch.encode(events: [EventFixtures.unicode, EventFixtures.manyExtensions(30)], receiveTime: 9),
        ]
        var failures = 0
        var successes = 0
        let iterations = 4000
        for iteration in 0..<iterations {
            var bytes = originals[iteration % originals.count]
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &random)...)
            case 1:
                for _ in 0...Int.random(in: 0..<4, using: &random) {
                    bytes[Int.random(in: RecordBatchHeader.size..<bytes.count, using: &random)] ^=
                        UInt8.random(in: 1...255, using: &random)
                }
            case 2:
                let at = Int.random(in: RecordBatchHeader.size..<bytes.count, using: &random)
                bytes[at] = [0x00, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
            case 3:
                let at = Int.random(in: RecordBatchHeader.size..<bytes.count, using: &random)
                bytes.remove(at: at)
            default:
                let at = Int.random(in: 0..<bytes.count, using: &random)
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            }
            if resignAfterDamage && bytes.count > RecordBatchHeader.checksummedRangeStart { resign(&bytes) }
            for verifying in [true, false] {
                do {
                    var reader = try RecordBatchReader(bytes, verifyingChecksum: verifying)
                    let records = try reader.readAll()
                    #expect(records.count == Int(reader.header.recordCount))
                    successes += 1
                } catch {
                    #expect(!error.description.isEmpty)
                    failures += 1
                }
            }
        }
        #expect(failures > iterations, "most damage must be detected (\(failures) errors, \(successes) decodes)")
    }
}
