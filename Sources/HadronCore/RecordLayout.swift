/// The layout of the records that follow a batch header: one per CloudEvent, holding its typed attributes and data.
///
/// A record is self-delimiting, Kafka-style, so a reader can skip one without decoding it:
///
/// ```
/// record          = length:uvarint body            ; length = bytes in body
/// body            = offsetDelta:uvarint timestampDelta:zigzag-varint attributeCount:uvarint attribute* data
/// attribute       = name tag:u8 value
/// name            = 0x00 ordinal:u8                ; a context attribute, by ordinal (see below)
///                 | length+1:uvarint utf8          ; an extension, its name's byte length plus one
/// value           = utf8-bytes                     ; string, uri, uri-reference, timestamp (tags 0, 4, 5, 6)
///                 | zigzag-varint                  ; integer (tag 1)
///                 | 0x00 | 0x01                    ; boolean (tag 2)
///                 | length:uvarint bytes           ; binary (tag 3)
/// utf8-bytes      = length:uvarint utf8
/// data            = 0x00                           ; no data
///                 | 0x01 length:uvarint bytes      ; data, possibly empty
/// ```
///
/// `uvarint` is unsigned LEB128 (7 bits a byte, low first); `zigzag-varint` maps signed to unsigned first
/// (0, -1, 1, -2 → 0, 1, 2, 3) as Protocol Buffers and Kafka do. `offsetDelta` is the record's position in the
/// batch; `timestampDelta` is its receive time minus the header's `firstTimestamp` in milliseconds.
///
/// Why this shape:
/// - Context attributes travel as a one-byte ordinal instead of their name: every event has four to eight of
///   them, and a switch on a byte decodes faster than comparing names. Extension name lengths are written plus
///   one, so the 0 that marks a context attribute stays unambiguous even for an (invalid) empty name.
/// - Every value carries its type tag, so an event comes back with exactly the types it arrived with (an
///   Integer extension stays an Integer, a Binary one stays Binary), which structured-mode reads depend on.
/// - Data keeps the difference between absent and empty: `nil` and `[]` are different events.
/// - Attributes are written in ``CloudEvent/attributes`` order (context attributes first, extensions sorted by
///   name), so equal events encode to equal bytes.
/// - No value is re-validated on decode (URIs and timestamps use their `unchecked:` initialisers): the gateway
///   validated them once and the batch CRC protects them since. Decoding still checks every length, tag and
///   UTF-8 sequence, so damaged bytes produce a ``RecordBatchError``, never a crash or a wrong event.
enum RecordLayout {
    /// The type tag in front of every attribute value.
    enum Tag {
        static let string: UInt8 = 0
        static let integer: UInt8 = 1
        static let boolean: UInt8 = 2
        static let binary: UInt8 = 3
        static let uri: UInt8 = 4
        static let uriReference: UInt8 = 5
        static let timestamp: UInt8 = 6
    }

    /// Context attributes by ordinal, in ``CloudEvent/attributes`` order.
    enum Context {
        static let specversion: UInt8 = 0
        static let id: UInt8 = 1
        static let source: UInt8 = 2
        static let type: UInt8 = 3
        static let datacontenttype: UInt8 = 4
        static let dataschema: UInt8 = 5
        static let subject: UInt8 = 6
        static let time: UInt8 = 7
        static let count = 8

        /// The attribute's name, for error messages.
        static func name(_ ordinal: UInt8) -> String {
            switch ordinal {
            case specversion: "specversion"
            case id: "id"
            case source: "source"
            case type: "type"
            case datacontenttype: "datacontenttype"
            case dataschema: "dataschema"
            case subject: "subject"
            case time: "time"
            default: "context attribute #\(ordinal)"
            }
        }

        /// The only tag each context attribute may carry.
        static func tag(_ ordinal: UInt8) -> UInt8 {
            switch ordinal {
            case source: Tag.uriReference
            case dataschema: Tag.uri
            case time: Tag.timestamp
            default: Tag.string
            }
        }
    }

    static let dataAbsent: UInt8 = 0
    static let dataPresent: UInt8 = 1

    /// Bytes an unsigned LEB128 encoding of `value` takes.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // Bits needed, rounded up to 7-bit groups; 0 still takes one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inline(__always)
    static func varintSize(_ value: Int) -> Int { varintSize(UInt64(truncatingIfNeeded: value)) }

    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    @inline(__always)
    static func zigzag(_ value: Int32) -> UInt64 { UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))) }

    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }
}
