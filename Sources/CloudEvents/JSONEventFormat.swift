/// The CloudEvents JSON event format (`application/cloudevents+json`) and batch format
/// (`application/cloudevents-batch+json`), both directions.
///
/// Decoding keeps what a round trip needs: the JSON type of every extension, the `time` text as written, and the
/// `data` member's text verbatim when the content type is JSON. Encoding follows DESIGN.md §3's data rules, so the
/// representation depends on the stored bytes and the content type, never on the mode an event arrived in.
public enum JSONEventFormat {
    public static let mediaType = "application/cloudevents+json"
    public static let batchMediaType = "application/cloudevents-batch+json"

    // MARK: Decoding

    /// Decodes one event from UTF-8 JSON (the body of a structured-mode request).
    public static func decode(_ json: [UInt8]) throws(CloudEventError) -> CloudEvent {
        try withBytes(json) { (bytes) throws(CloudEventError) -> CloudEvent in
            guard UTF8Validation.isValid(bytes) else {
                throw CloudEventError(.invalidJSON, "the body is not valid UTF-8")
            }
            var reader = JSONReader(bytes, at: bomLength(bytes))
            guard reader.peek() == 0x7B else {
                throw CloudEventError(.invalidJSON, "a structured-mode event must be a JSON object")
            }
            let event = try decodeEvent(&reader)
            guard reader.peek() == nil else { throw reader.failure("unexpected content after the event") }
            return event
        }
    }

    /// Decodes a batch: a JSON array, possibly empty, of events. An error names the index of the bad event.
    public static func decodeBatch(_ json: [UInt8]) throws(CloudEventError) -> [CloudEvent] {
        try withBytes(json) { (bytes) throws(CloudEventError) -> [CloudEvent] in
            guard UTF8Validation.isValid(bytes) else {
                throw CloudEventError(.invalidJSON, "the body is not valid UTF-8")
            }
            var reader = JSONReader(bytes, at: bomLength(bytes))
            guard reader.consume(0x5B) else {
                throw CloudEventError(.invalidBatch, "a batch must be a JSON array of events")
            }
            var events: [CloudEvent] = []
            if !reader.consume(0x5D) {
                repeat {
                    guard reader.peek() == 0x7B else {
                        throw CloudEventError(.invalidBatch, "every element of a batch must be an event object")
                            .inBatch(at: events.count)
                    }
                    do throws(CloudEventError) {
                        events.append(try decodeEvent(&reader))
                    } catch {
                        throw error.inBatch(at: events.count)
                    }
                } while reader.consume(0x2C)
                try reader.expect(0x5D, "',' or ']' in the batch array")
            }
            guard reader.peek() == nil else { throw reader.failure("unexpected content after the batch array") }
            return events
        }
    }

    /// A UTF-8 byte order mark is tolerated at the start of a body (RFC 8259 §8.1 lets parsers ignore it).
    private static func bomLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// Which members of the event object were seen, to refuse duplicates without a set per event.
    private struct SeenMembers: OptionSet {
        let rawValue: UInt16
        static let id = SeenMembers(rawValue: 1 << 0)
        static let source = SeenMembers(rawValue: 1 << 1)
        static let specversion = SeenMembers(rawValue: 1 << 2)
        static let type = SeenMembers(rawValue: 1 << 3)
        static let datacontenttype = SeenMembers(rawValue: 1 << 4)
        static let dataschema = SeenMembers(rawValue: 1 << 5)
        static let subject = SeenMembers(rawValue: 1 << 6)
        static let time = SeenMembers(rawValue: 1 << 7)
        static let data = SeenMembers(rawValue: 1 << 8)
        static let dataBase64 = SeenMembers(rawValue: 1 << 9)
    }

    /// A member of the event object: a context attribute, `data`, `data_base64`, or an extension.
    private enum Member {
        case id, source, specversion, type, datacontenttype, dataschema, subject, time, data, dataBase64
        case `extension`(String)

        /// Reads a member name. The names of the format are matched on their bytes, so that only extension names
        /// become strings (a name written with escapes is decoded first, and then matched).
        init(reading reader: inout JSONReader) throws(CloudEventError) {
            let (range, escaped) = try reader.readRawString()
            if !escaped, let known = Self.known(UnsafeRawBufferPointer(rebasing: reader.bytes[range])) {
                self = known
                return
            }
            var nameReader = JSONReader(reader.bytes, at: range.lowerBound - 1)
            var text = try nameReader.readString()
            self = text.withUTF8 { Self.known(UnsafeRawBufferPointer($0)) } ?? .extension(text)
        }

