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
        var buffer = ByteBuffer()
        buffer.reserveCapacity(12 + partitions.count * 36)
        buffer.writeStaticString("{\"events\":[")
        for index in partitions.indices {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            writePosition(partition: partitions[index], offset: offsets[index], to: &buffer)
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    static func writePosition(partition: Int, offset: Int64, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"partition\":")
        buffer.writeDecimal(Int64(partition))
        buffer.writeStaticString(",\"offset\":")
        buffer.writeDecimal(offset)
        buffer.writeInteger(UInt8(ascii: "}"))
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

extension ByteBuffer {
    /// Writes `value` in decimal. Decimal text of an Int64 fits a small string, which Swift keeps inline: no
    /// allocation.
    mutating func writeDecimal(_ value: Int64) {
        writeString(String(value))
    }
}
