public import CloudEvents

/// Turns CloudEvents into one record batch, in one allocation.
///
/// The gateway encodes a batch exactly once (DESIGN §7): storage, replicas and readers pass the same bytes along.
/// Encoding therefore sits on the publish path of every event, so it measures first and then writes each byte once
/// through a raw pointer into an array of exactly the right size; no Foundation, no intermediate buffers.
public struct RecordBatchEncoder: Sendable {
    /// The idempotent-producer identity stamped into the header (-1 everywhere when there is none), which lets a
    /// new leader recognise a batch that a gateway retries after failover.
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32

    public init(producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
    }

    /// Events received together (one request's share of a partition) and when, in milliseconds since the Unix epoch.
    public struct Group: Sendable {
        public var events: [CloudEvent]
        public var receiveTime: Int64

        public init(events: [CloudEvent], receiveTime: Int64) {
            self.events = events
            self.receiveTime = receiveTime
        }
    }

    /// Encodes `events`, all received at `receiveTime` (milliseconds since the Unix epoch), as one batch with
    /// base offset 0 and epoch 0, ready for a leader to stamp.
    public func encode(_ events: [CloudEvent], receiveTime: Int64) -> [UInt8] {
        encode([Group(events: events, receiveTime: receiveTime)])
    }

    /// Encodes the events of `groups` in order as one batch, each record stamped with its group's receive time: a
    /// batch that gathers several requests. The groups are read in place, so gathering requests copies no event.
    public func encode(_ groups: [Group]) -> [UInt8] {
        guard let first = groups.first(where: { !$0.events.isEmpty })?.receiveTime else {
            preconditionFailure("a record batch holds at least one event")
        }
        var count = 0
        for group in groups { count += group.events.count }
        precondition(count <= Int(Int32.max), "too many events for one batch")

        // Sizes are measured once and kept for the writing pass, which must agree with them byte for byte.
        var sizes: [Int] = []
        sizes.reserveCapacity(count)
        var total = RecordBatchHeader.size
        var maxDelta: Int64 = 0
        for group in groups {
            let delta = group.receiveTime &- first
            if !group.events.isEmpty { maxDelta = max(maxDelta, delta) }
            // Events are read in place through pointers, a field at a time: handing a CloudEvent to a function copies the
            // whole struct (a retain and a release per attribute), because the writes between could alias it.
            group.events.withUnsafeBufferPointer { events in
                for index in events.indices {
                    let body = Self.bodySize(events.baseAddress! + index, offsetDelta: sizes.count, timestampDelta: delta)
                    sizes.append(body)
                    total += RecordLayout.varintSize(body) + body
                }
            }
        }
        precondition(total - 12 <= Int(Int32.max), "a record batch is limited to 2 GiB")

        let header = RecordBatchHeader(
            batchLength: Int32(total - 12),
            lastOffsetDelta: Int32(count - 1),
            firstTimestamp: first,
            maxTimestamp: first &+ maxDelta,
            producerId: producerId,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            recordCount: Int32(count)
        )
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let batch = UnsafeMutableRawBufferPointer(buffer)
            var writer = RecordWriter(batch, at: RecordBatchHeader.size)
            var offsetDelta = 0
            for group in groups {
                let delta = group.receiveTime &- first
                group.events.withUnsafeBufferPointer { events in
                    for index in events.indices {
                        let body = sizes[offsetDelta]
                        writer.varint(UInt64(body))
                        let start = writer.position
                        writer.record(events.baseAddress! + index, offsetDelta: offsetDelta, timestampDelta: delta)
                        precondition(writer.position - start == body, "record size was measured wrong")
                        offsetDelta += 1
                    }
                }
            }
            precondition(writer.position == total, "batch size was measured wrong")
            // The header's fields from `attributes` on are inside the checksummed range: write them first.
            header.write(to: batch)
            let crc = CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.checksummedRangeStart..<total]))
            batch.writeBigEndian(crc, at: RecordBatchHeader.Offset.crc)
            initialized = total
        }
    }

    /// The size of a record after its length prefix; must agree byte for byte with ``RecordWriter/record``.
    static func bodySize(_ event: UnsafePointer<CloudEvent>, offsetDelta: Int, timestampDelta: Int64) -> Int {
        var size = RecordLayout.varintSize(offsetDelta)
        size += RecordLayout.varintSize(RecordLayout.zigzag(timestampDelta))
        var count = 4 + event.pointee.extensions.count
        // Context attributes: 0x00, ordinal, tag, then the length-prefixed text.
        size += contextSize(event.pointee.specversion.utf8.count)
        size += contextSize(event.pointee.id.utf8.count)
        size += contextSize(event.pointee.source.text.utf8.count)
        size += contextSize(event.pointee.type.utf8.count)
        if let value = event.pointee.datacontenttype { size += contextSize(value.utf8.count); count += 1 }
        if let value = event.pointee.dataschema { size += contextSize(value.text.utf8.count); count += 1 }
        if let value = event.pointee.subject { size += contextSize(value.utf8.count); count += 1 }
        if let value = event.pointee.time { size += contextSize(value.text.utf8.count); count += 1 }
        for (name, value) in event.pointee.extensions {
            let nameLength = name.utf8.count
            size += RecordLayout.varintSize(nameLength + 1) + nameLength + 1 + valueSize(value)
        }
        size += RecordLayout.varintSize(count)
        if let data = event.pointee.data {
            size += 1 + RecordLayout.varintSize(data.count) + data.count
        } else {
            size += 1
        }
        return size
    }

    @inline(__always)
    private static func contextSize(_ textLength: Int) -> Int {
        3 + RecordLayout.varintSize(textLength) + textLength
    }

    private static func valueSize(_ value: AttributeValue) -> Int {
        func text(_ length: Int) -> Int { RecordLayout.varintSize(length) + length }
        switch value {
        case .string(let string): return text(string.utf8.count)
        case .integer(let integer): return RecordLayout.varintSize(RecordLayout.zigzag(integer))
        case .boolean: return 1
        case .binary(let bytes): return text(bytes.count)
        case .uri(let uri): return text(uri.text.utf8.count)
        case .uriReference(let reference): return text(reference.text.utf8.count)
        case .timestamp(let timestamp): return text(timestamp.text.utf8.count)
        }
    }
}