        private static func known(_ name: UnsafeRawBufferPointer) -> Member? {
            func equals(_ literal: StaticString) -> Bool {
                guard literal.utf8CodeUnitCount == name.count else { return false }
                for index in 0..<name.count where literal.utf8Start[index] != name[index] { return false }
                return true
            }
            switch name.count {
            case 2: return equals("id") ? .id : nil
            case 4: return equals("type") ? .type : equals("time") ? .time : equals("data") ? .data : nil
            case 6: return equals("source") ? .source : nil
            case 7: return equals("subject") ? .subject : nil
            case 10: return equals("dataschema") ? .dataschema : nil
            case 11: return equals("specversion") ? .specversion : equals("data_base64") ? .dataBase64 : nil
            case 15: return equals("datacontenttype") ? .datacontenttype : nil
            default: return nil
            }
        }

        var name: String {
            switch self {
            case .id: "id"
            case .source: "source"
            case .specversion: "specversion"
            case .type: "type"
            case .datacontenttype: "datacontenttype"
            case .dataschema: "dataschema"
            case .subject: "subject"
            case .time: "time"
            case .data: "data"
            case .dataBase64: "data_base64"
            case .extension(let name): name
            }
        }

        var seen: SeenMembers {
            switch self {
            case .id: .id
            case .source: .source
            case .specversion: .specversion
            case .type: .type
            case .datacontenttype: .datacontenttype
            case .dataschema: .dataschema
            case .subject: .subject
            case .time: .time
            case .data: .data
            case .dataBase64: .dataBase64
            case .extension: []
            }
        }
    }

