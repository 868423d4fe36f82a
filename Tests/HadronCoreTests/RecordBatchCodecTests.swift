import CloudEvents
import HadronTestSupport
import Testing

@testable import HadronCore

@Suite("Record batch event codec")
struct RecordBatchCodecTests {
    private func roundTrip(_ events: [CloudEvent], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = RecordBatch.encode(events: events, receiveTime: 1_700_000_000_000)
        let decoded = try RecordBatch.decode(bytes)
        #expect(decoded.count == events.count, sourceLocation: sourceLocation)
        for (index, (offset, event)) in decoded.enumerated() {
            #expect(offset == Int64(index), sourceLocation: sourceLocation)
            #expect(event == events[index], "event \(index)", sourceLocation: sourceLocation)
        }
    }

    @Test("a minimal event round-trips")
    func minimal() throws { try roundTrip([EventFixtures.minimal()]) }

    @Test("every context attribute and every attribute type round-trips with its type")
    func everything() throws {
        let event = EventFixtures.everything
        try roundTrip([event])
        let decoded = try RecordBatch.decode(RecordBatch.encode(events: [event], receiveTime: 0))[0].event
        #expect(decoded.extensions["count"] == .integer(-42))
        #expect(decoded.extensions["min"] == .integer(.min))
        #expect(decoded.extensions["blob"] == .binary([0, 1, 2, 0xFF]))
        #expect(decoded.extensions["link"] == .uri(URI(unchecked: "urn:isbn:0451450523")))
        #expect(decoded.extensions["ref"] == .uriReference(URIReference(unchecked: "../relative/path")))
        #expect(decoded.extensions["when"] == .timestamp(Timestamp(unchecked: "1985-04-12T23:20:50.52Z")))
        #expect(decoded.extensions["yes"] == .boolean(true))
        #expect(decoded.time?.text == "2024-05-01T12:34:56.789+02:00")
        #expect(decoded.dataschema?.text == "https://example.com/schemas/order.json")
    }

    @Test("nil data and empty data stay different")
    func nilVersusEmptyData() throws {
        var absent = EventFixtures.minimal("absent")
        absent.data = nil
        var empty = EventFixtures.minimal("empty")
        empty.data = []
        let decoded = try RecordBatch.decode(RecordBatch.encode(events: [absent, empty], receiveTime: 0))
        #expect(decoded[0].event.data == nil)
        #expect(decoded[1].event.data == [])
    }

    @Test("binary data with every byte value, and large data, round-trip")
    func binaryData() throws {
        var all = EventFixtures.minimal("all-bytes")
        all.data = (0...255).map { UInt8($0) }
        var large = EventFixtures.minimal("large")
        var random = SeededGenerator(seed: 99)
        large.data = random.bytes(300_000)
        try roundTrip([all, large])
    }

    @Test("unicode in every string field round-trips")
    func unicode() throws { try roundTrip([EventFixtures.unicode]) }

    @Test("many extensions round-trip", arguments: [1, 2, 20, 200])
    func manyExtensions(count: Int) throws { try roundTrip([EventFixtures.manyExtensions(count)]) }

    @Test("an extension whose name shadows a context attribute, and an empty extension name, stay extensions")
    func oddExtensionNames() throws {
        var event = EventFixtures.minimal()
        event.extensions["id"] = .string("not the id")
        event.extensions[""] = .integer(1)
        try roundTrip([event])
    }

    @Test("a non-1.0 specversion and empty required strings are reproduced, not repaired")
    func unvalidatedValuesRoundTrip() throws {
        let event = CloudEvent(id: "", source: URIReference(unchecked: ""), type: "", specversion: "0.3")
        try roundTrip([event])
    }

    @Test("batches of 1 and 1000 records round-trip with contiguous offsets", arguments: [1, 1000])
    func batchSizes(count: Int) throws {
        let events = EventFixtures.mixed(count)
        var bytes = RecordBatch.encode(events: events, receiveTime: 5)
        RecordBatch.stamp(baseOffset: 10_000, epoch: 3, in: &bytes)
        let decoded = try RecordBatch.decode(bytes)
        #expect(decoded.map(\.offset) == (0..<count).map { 10_000 + Int64($0) })
        #expect(decoded.map(\.event) == events)
        let header = try RecordBatch.verify(bytes)
        #expect(header.recordCount == Int32(count))
        #expect(header.lastOffset == 10_000 + Int64(count) - 1)
    }

