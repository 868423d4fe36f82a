import CloudEvents

/// Reads the records of one batch, checking every length against the bytes that are really there.
///
/// Records are trusted in content (the gateway validated the events, the CRC guards them) but never in shape:
/// a batch that skipped verification, or one whose damage the CRC happened to miss, must end in an error, not a
/// crash or an out-of-bounds read. So every read is bounded by the current record's end.
struct RecordCursor {
    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    /// The end of what may be read: the batch's end between records, the record's end inside one.
    private var limit: Int

    init(_ bytes: UnsafeRawBufferPointer, from position: Int, to limit: Int) {
        precondition(0 <= position && position <= limit && limit <= bytes.count)
        self.bytes = bytes
        self.position = position
        self.limit = limit
    }

    var remaining: Int { limit - position }

    @inline(__always)
    mutating func byte(_ field: @autoclosure () -> String) throws(RecordBatchError) -> UInt8 {
        guard position < limit else { throw Self.malformed("\(field()) is missing: the record ends first") }
        let value = bytes.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return value
    }

    /// An unsigned LEB128 value of at most `bits` significant bits.
    @inline(__always)
    mutating func varint(
        _ field: @autoclosure () -> String, bits: Int = 32
    ) throws(RecordBatchError) -> UInt64 {
        // The common case, one byte, without a loop.
        if position < limit {
            let first = bytes.load(fromByteOffset: position, as: UInt8.self)
            if first < 0x80 {
                position += 1
                return UInt64(first)
            }
        }
        var result: UInt64 = 0
        var shift = 0
        while true {
            guard position < limit else {
                throw Self.malformed("\(field()) is cut off: the record ends inside a varint")
            }
            let next = bytes.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            let payload = UInt64(next & 0x7F)
            guard shift < 64, (payload << shift) >> shift == payload else {
                throw Self.malformed("\(field()) does not fit in \(bits) bits")
            }
            result |= payload << shift
            if next < 0x80 {
                guard bits >= 64 || result >> bits == 0 else {
                    throw Self.malformed("\(field()) does not fit in \(bits) bits")
                }
                return result
            }
            shift += 7
        }
    }

    /// A length that must fit in what is left of the current record.
    @inline(__always)
    mutating func length(_ field: @autoclosure () -> String) throws(RecordBatchError) -> Int {
        let value = Int(try varint(field(), bits: 32))
        guard value <= remaining else {
            throw Self.malformed("\(field()) says \(value) bytes but only \(remaining) remain in the record")
        }
        return value
    }

