public import HTTPTypes

/// The CloudEvents HTTP protocol binding: binary, structured and batched mode, decoding requests and encoding
/// messages for delivery.
public enum HTTPBinding {
    /// How an HTTP message carries its event(s).
    public enum Mode: String, Sendable, Hashable {
        /// Attributes in `ce-` headers, data as the body.
        case binary
        /// One event as `application/cloudevents+json`.
        case structured
        /// Events as `application/cloudevents-batch+json`.
        case batch
    }

    /// A decoded request: its mode and its events (exactly one unless the mode is `batch`).
    public struct Message: Sendable, Hashable {
        public var mode: Mode
        public var events: [CloudEvent]
    }

    /// The mode of a message, from its Content-Type (matched case-insensitively, DESIGN.md §4).
    public static func mode(contentType: String?) throws(CloudEventError) -> Mode {
        guard let contentType, let facts = MediaTypeFacts(contentType) else { return .binary }
        switch facts.cloudEventsFormat {
        case .batch: return .batch
        case .structured: return .structured
        case .unsupported:
            throw CloudEventError(
                .unsupportedContentType,
                "\(MediaType(contentType)!.essence) is not supported; use application/cloudevents+json, "
                    + "application/cloudevents-batch+json or binary mode")
        case nil: return .binary
        }
    }

    /// Decodes a request in whichever mode its headers say. Every event returned is valid.
    public static func decode(fields: HTTPFields, body: [UInt8]) throws(CloudEventError) -> Message {
        let contentType = try singleContentType(fields)
        let mode = try mode(contentType: contentType)
        switch mode {
        case .binary:
            return Message(mode: mode, events: [try decodeBinary(fields: fields, body: body)])
        case .structured:
            let json = try Charset.transcodeToUTF8(body, charset: MediaType(contentType!)?.charset)
            return Message(mode: mode, events: [try JSONEventFormat.decode(json)])
        case .batch:
            let json = try Charset.transcodeToUTF8(body, charset: MediaType(contentType!)?.charset)
            return Message(mode: mode, events: try JSONEventFormat.decodeBatch(json))
        }
    }

    /// Decodes a binary-mode message: attributes from `ce-` headers, `datacontenttype` from Content-Type, data
    /// from the body (an empty body means no data).
    public static func decodeBinary(fields: HTTPFields, body: [UInt8]) throws(CloudEventError) -> CloudEvent {
        var id: String?
        var source: String?
        var specversion: String?
        var type: String?
        var dataschema: String?
        var subject: String?
        var time: String?
        var extensions: [String: AttributeValue] = [:]
        var sawAttribute = false
        var contentType: String?
        // Whether every String attribute was printable ASCII as read, which settles the attribute string check.
        var allPrintableASCII = true

        // One pass over the fields; no lookups by name, which would make HTTPFields build an index per request.
        // Fields are read by position, a part at a time: copying whole fields cost three retains and releases each.
        for position in fields.indices {
            let header = BinaryModeHeader(canonicalName: fields[position].name.canonicalName)
            let name: String
            switch header {
            case .unrelated:
                continue
            case .contentType:
                guard contentType == nil else { throw multipleContentTypes }
                let (value, isPrintableASCII) = HeaderValue.trimmedContentType(fields, at: position)
                contentType = value
                allPrintableASCII = allPrintableASCII && isPrintableASCII
                continue
            case .attribute(let attribute): name = attribute.rawValue
            case .extension(let extensionName, _): name = extensionName
            }
            sawAttribute = true
            let (value, isPrintableASCII) = try HeaderValue.decode(fields, at: position, attribute: name)
            allPrintableASCII = allPrintableASCII && isPrintableASCII
            func set(_ slot: inout String?) throws(CloudEventError) {
                guard slot == nil else {
                    throw CloudEventError(.duplicateMember, attribute: name, "the ce-\(name) header appears more than once")
                }
                slot = value
            }
            switch header {
            case .attribute(.id): try set(&id)
            case .attribute(.source): try set(&source)
            case .attribute(.specversion): try set(&specversion)
            case .attribute(.type): try set(&type)
            case .attribute(.dataschema): try set(&dataschema)
            case .attribute(.subject): try set(&subject)
            case .attribute(.time): try set(&time)
            case .attribute(.datacontenttype):
                throw CloudEventError(
                    .invalidAttributeName, attribute: name,
                    "binary mode carries datacontenttype in the Content-Type header, not in ce-datacontenttype")
            case .extension(_, let isValid):
                guard !name.isEmpty else {
                    throw CloudEventError(.invalidAttributeName, attribute: "ce-", "a ce- header needs an attribute name")
                }
                if !isValid { try ExtensionName.validate(name) }
                // Room for the extensions still to come, so the table is not rebuilt as it grows.
                if extensions.isEmpty { extensions = Dictionary(minimumCapacity: min(fields.endIndex - position, 8)) }
                guard extensions.updateValue(.string(value), forKey: name) == nil else {
                    throw CloudEventError(.duplicateMember, attribute: name, "the ce-\(name) header appears more than once")
                }
            case .unrelated, .contentType:
                break
            }
        }
        guard sawAttribute else {
            throw CloudEventError(
                .notACloudEvent,
                "the request is not a CloudEvent: it has neither a CloudEvents Content-Type "
                    + "(application/cloudevents+json, application/cloudevents-batch+json) nor ce- headers")
        }
        guard let specversion else {
            throw CloudEventError(.missingAttribute, attribute: "specversion", "is required (header ce-specversion)")
        }
        guard specversion == CloudEvent.specVersion else {
            throw CloudEventError(
                .unsupportedSpecVersion, attribute: "specversion", "must be \"1.0\", got \"\(specversion)\"")
        }
        guard let id else { throw CloudEventError(.missingAttribute, attribute: "id", "is required (header ce-id)") }
        guard let source else {
            throw CloudEventError(.missingAttribute, attribute: "source", "is required (header ce-source)")
        }
        guard let type else {
            throw CloudEventError(.missingAttribute, attribute: "type", "is required (header ce-type)")
        }
        // Every value is settled and checked before the event is built, and the parts are consumed into it: building
        // it early and then setting time, dataschema and data cost whole-struct copies (7 % of binary decode).
        let sourceReference = try JSONEventFormat.attributeURIReference("source", source)
        let schema = try dataschema.map { (text) throws(CloudEventError) in
            try JSONEventFormat.attributeURI("dataschema", text)
        }
        let timestamp = try time.map { (text) throws(CloudEventError) in
            try JSONEventFormat.attributeTimestamp("time", text)
        }
        // Extension names were checked as they were read, and binary mode makes every extension a String.
        let mediaType = try CloudEvent.validateDecoded(
            id: id, source: sourceReference, type: type, specversion: specversion, datacontenttype: contentType,
            subject: subject, extensions: extensions, allPrintableASCII: allPrintableASCII, allStringExtensions: true)
        if !body.isEmpty, let contentType, let mediaType, mediaType.isJSON, mediaType.isUTF8,
            !JSONValidation.isJSONText(body)
        {
            throw CloudEventError(
                .invalidData, attribute: "data", "the body is declared as JSON (\(contentType)) but is not valid JSON")
        }
        return CloudEvent(
            id: consume id, source: consume sourceReference, type: consume type, specversion: consume specversion,
            datacontenttype: consume contentType, dataschema: consume schema, subject: consume subject,
            time: consume timestamp, extensions: consume extensions, data: body.isEmpty ? nil : body)
    }