    /// Decodes the event object the reader is positioned at, and validates it.
    ///
    /// Every part is read and checked before the event is built, and consumed into it: building it early and then
    /// setting time, dataschema and data cost whole-struct copies. What reading established (strings in plain
    /// printable ASCII, a parsed media type, checked extension names) is not checked a second time.
    static func decodeEvent(_ reader: inout JSONReader) throws(CloudEventError) -> CloudEvent {
        try reader.expect(0x7B, "'{'")
        var seen: SeenMembers = []
        var id: String?
        var source: String?
        var specversion: String?
        var type: String?
        var datacontenttype: String?
        var dataschema: String?
        var subject: String?
        var time: String?
        var extensions: [String: AttributeValue] = [:]
        var dataRange: Range<Int>?
        var dataIsString = false
        var dataBase64: [UInt8]?
        var allPrintableASCII = true
        var allStringExtensions = true

        /// A context attribute's value: a string, or `null` for absent; any other JSON type is refused.
        func stringOrNull(_ member: Member, _ reader: inout JSONReader) throws(CloudEventError) -> String? {
            let token = try reader.nextToken()
            switch token {
            case .string:
                let (text, isPrintableASCII) = try reader.readStringNotingPrintableASCII()
                allPrintableASCII = allPrintableASCII && isPrintableASCII
                return text
            case .null:
                try reader.readLiteral(.null)
                return nil
            default:
                throw CloudEventError(
                    .invalidAttributeType, attribute: member.name, "must be a JSON string, not \(describe(token))")
            }
        }

        if !reader.consume(0x7D) {
            repeat {
                guard reader.peek() == 0x22 else { throw reader.failure("expected a member name") }
                let member = try Member(reading: &reader)
                try reader.expect(0x3A, "':' after a member name")
                guard !seen.contains(member.seen) || member.seen.isEmpty else {
                    throw CloudEventError(.duplicateMember, attribute: member.name, "the member appears more than once")
                }
                seen.insert(member.seen)
                switch member {
                case .id: id = try stringOrNull(member, &reader)
                case .source: source = try stringOrNull(member, &reader)
                case .specversion: specversion = try stringOrNull(member, &reader)
                case .type: type = try stringOrNull(member, &reader)
                case .datacontenttype: datacontenttype = try stringOrNull(member, &reader)
                case .dataschema: dataschema = try stringOrNull(member, &reader)
                case .subject: subject = try stringOrNull(member, &reader)
                case .time: time = try stringOrNull(member, &reader)
                case .data:
                    dataIsString = try reader.nextToken() == .string
                    dataRange = try reader.skipValue()
                case .dataBase64:
                    let token = try reader.nextToken()
                    if token == .null {
                        try reader.readLiteral(.null)
                    } else {
                        guard token == .string else {
                            throw CloudEventError(
                                .invalidAttributeType, attribute: member.name,
                                "must be a base64 string, not \(describe(token))")
                        }
                        guard let decoded = Base64.decode(try reader.readStringBytes()) else {
                            throw CloudEventError(
                                .invalidBase64, attribute: member.name, "is not valid base64 (RFC 4648)")
                        }
                        dataBase64 = decoded
                    }
                case .extension(let name):
                    guard extensions[name] == nil else {
                        throw CloudEventError(.duplicateMember, attribute: name, "the member appears more than once")
                    }
                    try ExtensionName.validate(name)
                    switch try extensionValue(name, &reader) {
                    case nil: break
                    case .string(let text, let isPrintableASCII):
                        allPrintableASCII = allPrintableASCII && isPrintableASCII
                        extensions[name] = .string(text)
                    case .other(let value):
                        allStringExtensions = false
                        extensions[name] = value
                    }
                }
            } while reader.consume(0x2C)
            try reader.expect(0x7D, "',' or '}' after a member")
        }

        if dataRange != nil, dataBase64 != nil {
            throw CloudEventError(.conflictingData, attribute: "data", "an event cannot carry both data and data_base64")
        }
        guard let specversion else {
            throw CloudEventError(.missingAttribute, attribute: "specversion", "is required")
        }
        guard specversion == CloudEvent.specVersion else {
            throw CloudEventError(
                .unsupportedSpecVersion, attribute: "specversion", "must be \"1.0\", got \"\(specversion)\"")
        }
        guard let id else { throw CloudEventError(.missingAttribute, attribute: "id", "is required") }
        guard let source else { throw CloudEventError(.missingAttribute, attribute: "source", "is required") }
        guard let type else { throw CloudEventError(.missingAttribute, attribute: "type", "is required") }

        let sourceReference = try attributeURIReference("source", source)
        let schema = try dataschema.map { (text) throws(CloudEventError) in try attributeURI("dataschema", text) }
        let timestamp = try time.map { (text) throws(CloudEventError) in try attributeTimestamp("time", text) }
        // Extension names were checked as they were read.
        let mediaType = try CloudEvent.validateDecoded(
            id: id, source: sourceReference, type: type, specversion: specversion, datacontenttype: datacontenttype,
            subject: subject, extensions: extensions, allPrintableASCII: allPrintableASCII,
            allStringExtensions: allStringExtensions)

        var data: [UInt8]?
        if let dataBase64 {
            data = dataBase64
        } else if let dataRange {
            if dataIsString, let mediaType, !mediaType.isJSON {
                // Text data: the string's characters are the data. It is never parsed again as JSON.
                var stringReader = JSONReader(reader.bytes, at: dataRange.lowerBound)
                data = try stringReader.readStringBytes()
            } else {
                // JSON data (or any non-string value): its text, verbatim.
                data = Array(reader.bytes[dataRange])
            }
        }
        return CloudEvent(
            id: consume id, source: consume sourceReference, type: consume type, specversion: consume specversion,
            datacontenttype: consume datacontenttype, dataschema: consume schema, subject: consume subject,
            time: consume timestamp, extensions: consume extensions, data: consume data)
    }

    /// An extension member's value, with what reading a string established.
    private enum ExtensionValue {
        case string(String, isPrintableASCII: Bool)
        case other(AttributeValue)
    }

    private static func extensionValue(_ name: String, _ reader: inout JSONReader) throws(CloudEventError)
        -> ExtensionValue?
    {
        let token = try reader.nextToken()
        switch token {
        case .string:
            let (text, isPrintableASCII) = try reader.readStringNotingPrintableASCII()
            return .string(text, isPrintableASCII: isPrintableASCII)
        case .true, .false:
            try reader.readLiteral(token)
            return .other(.boolean(token == .true))
        case .null:
            try reader.readLiteral(.null)
            return nil
        case .number:
            let (isInteger, range) = try reader.readNumber()
            guard isInteger else {
                throw CloudEventError(
                    .invalidAttributeType, attribute: name,
                    "floating-point numbers are not a CloudEvents type; use an Integer or a String")
            }
            guard let value = Int32(String(decoding: reader.bytes[range], as: UTF8.self)) else {
                throw CloudEventError(
                    .invalidInteger, attribute: name, "Integer values must fit in 32 bits (-2147483648...2147483647)")
            }
            return .other(.integer(value))
        case .object, .array:
            throw CloudEventError(
                .invalidAttributeType, attribute: name, "\(describe(token))s are not a CloudEvents attribute type")
        }
    }

