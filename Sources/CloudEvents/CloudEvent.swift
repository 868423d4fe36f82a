/// A CloudEvent 1.0.2: the four required context attributes, the optional ones, extension attributes and data.
///
/// The struct holds values, not wire text: it is what every mode of every format decodes into and encodes from,
/// so that an event read in binary mode can be delivered in structured mode and back without loss.
/// Construction does not validate (storage decodes trusted bytes on a hot path); every decoder of untrusted input
/// calls ``validate()`` before it hands an event out.
public struct CloudEvent: Sendable, Hashable {
    /// The only specification version this library speaks.
    public static let specVersion = "1.0"

    /// Identifies the event; `source` + `id` is unique per distinct event. Non-empty.
    public var id: String
    /// The context in which the event happened. A non-empty URI-reference.
    public var source: URIReference
    /// The version of the CloudEvents specification; always `1.0` once validated.
    public var specversion: String
    /// The kind of occurrence, for example `com.example.order.created`. Non-empty.
    public var type: String
    /// The media type of ``data``. Absent means the JSON format's default (JSON) when data is present.
    public var datacontenttype: String?
    /// An absolute URI naming the schema ``data`` adheres to.
    public var dataschema: URI?
    /// The subject of the event within the context of the producer. Non-empty when present.
    public var subject: String?
    /// When the occurrence happened (RFC 3339), as the producer wrote it.
    public var time: Timestamp?
    /// Extension attributes by name (`[a-z0-9]+`). Their types are what the wire carried: strings in binary mode,
    /// the JSON type in structured mode.
    public var extensions: [String: AttributeValue]
    /// The event payload, byte for byte. `nil` means the event has no data.
    ///
    /// For JSON content types (and an absent content type) these are the UTF-8 bytes of the JSON text, so a JSON
    /// string payload keeps its quotes and `"data": null` is the four bytes `null`.
    public var data: [UInt8]?

    public init(
        id: String,
        source: URIReference,
        type: String,
        specversion: String = CloudEvent.specVersion,
        datacontenttype: String? = nil,
        dataschema: URI? = nil,
        subject: String? = nil,
        time: Timestamp? = nil,
        extensions: [String: AttributeValue] = [:],
        data: [UInt8]? = nil
    ) {
        self.id = id
        self.source = source
        self.specversion = specversion
        self.type = type
        self.datacontenttype = datacontenttype
        self.dataschema = dataschema
        self.subject = subject
        self.time = time
        self.extensions = extensions
        self.data = data
    }
}

extension CloudEvent {
    /// The names of the context attributes the specification defines; every other name is an extension.
    public static let contextAttributeNames: Set<String> = [
        "id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time",
    ]

    /// Every attribute that is present, context attributes first in specification order, then extensions sorted
    /// by name — a stable order for encoders that must produce identical bytes for identical events.
    public var attributes: [(name: String, value: AttributeValue)] {
        var result: [(name: String, value: AttributeValue)] = [
            ("specversion", .string(specversion)),
            ("id", .string(id)),
            ("source", .uriReference(source)),
            ("type", .string(type)),
        ]
        result.reserveCapacity(8 + extensions.count)
        if let datacontenttype { result.append(("datacontenttype", .string(datacontenttype))) }
        if let dataschema { result.append(("dataschema", .uri(dataschema))) }
        if let subject { result.append(("subject", .string(subject))) }
        if let time { result.append(("time", .timestamp(time))) }
        for name in extensions.keys.sorted() { result.append((name, extensions[name]!)) }
        return result
    }

    /// The value of any attribute by name, context attribute or extension.
    public subscript(attribute name: String) -> AttributeValue? {
        switch name {
        case "id": .string(id)
        case "source": .uriReference(source)
        case "specversion": .string(specversion)
        case "type": .string(type)
        case "datacontenttype": datacontenttype.map(AttributeValue.string)
        case "dataschema": dataschema.map(AttributeValue.uri)
        case "subject": subject.map(AttributeValue.string)
        case "time": time.map(AttributeValue.timestamp)
        default: extensions[name]
        }
    }

    /// Checks every rule of the specification that the type system does not already enforce.
    ///
    /// `URIReference`, `URI` and `Timestamp` values are valid by construction (unless built with `unchecked:`),
    /// so this checks the strings, the specification version, the media type and the extension names and types.
    public func validate() throws(CloudEventError) { try validate(assuming: []) }

