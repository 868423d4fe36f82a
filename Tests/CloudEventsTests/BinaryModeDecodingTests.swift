import HTTPTypes
import Testing

@testable import CloudEvents

/// `decodeBinary` reads names and values in place and shares the fields' strings; it must decode exactly what the
/// straightforward decoder below (the implementation it replaced) decodes, and refuse with the same error.
@Suite("Binary-mode decoding agrees with the reference decoder")
struct BinaryModeDecodingTests {
    @Test func sharesNothingObservableWithTheFields() throws {
        var headers = binaryHeaders([("ce-ext", "value"), ("content-type", "application/json")])
        let event = try HTTPBinding.decodeBinary(fields: headers, body: Array("{}".utf8))
        headers[0] = HTTPField(name: HTTPField.Name("ce-ext")!, value: "changed")
        #expect(event.extensions["ext"] == .string("value") && event.datacontenttype == "application/json")
    }

    @Test(arguments: [
        ("ce-id", " spaced\t", "spaced"), ("ce-id", "plain", "plain"), ("content-type", "\ttext/plain ", "text/plain"),
        ("content-type", "text/plain; x=\"%41\"", "text/plain; x=\"%41\""),
    ])
    func trimsOnlySurroundingWhitespace(_ name: String, _ raw: String, _ expected: String) throws {
        for field in [
            HTTPField(name: HTTPField.Name(name)!, value: raw),
            HTTPField(name: HTTPField.Name(name)!, lenientValue: Array(raw.utf8)),
        ] {
            var headers = binaryHeaders().filter { $0.name.canonicalName != name }
            headers.append(field)
            let event = try HTTPBinding.decodeBinary(fields: headers, body: [])
            #expect((name == "ce-id" ? event.id : event.datacontenttype) == expected)
        }
    }

    /// A byte that stops the word-at-a-time scan, at every position of values around the eight-byte word size.
    @Test func agreesAroundWordBoundaries() {
        let specials: [[UInt8]] = [[0x01], [0x09], [0x1F], [0x20], [0x7E], [0x7F], [0x22], [0x25], [0x25, 0x34, 0x31], [0xC3, 0xA9], [0xFF]]
        for length in 0..<20 {
            for position in 0...length {
                for special in specials {
                    var value = Array(repeating: UInt8(ascii: "x"), count: length)
                    value.insert(contentsOf: special, at: position)
                    for name in ["ce-ext", "ce-id", "content-type"] {
                        let headers = binaryHeaders([(name == "content-type" ? "content-type" : "ce-x", "y")])
                        var fields = HTTPFields(headers.filter { $0.name.canonicalName != name })
                        fields.append(HTTPField(name: HTTPField.Name(name)!, lenientValue: value))
                        let body = Array("{}".utf8)
                        let expected = Result { () throws(CloudEventError) in try Self.referenceDecodeBinary(fields: fields, body: body) }
                        let actual = Result { () throws(CloudEventError) in try HTTPBinding.decodeBinary(fields: fields, body: body) }
                        #expect(actual == expected, "\(name): \(value)")
                    }
                }
            }
        }
    }

    @Test func agreesOnGeneratedRequests() {
        var generator = JSONTextGenerator(seed: 0xB1_4A27)
        var outcomes: [String: Int] = [:]
        for _ in 0..<20_000 {
            let (headers, body) = Self.request(&generator)
            let expected = Result { () throws(CloudEventError) in try Self.referenceDecodeBinary(fields: headers, body: body) }
            let actual = Result { () throws(CloudEventError) in try HTTPBinding.decodeBinary(fields: headers, body: body) }
            #expect(actual == expected, "\(headers)")
            switch expected {
            case .success: outcomes["success", default: 0] += 1
            case .failure(let error): outcomes[error.code.description, default: 0] += 1
            }
        }
        // Success and every kind of refusal the generator can provoke must all have been seen.
        for outcome in [
            "success", "invalidHeaderValue", "duplicateMember", "invalidAttributeName", "missingAttribute",
            "unsupportedSpecVersion", "invalidURI", "invalidTimestamp", "invalidMediaType", "invalidAttributeType",
            "emptyAttribute", "invalidData", "notACloudEvent",
        ] {
            #expect(outcomes[outcome, default: 0] > 20, Comment(rawValue: "\(outcome): \(outcomes)"))
        }
    }