    /// Encodes an event in binary mode. Use ``encodeForDelivery(_:)`` unless binary mode is required: an event
    /// whose data is itself a CloudEvent cannot be told apart from a structured message in binary mode.
    public static func encodeBinary(_ event: CloudEvent) -> (fields: HTTPFields, body: [UInt8]) {
        var fields = HTTPFields()
        for (name, value) in event.attributes where name != "datacontenttype" {
            fields.append(HTTPField(name: HTTPField.Name("ce-" + name)!, value: HeaderValue.encode(value.canonicalString)))
        }
        if let contentType = event.datacontenttype { fields[.contentType] = contentType }
        return (fields, event.data ?? [])
    }

    /// Encodes an event for delivery: binary mode, the default of push subscriptions and exchange sinks, unless the
    /// event's own `datacontenttype` is a CloudEvents format — as a binary-mode Content-Type that would make the
    /// receiver read the data as the event — in which case structured mode.
    public static func encodeForDelivery(_ event: CloudEvent) -> (fields: HTTPFields, body: [UInt8]) {
        if let contentType = event.datacontenttype, MediaTypeFacts(contentType)?.cloudEventsFormat != nil {
            return encodeStructured(event)
        }
        return encodeBinary(event)
    }

    /// Encodes an event in structured mode.
    public static func encodeStructured(_ event: CloudEvent) -> (fields: HTTPFields, body: [UInt8]) {
        var fields = HTTPFields()
        fields[.contentType] = JSONEventFormat.mediaType + "; charset=utf-8"
        return (fields, JSONEventFormat.encode(event))
    }

    /// Encodes events in batched mode.
    public static func encodeBatch(_ events: [CloudEvent]) -> (fields: HTTPFields, body: [UInt8]) {
        var fields = HTTPFields()
        fields[.contentType] = JSONEventFormat.batchMediaType + "; charset=utf-8"
        return (fields, JSONEventFormat.encodeBatch(events))
    }

    /// The Content-Type, refusing a message that carries two different ones.
    private static func singleContentType(_ fields: HTTPFields) throws(CloudEventError) -> String? {
        var contentType: String?
        for field in fields where field.name == .contentType {
            guard contentType == nil else { throw multipleContentTypes }
            contentType = field.value
        }
        return contentType
    }

    private static let multipleContentTypes = CloudEventError(
        .invalidMediaType, attribute: "datacontenttype", "the request has more than one Content-Type header")
}

extension String {
    func trimmingWhitespace() -> String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
            let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        else { return "" }
        return String(self[first...last])
    }
}