    @Test("equal events encode to equal bytes, whatever the dictionary order")
    func deterministic() {
        let a = EventFixtures.manyExtensions(50)
        var b = EventFixtures.minimal("many")
        for index in (0..<50).reversed() { b.extensions["ext\(index)"] = .integer(Int32(index * 1000 - 50_000)) }
        #expect(RecordBatch.encode(events: [a], receiveTime: 1) == RecordBatch.encode(events: [b], receiveTime: 1))
    }

    @Test("requests gathered in one batch: first and max receive time in the header, each record keeps its own")
    func receiveTimes() throws {
        let events = EventFixtures.mixed(4)
        let times: [Int64] = [1000, 990, 990, 1200]
        let groups = [
            RecordBatchEncoder.Group(events: [events[0]], receiveTime: times[0]),
            RecordBatchEncoder.Group(events: [], receiveTime: 0),
            RecordBatchEncoder.Group(events: [events[1], events[2]], receiveTime: times[1]),
            RecordBatchEncoder.Group(events: [events[3]], receiveTime: times[3]),
        ]
        let bytes = RecordBatchEncoder(producerId: 5).encode(groups)
        let header = try RecordBatch.verify(bytes)
        #expect(header.firstTimestamp == 1000)
        #expect(header.maxTimestamp == 1200)
        #expect(header.producerId == 5)
        var reader = try RecordBatchReader(bytes)
        #expect(try reader.readAll().map(\.timestamp) == times)
    }

    @Test("the reader decodes lazily and reports the end")
    func lazyReader() throws {
        let events = EventFixtures.mixed(3)
        var bytes = RecordBatch.encode(events: events, receiveTime: 77)
        RecordBatch.stamp(baseOffset: 40, epoch: 1, in: &bytes)
        var reader = try RecordBatchReader(bytes)
        #expect(reader.header.baseOffset == 40)
        let first = try reader.next()
        #expect(first == EventRecord(offset: 40, timestamp: 77, event: events[0]))
        #expect(try reader.next()?.offset == 41)
        #expect(try reader.next()?.event == events[2])
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
    }

    @Test("the reader starts at a batch in the middle of a buffer")
    func readerInsideSegment() throws {
        let first = RecordBatch.encode(events: EventFixtures.mixed(2), receiveTime: 1)
        var second = RecordBatch.encode(events: [EventFixtures.unicode], receiveTime: 2)
        RecordBatch.stamp(baseOffset: 2, epoch: 0, in: &second)
        let segment = first + second + [0, 0, 0]
        var reader = try RecordBatchReader(segment, startingAt: first.count)
        #expect(try reader.readAll() == [EventRecord(offset: 2, timestamp: 2, event: EventFixtures.unicode)])
    }

    @Test("decodeRecords over raw bytes agrees with decode")
    func rawDecode() throws {
        let events = EventFixtures.mixed(25)
        let bytes = RecordBatch.encode(events: events, receiveTime: 3)
        let records = try bytes.withUnsafeBytes { raw in
            try Result { () throws(RecordBatchError) in try RecordBatch.decodeRecords(raw) }.get()
        }
        #expect(records.map(\.event) == events)
        #expect(records.allSatisfy { $0.timestamp == 3 })
    }

    @Test("a damaged batch is refused by its CRC before decoding")
    func damagedBatch() {
        var bytes = RecordBatch.encode(events: [EventFixtures.everything], receiveTime: 0)
        bytes[bytes.count - 3] ^= 0x10
        let error = #expect(throws: RecordBatchError.self) { try RecordBatch.decode(bytes) }
        #expect(error?.code == .checksumMismatch)
    }

    @Test("unknown batch attributes are refused")
    func unknownAttributes() {
        var bytes = RecordBatch.encode(events: [EventFixtures.minimal()], receiveTime: 0)
        bytes[22] = 1
        resign(&bytes)
        let error = #expect(throws: RecordBatchError.self) { try RecordBatch.decode(bytes) }
        #expect(error?.code == .unsupportedAttributes)
    }
}

/// Recomputes the CRC after a test changed bytes on purpose, so the record decoder (not the CRC) sees them.
func resign(_ bytes: inout [UInt8]) {
    let crc = bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) }
    withUnsafeBytes(of: crc.bigEndian) { bytes.replaceSubrange(17..<21, with: $0) }
}