    private static func describe(_ token: JSONReader.Token) -> String {
        switch token {
        case .string: "a string"
        case .number: "a number"
        case .object: "an object"
        case .array: "an array"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }

    static func attributeURIReference(_ name: String, _ text: String) throws(CloudEventError) -> URIReference {
        guard !text.isEmpty else {
            throw CloudEventError(.emptyAttribute, attribute: name, "must be a non-empty URI-reference")
        }
        do { return try URIReference(text) } catch { throw CloudEventError(.invalidURI, attribute: name, error.message) }
    }

    static func attributeURI(_ name: String, _ text: String) throws(CloudEventError) -> URI {
        do { return try URI(text) } catch { throw CloudEventError(.invalidURI, attribute: name, error.message) }
    }

    static func attributeTimestamp(_ name: String, _ text: String) throws(CloudEventError) -> Timestamp {
        do { return try Timestamp(text) } catch {
            throw CloudEventError(.invalidTimestamp, attribute: name, error.message)
        }
    }

    // MARK: Encoding

    /// Encodes one event as a JSON object. `additionalAttributes` are written after the event's own (the gateway
    /// adds `hadronpartition` and `hadronoffset` on reads).
    public static func encode(_ event: CloudEvent, additionalAttributes: [(String, AttributeValue)] = []) -> [UInt8] {
        var output = JSONWriter()
        write(event, additionalAttributes: additionalAttributes, to: &output)
        return output.bytes
    }

    /// Encodes events as a batch (a JSON array).
    public static func encodeBatch(_ events: [CloudEvent]) -> [UInt8] {
        var output = JSONWriter()
        output.append(0x5B)
        for (index, event) in events.enumerated() {
            if index > 0 { output.append(0x2C) }
            write(event, additionalAttributes: [], to: &output)
        }
        output.append(0x5D)
        return output.bytes
    }

    /// Appends one event object to `output`; the building block for batches written incrementally.
    public static func write(
        _ event: CloudEvent, additionalAttributes: [(String, AttributeValue)], to output: inout JSONWriter
    ) {
        output.append(0x7B)
        var first = true
        for (name, value) in event.attributes {
            output.member(name, first: &first)
            output.value(value)
        }
        for (name, value) in additionalAttributes {
            output.member(name, first: &first)
            output.value(value)
        }
        if let data = event.data {
            switch DataRepresentation(data: data, contentType: event.datacontenttype) {
            case .json:
                output.member("data", first: &first)
                output.raw(data)
            case .text:
                output.member("data", first: &first)
                output.string(utf8: data)
            case .base64:
                output.member("data_base64", first: &first)
                output.append(0x22)
                output.base64(data)
                output.append(0x22)
            }
        }
        output.append(0x7D)
    }
}

/// How `data` is written in the JSON format (DESIGN.md §3, first rule wins).
enum DataRepresentation {
    case json, text, base64

    init(data: [UInt8], contentType: String?) {
        guard let contentType else {
            // No content type: JSON if the bytes are JSON, else base64.
            self = JSONValidation.isJSONText(data) ? .json : .base64
            return
        }
        let mediaType = MediaTypeFacts(contentType)
        if let mediaType, mediaType.isJSON, mediaType.isUTF8, JSONValidation.isJSONText(data) {
            self = .json
        } else if let mediaType, mediaType.isTextual, mediaType.isUTF8, UTF8Validation.isValid(data) {
            self = .text
        } else {
            self = .base64
        }
    }
}

extension CloudEvent {
    /// Every String-typed attribute holds only characters the CloudEvents type system allows.
    static func validateStrings(
        id: String, type: String, subject: String?, datacontenttype: String?, extensions: [String: AttributeValue]
    ) throws(CloudEventError) {
        func check(_ name: String, _ value: String?) throws(CloudEventError) {
            guard let value, !UTF8Validation.isAllowedAttributeString(value) else { return }
            throw CloudEventError(
                .invalidAttributeType, attribute: name,
                "contains a control character or a Unicode noncharacter, which CloudEvents strings may not hold")
        }
        try check("id", id)
        try check("type", type)
        try check("subject", subject)
        try check("datacontenttype", datacontenttype)
        for (name, value) in extensions {
            if case .string(let text) = value { try check(name, text) }
        }
    }
}

/// `Array.withUnsafeBytes` with a typed error: the standard library's version erases it to `any Error`.
func withBytes<Result>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CloudEventError) -> Result
) throws(CloudEventError) -> Result {
    let outcome = array.withUnsafeBytes { bytes in Swift.Result { () throws(CloudEventError) in try body(bytes) } }
    return try outcome.get()
}
