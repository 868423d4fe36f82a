import CloudEvents
import HadronCore
import HTTPTypes
import NIOCore

/// The bodies the gateway writes by hand: they are on the hot path of every publish and read, and their shapes are
/// fixed and small, so bytes go straight into a buffer instead of through an encoder and an object graph.
enum ResponseBodies {
    static let batchContentType = JSONEventFormat.batchMediaType
    static let eventStreamContentType = "text/event-stream"

    /// `{"events":[{"partition":P,"offset":O},…]}` for a publish whose every event was stored.
    static func accepted(partitions: [Int], offsets: [Int64]) -> ByteBuffer {
        accepted(count: partitions.count) { (partitions[$0], offsets[$0]) }
    }

    /// The same for `count` events stored together in `partition` from `firstOffset` on: the common case, one
    /// partition's share, needs no arrays of positions.
    static func accepted(partition: Int, firstOffset: Int64, count: Int) -> ByteBuffer {
        accepted(count: count) { (partition, firstOffset + Int64($0)) }
    }

    /// Every published event's position goes into the answer, so a 100-event request writes 200 numbers: they are
    /// written straight into the buffer's memory, not through a `String` and a buffer write each (a tenth of the
    /// gateway's work under batched publish before).
    private static func accepted(count: Int, position: (Int) -> (partition: Int, offset: Int64)) -> ByteBuffer {
        let head: StaticString = "{\"events\":["
        let partitionMember: StaticString = "{\"partition\":"
        let offsetMember: StaticString = ",\"offset\":"
        // Per event: both members, two decimals of at most 20 characters, `}` and `,`.
        let perEvent = partitionMember.utf8CodeUnitCount + offsetMember.utf8CodeUnitCount + 2 * 20 + 2
        var buffer = ByteBuffer()
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: head.utf8CodeUnitCount + 2 + count * perEvent) {
            raw in
            var cursor = DecimalCursor(base: raw.baseAddress!)
            cursor.write(head)
            for index in 0..<count {
                if index > 0 { cursor.write(UInt8(ascii: ",")) }
                let (partition, offset) = position(index)
                cursor.write(partitionMember)
                cursor.write(decimal: Int64(partition))
                cursor.write(offsetMember)
                cursor.write(decimal: offset)
                cursor.write(UInt8(ascii: "}"))
            }
            cursor.write(UInt8(ascii: "]"))
            cursor.write(UInt8(ascii: "}"))
            return cursor.written
        }
        return buffer
    }

    /// The attributes a read adds to each event (DESIGN.md §3): the partition as an Integer, the offset as a String
    /// because offsets outgrow the 32-bit Integer type.
    static func readAttributes(partition: Int, offset: Int64) -> [(String, AttributeValue)] {
        [
            ("hadronpartition", .integer(Int32(truncatingIfNeeded: partition))),
            ("hadronoffset", .string(String(offset))),
        ]
    }

    /// A JSON batch (`application/cloudevents-batch+json`) of records read from `partition`.
    static func batch(_ records: some Collection<EventRecord>, partition: Int) -> ByteBuffer {
        var writer = JSONWriter(capacity: 2 + records.reduce(0) { $0 + 256 + ($1.event.data?.count ?? 0) * 4 / 3 })
        writer.append(UInt8(ascii: "["))
        var first = true
        for record in records {
            if !first { writer.append(UInt8(ascii: ",")) }
            first = false
            JSONEventFormat.write(
                record.event, additionalAttributes: readAttributes(partition: partition, offset: record.offset),
                to: &writer)
        }
        writer.append(UInt8(ascii: "]"))
        return ByteBuffer(bytes: writer.bytes)
    }

    /// Server-sent events for records: `id: P-O` and the event's JSON as `data`, one event per record.
    static func serverSentEvents(_ records: some Collection<EventRecord>, partition: Int) -> ByteBuffer {
        var writer = JSONWriter(capacity: records.reduce(0) { $0 + 280 + ($1.event.data?.count ?? 0) * 4 / 3 })
        for record in records {
            writer.raw("id: \(partition)-\(record.offset)\ndata: ".utf8)
            // The JSON writer escapes line breaks inside strings, so the event is one line as SSE requires.
            JSONEventFormat.write(
                record.event, additionalAttributes: readAttributes(partition: partition, offset: record.offset),
                to: &writer)
            writer.raw("\n\n".utf8)
        }
        return ByteBuffer(bytes: writer.bytes)
    }

    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}

/// Writes ASCII into memory the caller sized for it.
private struct DecimalCursor {
    let base: UnsafeMutableRawPointer
    private(set) var written = 0

    init(base: UnsafeMutableRawPointer) {
        self.base = base
    }

    mutating func write(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: written, as: UInt8.self)
        written += 1
    }

    mutating func write(_ text: StaticString) {
        (base + written).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        written += text.utf8CodeUnitCount
    }

    /// At most 20 characters (`Int64.min`).
    mutating func write(decimal value: Int64) {
        if value < 0 { write(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        var position = written + digits
        written = position
        repeat {
            position -= 1
            base.storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude % 10), toByteOffset: position, as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
    }
}