extension RecordBatch {
    /// Encodes `events`, all received at `receiveTime` (ms since the Unix epoch), as one unstamped batch.
    public static func encode(
        events: [CloudEvent], receiveTime: Int64,
        producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1
    ) -> [UInt8] {
        RecordBatchEncoder(producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence)
            .encode(events, receiveTime: receiveTime)
    }
}

/// Writes record fields through a raw pointer whose room was measured beforehand.
///
/// It does not check bounds on each byte (that is the point); the encoder measures every record with
/// ``RecordBatchEncoder/bodySize(_:offsetDelta:timestampDelta:)`` first and checks the totals after each record.
struct RecordWriter {
    private let base: UnsafeMutableRawPointer
    private let end: Int
    private(set) var position: Int

    init(_ buffer: UnsafeMutableRawBufferPointer, at position: Int) {
        base = buffer.baseAddress!
        end = buffer.count
        self.position = position
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: position, as: UInt8.self)
        position += 1
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    @inline(__always)
    mutating func bytes(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress, !source.isEmpty else { return }
        precondition(position + source.count <= end, "record writer overrun")
        (base + position).copyMemory(from: from, byteCount: source.count)
        position += source.count
    }

    /// A length-prefixed byte string.
    @inline(__always)
    mutating func lengthPrefixed(_ source: [UInt8]) {
        varint(UInt64(source.count))
        source.withUnsafeBytes { bytes($0) }
    }

    /// A length-prefixed UTF-8 string; `lengthBias` is added to the length written (see ``RecordLayout``).
    @inline(__always)
    mutating func text(_ string: String, lengthBias: UInt64 = 0) {
        let utf8 = string.utf8
        varint(UInt64(utf8.count) + lengthBias)
        let copied: Void? = utf8.withContiguousStorageIfAvailable { bytes(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            // Bridged or otherwise non-contiguous strings: byte by byte.
            precondition(position + utf8.count <= end, "record writer overrun")
            for unit in utf8 { byte(unit) }
        }
    }

    @inline(__always)
    mutating func context(_ ordinal: UInt8, _ value: String) {
        byte(0)
        byte(ordinal)
        byte(RecordLayout.Context.tag(ordinal))
        text(value)
    }

    mutating func record(_ event: UnsafePointer<CloudEvent>, offsetDelta: Int, timestampDelta: Int64) {
        varint(UInt64(offsetDelta))
        varint(RecordLayout.zigzag(timestampDelta))
        var count = 4 + event.pointee.extensions.count
        if event.pointee.datacontenttype != nil { count += 1 }
        if event.pointee.dataschema != nil { count += 1 }
        if event.pointee.subject != nil { count += 1 }
        if event.pointee.time != nil { count += 1 }
        varint(UInt64(count))

        typealias Context = RecordLayout.Context
        context(Context.specversion, event.pointee.specversion)
        context(Context.id, event.pointee.id)
        context(Context.source, event.pointee.source.text)
        context(Context.type, event.pointee.type)
        if let value = event.pointee.datacontenttype { context(Context.datacontenttype, value) }
        if let value = event.pointee.dataschema { context(Context.dataschema, value.text) }
        if let value = event.pointee.subject { context(Context.subject, value) }
        if let value = event.pointee.time { context(Context.time, value.text) }

        switch event.pointee.extensions.count {
        case 0: break
        case 1:
            let (name, value) = event.pointee.extensions.first!
            self.extension(name, value)
        default:
            // Sorted, so that equal events always produce equal bytes (dictionary order varies per process).
            for (name, value) in event.pointee.extensions.sorted(by: { $0.key < $1.key }) { self.extension(name, value) }
        }

        if let data = event.pointee.data {
            byte(RecordLayout.dataPresent)
            lengthPrefixed(data)
        } else {
            byte(RecordLayout.dataAbsent)
        }
    }

    private mutating func `extension`(_ name: String, _ value: AttributeValue) {
        // Length + 1, so that 0 stays free to mark a context attribute even for an (invalid) empty name.
        text(name, lengthBias: 1)
        typealias Tag = RecordLayout.Tag
        switch value {
        case .string(let string):
            byte(Tag.string)
            text(string)
        case .integer(let integer):
            byte(Tag.integer)
            varint(RecordLayout.zigzag(integer))
        case .boolean(let boolean):
            byte(Tag.boolean)
            byte(boolean ? 1 : 0)
        case .binary(let binary):
            byte(Tag.binary)
            lengthPrefixed(binary)
        case .uri(let uri):
            byte(Tag.uri)
            text(uri.text)
        case .uriReference(let reference):
            byte(Tag.uriReference)
            text(reference.text)
        case .timestamp(let timestamp):
            byte(Tag.timestamp)
            text(timestamp.text)
        }
    }
}
