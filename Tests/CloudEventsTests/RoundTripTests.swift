import CloudEvents
import HTTPTypes
import Testing

/// Events covering every attribute type and every data representation rule.
let sampleEvents: [CloudEvent] = {
    let source = try! URIReference("https://example.com/src?x=1#f")
    var events: [CloudEvent] = [
        CloudEvent(id: "1", source: source, type: "t"),
        CloudEvent(id: "2", source: source, type: "t", datacontenttype: "application/json", data: Array(#"{"a":[1,2,{"b":null}]}"#.utf8)),
        CloudEvent(id: "3", source: source, type: "t", datacontenttype: "text/plain; charset=utf-8", data: Array("héllo\n\"q\"".utf8)),
        CloudEvent(id: "4", source: source, type: "t", datacontenttype: "application/octet-stream", data: [0, 1, 2, 0xFF, 0xFE]),
        CloudEvent(id: "5", source: source, type: "t", data: Array("42".utf8)),
        CloudEvent(id: "6", source: source, type: "t", data: Array("not json".utf8)),
        CloudEvent(id: "7", source: source, type: "t", datacontenttype: "text/plain; charset=iso-8859-1", data: [0x68, 0xE9]),
        CloudEvent(id: "8", source: source, type: "t", datacontenttype: "application/json", data: Array("null".utf8)),
        CloudEvent(id: "9", source: source, type: "t", datacontenttype: "application/xml", data: Array("<a>é</a>".utf8)),
        CloudEvent(id: "10", source: source, type: "t", datacontenttype: "application/json", data: Array(#""a string""#.utf8)),
        CloudEvent(id: "11", source: source, type: "t", datacontenttype: "text/plain", data: [0xC3, 0x28]),
    ]
    var full = CloudEvent(
        id: "id with spaces, ünïcode \"quotes\" and %", source: try! URIReference("/relative/ref"), type: "com.example.é",
        datacontenttype: "application/vnd.example+json", dataschema: try! URI("urn:x:schema"), subject: "subj",
        time: try! Timestamp("2026-11-21T10:00:00.120+01:00"),
        extensions: ["str": .string("v ü %20"), "empty": .string(""), "verylongextensionname1234": .string("x")],
        data: Array(#"{"k":"v"}"#.utf8))
    events.append(full)
    full.id = "13"
    full.extensions = ["int": .integer(-7), "bool": .boolean(true), "max": .integer(.max)]
    events.append(full)
    return events
}()

@Suite struct RoundTripTests {
    @Test(arguments: sampleEvents)
    func structuredModeRoundTripsExactly(_ event: CloudEvent) throws {
        let (fields, body) = HTTPBinding.encodeStructured(event)
        let decoded = try #require(try HTTPBinding.decode(fields: fields, body: body).events.first)
        #expect(decoded == event)
        // And the encoding is stable: the second encode produces identical bytes.
        #expect(HTTPBinding.encodeStructured(decoded).body == body)
    }

    @Test(arguments: sampleEvents)
    func binaryModeRoundTripsExactly(_ event: CloudEvent) throws {
        // Binary mode carries extensions as strings: compare against the event with string-typed extensions.
        var expected = event
        expected.extensions = event.extensions.mapValues { .string($0.canonicalString) }
        let (fields, body) = HTTPBinding.encodeBinary(expected)
        for field in fields { #expect(field.value.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E || $0 == 0x20 }) }
        let decoded = try #require(try HTTPBinding.decode(fields: fields, body: body).events.first)
        #expect(decoded == expected)
        let (fields2, body2) = HTTPBinding.encodeBinary(decoded)
        #expect(fields2 == fields && body2 == body)
    }

    @Test func deliveryUsesStructuredModeWhenBinaryWouldBeMisread() throws {
        let inner = JSONEventFormat.encode(sampleEvents[0])
        let event = CloudEvent(
            id: "x", source: try URIReference("/s"), type: "t", datacontenttype: "application/cloudevents+json", data: inner)
        let (fields, body) = HTTPBinding.encodeForDelivery(event)
        let message = try HTTPBinding.decode(fields: fields, body: body)
        #expect(message.mode == .structured && message.events == [event])
        #expect(try HTTPBinding.decode(fields: HTTPBinding.encodeForDelivery(sampleEvents[1]).fields, body: sampleEvents[1].data!).mode == .binary)
    }

    @Test func batchModeRoundTripsExactly() throws {
        let (fields, body) = HTTPBinding.encodeBatch(sampleEvents)
        let message = try HTTPBinding.decode(fields: fields, body: body)
        #expect(message.mode == .batch && message.events == sampleEvents)
        #expect(HTTPBinding.encodeBatch(message.events).body == body)
    }

    @Test func structuredDecodeEncodeKeepsTypesAndTimeText() throws {
        let json = minimal + #","time":"2026-11-21T10:00:00.100-00:00","n":7,"b":false,"s":"7"}"#
        let event = try structured(json)
        let again = try JSONEventFormat.decode(JSONEventFormat.encode(event))
        #expect(again == event)
        #expect(again.extensions["n"] == .integer(7) && again.extensions["s"] == .string("7"))
        #expect(again.time?.text == "2026-11-21T10:00:00.100-00:00")
    }
}

@Suite struct DataRepresentationTests {
    /// The JSON member an event's data is written as, and its text.
    func dataMember(_ event: CloudEvent) throws -> (String, String)? {
        let json = String(decoding: JSONEventFormat.encode(event), as: UTF8.self)
        for name in ["\"data_base64\":", "\"data\":"] {
            if let range = json.range(of: name) {
                return (String(name.dropFirst().dropLast(2)), String(json[range.upperBound...].dropLast()))
            }
        }
        return nil
    }

    @Test func followsTheRulesInOrder() throws {
        let s = try URIReference("/s")
        func event(_ type: String?, _ data: String) -> CloudEvent {
            CloudEvent(id: "1", source: s, type: "t", datacontenttype: type, data: Array(data.utf8))
        }
        // 1. JSON types: the stored JSON text verbatim.
        #expect(try dataMember(event("application/json", #"{"a": 1}"#))! == ("data", #"{"a": 1}"#))
        #expect(try dataMember(event("TEXT/JSON", "[1]"))! == ("data", "[1]"))
        #expect(try dataMember(event("application/vnd.api+json", "true"))! == ("data", "true"))
        // 2. No content type: JSON when the bytes are JSON, else base64.
        #expect(try dataMember(event(nil, #"{"a":1}"#))! == ("data", #"{"a":1}"#))
        #expect(try dataMember(event(nil, "plain"))! == ("data_base64", #""cGxhaW4=""#))
        // 3. Textual types in UTF-8: a string.
        #expect(try dataMember(event("text/plain", "a\"b"))! == ("data", #""a\"b""#))
        #expect(try dataMember(event("application/atom+xml", "<x/>"))! == ("data", #""<x/>""#))
        #expect(try dataMember(event("text/csv; charset=UTF-8", "a,b"))! == ("data", #""a,b""#))
        // 4. Everything else, other charsets included: base64, never transcoded.
        #expect(try dataMember(event("text/plain; charset=iso-8859-1", "ab"))! == ("data_base64", #""YWI=""#))
        #expect(try dataMember(event("application/octet-stream", "ab"))! == ("data_base64", #""YWI=""#))
        #expect(try dataMember(event("image/png", "ab"))! == ("data_base64", #""YWI=""#))
        // JSON declared but not JSON (possible via data_base64): base64, so the output stays valid JSON.
        #expect(try dataMember(event("application/json", "{nope"))! == ("data_base64", #""e25vcGU=""#))
    }
}