    /// A request built from the pieces binary mode cares about, each field a string or raw bytes (as servers and
    /// clients build them), most of them valid so that the checks late in decoding are reached too.
    static func request(_ generator: inout JSONTextGenerator) -> (HTTPFields, [UInt8]) {
        let values: [String: [String]] = [
            "ce-specversion": ["1.0", "1.0", "1.0", " 1.0\t", "0.3", "\"1.0\"", "1%2E0"],
            "ce-id": ["0d2b1c4e-6f7a-4b8c", "abc", " abc\t", "", "a%0Ab", "caf%C3%A9", "\"q\\\"x\"", "%zz", "a\tb", "é"],
            "ce-source": ["/src", "https://shop.example.com/orders", "a b", ":bad", "%41/x", "", "http://[::1]/", "x%zz"],
            "ce-type": ["com.example.order.created", "t", "", "t%00", "\u{7F}t"],
            "ce-time": ["2026-11-21T10:00:00.123456Z", "2026-11-21T10:00:60Z", "2026-02-29T00:00:00Z", "yesterday"],
            "ce-subject": ["sub", "", "s%C3%28"],
            "ce-dataschema": ["https://x/s", "/relative", "%"],
            "ce-datacontenttype": ["application/json"],
            "ce-tenant": ["acme", "  acme ", "a%20b", "%EF%BF%BE", "\"unterminated"],
            "ce-priority": ["3", "%33", ""],
            "ce-": ["x"], "ce-bad_name": ["x"], "ce-data": ["x"], "ce-averyveryverylongextensionname": ["long"],
            "CE-ID": ["upper"], "Ce-Tenant": ["mixed"],
            "content-type": [
                "application/json", "application/json", " application/json ", "text/plain", "garbage",
                "application/json; charset=latin1", "Application/JSON; charset=\"utf-8\"", "application/vnd.x+json",
                "text/plain; q=\"a\\\"b\"", "a\u{01}b/c",
            ],
            "x-other": ["ignored"],
        ]
        let required = ["ce-specversion", "ce-id", "ce-source", "ce-type"]
        let optional = ["ce-time", "ce-subject", "ce-dataschema", "ce-tenant", "ce-priority", "content-type", "x-other"]
        let unusual = ["ce-", "ce-bad_name", "ce-data", "ce-datacontenttype", "ce-averyveryverylongextensionname", "CE-ID", "Ce-Tenant"]
        var names: [String]
        if generator.next(25) == 0 {
            names = ["content-type", "x-other"].filter { _ in generator.next(2) == 0 }  // not a CloudEvent
        } else {
            names = required.filter { _ in generator.next(20) > 0 }
            for _ in 0..<generator.next(5) { names.append(optional[generator.next(optional.count)]) }
            if generator.next(8) == 0 { names.append(unusual[generator.next(unusual.count)]) }
        }
        var headers = HTTPFields()
        for index in 0..<names.count {
            let swapped = generator.next(names.count)
            (names[index], names[swapped]) = (names[swapped], names[index])
        }
        for name in names {
            // The first value of each list is valid; the others are tried a quarter of the time.
            let choices = values[name]!
            var value = Array(choices[generator.next(4) > 0 ? 0 : generator.next(choices.count)].utf8)
            if generator.next(20) == 0 { value.insert([0xFF, 0xC3, 0x80][generator.next(3)], at: generator.next(value.count + 1)) }
            let fieldName = HTTPField.Name(name)!
            headers.append(
                generator.next(2) == 0
                    ? HTTPField(name: fieldName, value: String(decoding: value, as: UTF8.self))
                    : HTTPField(name: fieldName, lenientValue: value))
        }
        let bodies = [
            "", "", "{}", "{nope", "\"\\q\"", "[1, 2.5e3, null]", "hi", "{\"note\":\"" + String(repeating: "x", count: 1000) + "\"}",
        ]
        return (headers, Array(bodies[generator.next(bodies.count)].utf8))
    }

    /// The binary-mode decoder as it was before it read names and values in place: the definition of its behaviour.
    static func referenceDecodeBinary(fields: HTTPFields, body: [UInt8]) throws(CloudEventError) -> CloudEvent {
        let multipleContentTypes = CloudEventError(
            .invalidMediaType, attribute: "datacontenttype", "the request has more than one Content-Type header")
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
        for field in fields {
            if field.name == .contentType {
                guard contentType == nil else { throw multipleContentTypes }
                contentType = field.value.trimmingWhitespace()
                continue
            }
            let header = field.name.canonicalName.utf8
            guard header.count >= 3, header[header.startIndex] == 0x63, header[header.index(after: header.startIndex)] == 0x65,
                header[header.index(header.startIndex, offsetBy: 2)] == 0x2D
            else { continue }
            sawAttribute = true
            let name = String(decoding: header.dropFirst(3), as: UTF8.self)
            let value = try field.withUnsafeBytesOfValue { (raw) throws(CloudEventError) -> String in
                try HeaderValue.decode(UnsafeRawBufferPointer(raw), attribute: name)
            }
            func set(_ slot: inout String?) throws(CloudEventError) {
                guard slot == nil else {
                    throw CloudEventError(.duplicateMember, attribute: name, "the ce-\(name) header appears more than once")
                }
                slot = value
            }
            switch name {
            case "id": try set(&id)
            case "source": try set(&source)
            case "specversion": try set(&specversion)
            case "type": try set(&type)
            case "dataschema": try set(&dataschema)
            case "subject": try set(&subject)
            case "time": try set(&time)
            case "datacontenttype":
                throw CloudEventError(
                    .invalidAttributeName, attribute: name,
                    "binary mode carries datacontenttype in the Content-Type header, not in ce-datacontenttype")
            default:
                guard !name.isEmpty else {
                    throw CloudEventError(.invalidAttributeName, attribute: "ce-", "a ce- header needs an attribute name")
                }
                try ExtensionName.validate(name)
                guard extensions.updateValue(.string(value), forKey: name) == nil else {
                    throw CloudEventError(.duplicateMember, attribute: name, "the ce-\(name) header appears more than once")
                }
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
        var event = CloudEvent(
            id: id, source: try JSONEventFormat.attributeURIReference("source", source), type: type,
            specversion: specversion, datacontenttype: contentType, subject: subject, extensions: extensions)
        if let dataschema { event.dataschema = try JSONEventFormat.attributeURI("dataschema", dataschema) }
        if let time { event.time = try JSONEventFormat.attributeTimestamp("time", time) }
        try event.validate()
        if !body.isEmpty {
            if let contentType, contentType.utf8.contains(where: { $0 == 0x6E || $0 == 0x4E }),
                let mediaType = MediaType(contentType), mediaType.isJSON, mediaType.isUTF8,
                !JSONValidationTests.readerVerdict(body)
            {
                throw CloudEventError(
                    .invalidData, attribute: "data",
                    "the body is declared as JSON (\(contentType)) but is not valid JSON")
            }
            event.data = body
        }
        return event
    }
}