    @inline(__always)
    mutating func slice(count: Int) -> UnsafeRawBufferPointer {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    mutating func text(_ field: @autoclosure () -> String) throws(RecordBatchError) -> String {
        try text(count: length(field()), field())
    }

    mutating func text(count: Int, _ field: @autoclosure () -> String) throws(RecordBatchError) -> String {
        let raw = slice(count: count)
        guard let string = UTF8Validation.string(raw) else {
            throw Self.malformed("\(field()) is not valid UTF-8")
        }
        return string
    }

    mutating func binary(_ field: @autoclosure () -> String) throws(RecordBatchError) -> [UInt8] {
        [UInt8](slice(count: try length(field())))
    }

    /// Decodes the record at the cursor, which must be the `index`-th of its batch, and leaves the cursor after it.
    mutating func record(
        index: Int, header: RecordBatchHeader
    ) throws(RecordBatchError) -> EventRecord {
        let start = position
        do throws(RecordBatchError) {
            let recordLength = try length("record length")
            let batchLimit = limit
            limit = position + recordLength
            let record = try recordBody(index: index, header: header)
            guard position == limit else {
                throw Self.malformed("\(limit - position) bytes left over after the record's data")
            }
            limit = batchLimit
            return record
        } catch {
            throw RecordBatchError(.malformedRecord, "record \(index) (batch byte \(start)): \(error.message)")
        }
    }

    private mutating func recordBody(index: Int, header: RecordBatchHeader) throws(RecordBatchError) -> EventRecord {
        let offsetDelta = try varint("offsetDelta")
        guard offsetDelta == UInt64(index) else {
            throw Self.malformed("offsetDelta is \(offsetDelta), expected \(index) (records are contiguous)")
        }
        let timestampDelta = RecordLayout.unzigzag(try varint("timestampDelta", bits: 64))
        let attributeCount = try varint("attribute count")
        // Each attribute takes at least three bytes, which bounds a garbled count before anything is allocated.
        guard attributeCount <= UInt64(remaining / 3) else {
            throw Self.malformed("attribute count \(attributeCount) cannot fit in the \(remaining) bytes left")
        }

        typealias Context = RecordLayout.Context
        typealias Tag = RecordLayout.Tag
        var seen: UInt16 = 0
        var specversion = "", id = "", type = ""
        var source = URIReference(unchecked: "")
        var datacontenttype: String?, subject: String?
        var dataschema: URI?
        var time: Timestamp?
        var extensions: [String: AttributeValue] = [:]
        let extensionCount = max(0, Int(attributeCount) - 4)
        if extensionCount > 0 { extensions.reserveCapacity(extensionCount) }

        for _ in 0..<attributeCount {
            let nameField = try varint("attribute name length")
            if nameField == 0 {
                let ordinal = try byte("context attribute ordinal")
                guard Int(ordinal) < Context.count else {
                    throw Self.malformed("unknown context attribute ordinal \(ordinal)")
                }
                let name = Context.name(ordinal)
                guard seen & (1 << ordinal) == 0 else { throw Self.malformed("attribute '\(name)' appears twice") }
                seen |= 1 << ordinal
                let tag = try byte("type tag of '\(name)'")
                guard tag == Context.tag(ordinal) else {
                    throw Self.malformed("attribute '\(name)' has type tag \(tag), expected \(Context.tag(ordinal))")
                }
                let value = try text("value of '\(name)'")
                switch ordinal {
                case Context.specversion: specversion = value
                case Context.id: id = value
                case Context.source: source = URIReference(unchecked: value)
                case Context.type: type = value
                case Context.datacontenttype: datacontenttype = value
                case Context.dataschema: dataschema = URI(unchecked: value)
                case Context.subject: subject = value
                default: time = Timestamp(unchecked: value)
                }
            } else {
                guard nameField - 1 <= UInt64(remaining) else {
                    throw Self.malformed(
                        "extension name length \(nameField - 1) exceeds the \(remaining) bytes left in the record")
                }
                let name = try text(count: Int(nameField - 1), "extension name")
                let tag = try byte("type tag of '\(name)'")
                let value: AttributeValue
                switch tag {
                case Tag.string: value = .string(try text("value of '\(name)'"))
                case Tag.integer:
                    let raw = RecordLayout.unzigzag(try varint("value of '\(name)'", bits: 32))
                    value = .integer(Int32(truncatingIfNeeded: raw))
                case Tag.boolean:
                    let raw = try byte("value of '\(name)'")
                    guard raw <= 1 else { throw Self.malformed("boolean '\(name)' is \(raw), expected 0 or 1") }
                    value = .boolean(raw == 1)
                case Tag.binary: value = .binary(try binary("value of '\(name)'"))
                case Tag.uri: value = .uri(URI(unchecked: try text("value of '\(name)'")))
                case Tag.uriReference: value = .uriReference(URIReference(unchecked: try text("value of '\(name)'")))
                case Tag.timestamp: value = .timestamp(Timestamp(unchecked: try text("value of '\(name)'")))
                default: throw Self.malformed("extension '\(name)' has unknown type tag \(tag)")
                }
                guard extensions.updateValue(value, forKey: name) == nil else {
                    throw Self.malformed("extension '\(name)' appears twice")
                }
            }
        }

        let required: UInt16 =
            1 << Context.specversion | 1 << Context.id | 1 << Context.source | 1 << Context.type
        guard seen & required == required else {
            let missing = [Context.specversion, Context.id, Context.source, Context.type]
                .filter { seen & (1 << $0) == 0 }.map(Context.name)
            throw Self.malformed("required attribute(s) missing: \(missing.joined(separator: ", "))")
        }

        let data: [UInt8]?
        switch try byte("data presence flag") {
        case RecordLayout.dataAbsent: data = nil
        case RecordLayout.dataPresent: data = try binary("data length")
        case let flag: throw Self.malformed("data presence flag is \(flag), expected 0 or 1")
        }

        let event = CloudEvent(
            id: id, source: source, type: type, specversion: specversion,
            datacontenttype: datacontenttype, dataschema: dataschema, subject: subject, time: time,
            extensions: extensions, data: data)
        return EventRecord(
            offset: header.baseOffset &+ Int64(index),
            timestamp: header.firstTimestamp &+ timestampDelta,
            event: event)
    }

    private static func malformed(_ message: String) -> RecordBatchError {
        RecordBatchError(.malformedRecord, message)
    }
}