    /// What a decoder established while reading an event, so that ``validate()`` need not establish it again.
    struct EstablishedFacts: OptionSet {
        let rawValue: UInt8
        /// Every String attribute (`id`, `type`, `subject`, `datacontenttype`, String extensions) is printable
        /// ASCII (0x20–0x7E), so it holds no control character and no noncharacter.
        static let printableASCIIStrings = EstablishedFacts(rawValue: 1 << 0)
        /// Every extension name passed ``ExtensionName/validate(_:)`` and every extension value is a String.
        static let validStringExtensions = EstablishedFacts(rawValue: 1 << 1)
        /// `datacontenttype`, if present, is a valid media type.
        static let validMediaType = EstablishedFacts(rawValue: 1 << 2)
    }

    /// ``validate()``, skipping the checks whose outcome `facts` already settles (they would pass). The order of
    /// the remaining checks, and so which error a bad event gets, is unchanged.
    func validate(assuming facts: EstablishedFacts) throws(CloudEventError) {
        try Self.validate(
            id: id, source: source, type: type, specversion: specversion, datacontenttype: datacontenttype,
            subject: subject, extensions: extensions, assuming: facts)
    }

    /// What a decoder checks of the parts it read before it builds the event: the static `validate(…assuming:)` below,
    /// without the checks reading settled (every String attribute read as plain printable ASCII; every extension a
    /// String with a checked name). Returns the parsed `datacontenttype`, which the decoder needs for the data.
    @inline(__always)
    static func validateDecoded(
        id: String, source: URIReference, type: String, specversion: String, datacontenttype: String?,
        subject: String?, extensions: [String: AttributeValue], allPrintableASCII: Bool, allStringExtensions: Bool
    ) throws(CloudEventError) -> MediaTypeFacts? {
        var established: EstablishedFacts = []
        if allPrintableASCII { established.insert(.printableASCIIStrings) }
        if allStringExtensions { established.insert(.validStringExtensions) }
        let mediaType = datacontenttype.flatMap { MediaTypeFacts($0) }
        if mediaType != nil { established.insert(.validMediaType) }
        try validate(
            id: id, source: source, type: type, specversion: specversion, datacontenttype: datacontenttype,
            subject: subject, extensions: extensions, assuming: established)
        return mediaType
    }

    /// The checks of ``validate(assuming:)`` over the parts of an event not yet built, so that a decoder can refuse
    /// a bad event before it builds (and copies) the struct. `dataschema` and `time` are valid by their types.
    @inline(__always)
    static func validate(
        id: String, source: URIReference, type: String, specversion: String, datacontenttype: String?,
        subject: String?, extensions: [String: AttributeValue], assuming facts: EstablishedFacts
    ) throws(CloudEventError) {
        guard specversion == CloudEvent.specVersion else {
            throw .init(.unsupportedSpecVersion, attribute: "specversion", "must be \"1.0\", got \"\(specversion)\"")
        }
        if id.isEmpty { throw .init(.emptyAttribute, attribute: "id", "must be a non-empty string") }
        if type.isEmpty { throw .init(.emptyAttribute, attribute: "type", "must be a non-empty string") }
        if source.text.isEmpty { throw .init(.emptyAttribute, attribute: "source", "must be a non-empty URI-reference") }
        if let subject, subject.isEmpty {
            throw .init(.emptyAttribute, attribute: "subject", "must be a non-empty string when present")
        }
        if !facts.contains(.printableASCIIStrings) {
            try validateStrings(id: id, type: type, subject: subject, datacontenttype: datacontenttype, extensions: extensions)
        }
        if !facts.contains(.validMediaType), let datacontenttype, !MediaType.isValid(datacontenttype) {
            throw .init(
                .invalidMediaType, attribute: "datacontenttype",
                "\"\(datacontenttype)\" is not a valid media type (type/subtype[; parameter=value])")
        }
        if facts.contains(.validStringExtensions) { return }
        for (name, value) in extensions {
            try ExtensionName.validate(name)
            if case .string = value { continue }
            if case .uriReference(let reference) = value, reference.text.isEmpty {
                throw .init(.emptyAttribute, attribute: name, "a URI-reference must not be empty")
            }
        }
    }
}

/// The rule for extension attribute names: lower-case ASCII letters and digits, nothing else.
enum ExtensionName {
    static func isValid(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            !bytes.isEmpty && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
        }
    }

    static func validate(_ name: String) throws(CloudEventError) {
        guard isValid(name) else {
            throw .init(
                .invalidAttributeName, attribute: name,
                "extension attribute names must consist of lower-case letters a-z and digits 0-9 only")
        }
        if name == "data" {
            throw .init(.invalidAttributeName, attribute: name, "\"data\" is a member of the JSON event format, not an attribute name")
        }
    }
}
