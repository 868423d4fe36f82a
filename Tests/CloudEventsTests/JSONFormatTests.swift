import CloudEvents
import Foundation
import Testing

@Suite struct JSONFormatDecodingTests {
    @Test func decodesEveryContextAttribute() throws {
        let event = try structured(
            #"{"specversion":"1.0","id":"abc","source":"https://example.com/src","type":"com.example.t","#
                + #""datacontenttype":"text/plain","dataschema":"https://example.com/schema","subject":"s","#
                + #""time":"2026-11-21T10:00:00.5+01:00","data":"hello"}"#)
        #expect(event.id == "abc")
        #expect(event.source.text == "https://example.com/src")
        #expect(event.type == "com.example.t")
        #expect(event.datacontenttype == "text/plain")
        #expect(event.dataschema?.text == "https://example.com/schema")
        #expect(event.subject == "s")
        #expect(event.time?.text == "2026-11-21T10:00:00.5+01:00")
        #expect(event.data == Array("hello".utf8))
        #expect(event.extensions.isEmpty)
    }

    @Test(arguments: ["id", "source", "specversion", "type"])
    func refusesAMissingRequiredAttribute(_ name: String) {
        var members = ["\"specversion\":\"1.0\"", "\"id\":\"1\"", "\"source\":\"/s\"", "\"type\":\"t\""]
        members.removeAll { $0.hasPrefix("\"\(name)\"") }
        expectError(.missingAttribute, attribute: name) { _ = try structured("{" + members.joined(separator: ",") + "}") }
    }

    @Test(arguments: ["id", "source", "type"])
    func nullMeansAbsent(_ name: String) {
        expectError(.missingAttribute, attribute: name) {
            _ = try structured(minimal.replacingOccurrences(of: "\"\(name)\":\"", with: "\"x\(name)\":\"") + ",\"\(name)\":null}")
        }
    }

    @Test func nullOptionalAttributesAndExtensionsAreAbsent() throws {
        let event = try structured(minimal + #","subject":null,"time":null,"ext":null,"data_base64":null}"#)
        #expect(event.subject == nil && event.time == nil && event.extensions.isEmpty && event.data == nil)
    }

    @Test(arguments: ["0.3", "1.1", "1", ""])
    func refusesAnySpecVersionButOnePointZero(_ version: String) {
        expectError(.unsupportedSpecVersion, attribute: "specversion") {
            _ = try structured(#"{"specversion":"\#(version)","id":"1","source":"/s","type":"t"}"#)
        }
    }

    @Test(arguments: ["id", "type", "subject"])
    func refusesEmptyStrings(_ name: String) {
        expectError(.emptyAttribute, attribute: name) {
            _ = try structured(minimal.replacingOccurrences(of: "\"\(name)\":", with: "\"x\(name)\":") + ",\"\(name)\":\"\"}")
        }
    }

    @Test func refusesAnEmptySource() {
        expectError(.emptyAttribute, attribute: "source") {
            _ = try structured(#"{"specversion":"1.0","id":"1","source":"","type":"t"}"#)
        }
    }

    @Test(arguments: ["has space", "%zz", "http://[::1", ":no-scheme", "ä"])
    func refusesASourceThatIsNotAURIReference(_ source: String) {
        expectError(.invalidURI, attribute: "source") {
            _ = try structured(#"{"specversion":"1.0","id":"1","source":"\#(source)","type":"t"}"#)
        }
    }

    @Test(arguments: ["/relative", "relative/path", "https://example.com", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "mailto:a@example.com", "//host:8080/p?q=1#f", "http://[2001:db8::7]/c=GB?objectClass?one", "#frag", "."])
    func acceptsURIReferences(_ source: String) throws {
        let event = try structured(#"{"specversion":"1.0","id":"1","source":"\#(source)","type":"t"}"#)
        #expect(event.source.text == source)
    }

    @Test func dataschemaMustBeAbsolute() throws {
        expectError(.invalidURI, attribute: "dataschema") { _ = try structured(minimal + #","dataschema":"/relative"}"#) }
        #expect(try structured(minimal + #","dataschema":"urn:schema:1"}"#).dataschema?.text == "urn:schema:1")
    }

    @Test(arguments: [
        "2026-11-21T10:00:60Z", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-21 10:00:00Z",
        "2026-11-21T10:00:00", "2026-11-21T24:00:00Z", "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00+0100",
        "26-11-21T10:00:00Z", "2026-11-21T10:00:00+24:00", "not a time", "",
    ])
    func refusesTimesThatAreNotRFC3339(_ time: String) {
        expectError(.invalidTimestamp, attribute: "time") { _ = try structured(minimal + #","time":"\#(time)"}"#) }
    }

    @Test(arguments: [
        "2026-11-21T10:00:00Z", "2024-02-29T23:59:59.999999999Z", "2026-11-21t10:00:00z", "1985-04-12T23:20:50.52Z",
        "1996-12-19T16:39:57-08:00", "0001-01-01T00:00:00+00:00", "2026-11-21T10:00:00.123456789123-05:30",
    ])
    func keepsRFC3339TimesAsWritten(_ time: String) throws {
        #expect(try structured(minimal + #","time":"\#(time)"}"#).time?.text == time)
    }

    @Test func extensionsKeepTheirJSONType() throws {
        let event = try structured(minimal + #","str":"v","num":-42,"flag":true,"off":false,"zero":0,"empty":""}"#)
        #expect(event.extensions["str"] == .string("v"))
        #expect(event.extensions["num"] == .integer(-42))
        #expect(event.extensions["flag"] == .boolean(true))
        #expect(event.extensions["off"] == .boolean(false))
        #expect(event.extensions["zero"] == .integer(0))
        #expect(event.extensions["empty"] == .string(""))
    }

    @Test func integersAreThirtyTwoBitSigned() throws {
        #expect(try structured(minimal + #","n":2147483647}"#).extensions["n"] == .integer(.max))
        #expect(try structured(minimal + #","n":-2147483648}"#).extensions["n"] == .integer(.min))
        expectError(.invalidInteger, attribute: "n") { _ = try structured(minimal + #","n":2147483648}"#) }
        expectError(.invalidInteger, attribute: "n") { _ = try structured(minimal + #","n":-2147483649}"#) }
    }

    @Test(arguments: [#""n":1.5"#, #""n":1e3"#, #""n":1.0"#, #""n":{"a":1}"#, #""n":[1]"#, #""n":[]"#])
    func refusesFloatsObjectsAndArraysAsAttributes(_ member: String) {
        expectError(.invalidAttributeType, attribute: "n") { _ = try structured(minimal + "," + member + "}") }
    }

    @Test(arguments: [#""id":1"#, #""id":true"#, #""source":{}"#, #""type":["t"]"#, #""time":1234"#])
    func contextAttributesMustBeStrings(_ member: String) {
        let name = String(member.dropFirst().prefix { $0 != "\"" })
        let base = minimal.replacingOccurrences(of: "\"\(name)\":", with: "\"x\(name)\":")
        expectError(.invalidAttributeType, attribute: name) { _ = try structured(base + "," + member + "}") }
    }

    @Test(arguments: ["UPPER", "with-dash", "under_score", "dot.ted", "ünï"])
    func refusesInvalidExtensionNames(_ name: String) {
        expectError(.invalidAttributeName, attribute: name) { _ = try structured(minimal + #","\#(name)":"v"}"#) }
    }

    @Test func acceptsLongExtensionNames() throws {
        let name = String(repeating: "a1", count: 20)
        #expect(try structured(minimal + #","\#(name)":"v"}"#).extensions[name] == .string("v"))
    }

    @Test(arguments: [#""id":"2""#, #""ext":"a","ext":"b""#, #""data":1,"data":2"#, #""time":null,"time":null"#])
    func refusesDuplicateMembers(_ members: String) {
        expectError(.duplicateMember) { _ = try structured(minimal + "," + members + "}") }
    }

    @Test func refusesDataAndDataBase64Together() {
        expectError(.conflictingData) { _ = try structured(minimal + #","data":"x","data_base64":"eA=="}"#) }
        expectError(.conflictingData) { _ = try structured(minimal + #","data":null,"data_base64":"eA=="}"#) }
    }

    @Test func dataBase64DecodesToBytes() throws {
        #expect(try structured(minimal + #","data_base64":"AAEC/w=="}"#).data == [0, 1, 2, 255])
        #expect(try structured(minimal + #","data_base64":"AAEC/w"}"#).data == [0, 1, 2, 255])
        #expect(try structured(minimal + #","data_base64":""}"#).data == [])
        expectError(.invalidBase64, attribute: "data_base64") { _ = try structured(minimal + #","data_base64":"*!"}"#) }
        expectError(.invalidAttributeType, attribute: "data_base64") {
            _ = try structured(minimal + #","data_base64":12}"#)
        }
    }

    @Test(arguments: [nil, "application/json", "text/json", "application/cloudevents+json", "Application/JSON; charset=utf-8"])
    func jsonDataIsKeptVerbatim(_ contentType: String?) throws {
        let prefix = contentType.map { minimal + #","datacontenttype":"\#($0)""# } ?? minimal
        let object = #"{ "b" : [1, 2.5e3, "x\u00e9"], "a": null }"#
        #expect(try structured(prefix + #","data":"# + object + "}").data == Array(object.utf8))
        // A JSON string stays a JSON string: quotes and escapes kept, never parsed again.
        #expect(try structured(prefix + #","data":"{\"not\":\"parsed\"}"}"#).data == Array(#""{\"not\":\"parsed\"}""#.utf8))
        // "data": null is explicit null data, not absent data.
        #expect(try structured(prefix + #","data":null}"#).data == Array("null".utf8))
        #expect(try structured(prefix + #","data":0}"#).data == Array("0".utf8))
    }

    @Test func textDataIsTheStringsCharacters() throws {
        let event = try structured(minimal + #","datacontenttype":"text/plain","data":"line\nnext \u00e9 \"q\""}"#)
        #expect(event.data == Array("line\nnext é \"q\"".utf8))
        let xml = try structured(minimal + #","datacontenttype":"application/xml","data":"<a/>"}"#)
        #expect(xml.data == Array("<a/>".utf8))
    }

    @Test(arguments: [
        "", "{", "[]", "null", #"{"specversion":"1.0",}"#, minimal + ",}", minimal + "} x", minimal + ",\"n\":01}",
        minimal + ",\"n\":-}", minimal + ",\"s\":\"a\tb\"}", minimal + ",\"s\":\"\\x\"}", minimal + ",\"data\":[1,]}",
        minimal + ",\"data\":{\"a\" 1}}", minimal + ",\"data\":tru}", minimal + ",\"data\":[1}", minimal,
    ])
    func refusesMalformedJSON(_ json: String) {
        do throws(CloudEventError) {
            _ = try structured(json)
            Issue.record("accepted malformed JSON \(json)")
        } catch {
            #expect(error.code == .invalidJSON || error.code == .invalidAttributeType)
        }
    }

    @Test func refusesInvalidUTF8AndLoneSurrogates() {
        expectError(.invalidJSON) { _ = try JSONEventFormat.decode(Array(minimal.utf8) + Array(",\"s\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)) }
        expectError(.invalidJSON) { _ = try structured(minimal + #","s":"\ud800"}"#) }
        expectError(.invalidJSON) { _ = try structured(minimal + #","s":"\udc00\ud800"}"#) }
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let event = try structured(minimal + #","s":"\ud83d\ude00 \u00E9 \/ \\ \"","datacontenttype":"text/plain","data":"\b\f\n\r\t"}"#)
        #expect(event.extensions["s"] == .string("😀 é / \\ \""))
        #expect(event.data == [0x08, 0x0C, 0x0A, 0x0D, 0x09])
    }

    @Test func refusesControlCharactersInAttributeStrings() {
        expectError(.invalidAttributeType, attribute: "id") {
            _ = try structured(#"{"specversion":"1.0","id":"a\nb","source":"/s","type":"t"}"#)
        }
        expectError(.invalidAttributeType, attribute: "ext") { _ = try structured(minimal + #","ext":"\u0085"}"#) }
        expectError(.invalidAttributeType, attribute: "ext") { _ = try structured(minimal + #","ext":"\ufffe"}"#) }
    }

    /// The decoder trusts strings it read as plain printable ASCII; anything else must still be checked.
    @Test func refusesUnescapedNonASCIIControlCharacters() {
        expectError(.invalidAttributeType, attribute: "type") {
            _ = try structured("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"a\u{85}b\"}")
        }
        expectError(.invalidAttributeType, attribute: "ext") { _ = try structured(minimal + ",\"ext\":\"\u{FFFE}\"}") }
    }

    /// Member names are matched on their bytes; one written with escapes means the same member.
    @Test func memberNamesMayBeWrittenWithEscapes() throws {
        let event = try structured(
            #"{"spec\u0076ersion":"1.0","\u0069d":"e","source":"/s","typ\u0065":"t","dat\u0061":"x","#
                + #""data\u0063ontenttype":"text/plain","\u0065xt":"v"}"#)
        #expect(event.id == "e" && event.type == "t" && event.data == Array("x".utf8))
        #expect(event.extensions["ext"] == .string("v"))
        expectError(.duplicateMember, attribute: "id") { _ = try structured(minimal + #","\u0069d":"2"}"#) }
    }

    @Test func refusesAnInvalidMediaType() {
        expectError(.invalidMediaType, attribute: "datacontenttype") {
            _ = try structured(minimal + #","datacontenttype":"not a media type"}"#)
        }
    }

    @Test func toleratesAByteOrderMarkAndWhitespace() throws {
        let event = try JSONEventFormat.decode([0xEF, 0xBB, 0xBF] + Array(" \n\t\(minimal) } \r\n".utf8))
        #expect(event.id == "1")
    }

    @Test func deeplyNestedDataDoesNotExhaustTheStack() throws {
        let depth = 100_000
        let data = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try structured(minimal + #","data":"# + data + "}").data?.count == depth * 2)
        expectError(.invalidJSON) { _ = try structured(minimal + #","data":"# + String(repeating: "[", count: depth) + "}") }
    }
}

@Suite struct BatchFormatTests {
    @Test func anEmptyBatchIsValid() throws {
        #expect(try JSONEventFormat.decodeBatch(Array(" [ ] ".utf8)).isEmpty)
    }

    @Test func decodesEveryEvent() throws {
        let events = try JSONEventFormat.decodeBatch(Array("[\(minimal)},\(minimal.replacingOccurrences(of: "\"id\":\"1\"", with: "\"id\":\"2\""))}]".utf8))
        #expect(events.map(\.id) == ["1", "2"])
    }

    @Test func anErrorNamesTheIndex() {
        do throws(CloudEventError) {
            _ = try JSONEventFormat.decodeBatch(Array("[\(minimal)},\(minimal)},{\"specversion\":\"1.0\"}]".utf8))
            Issue.record("accepted an invalid batch")
        } catch {
            #expect(error.index == 2)
            #expect(error.description.contains("event 2"))
        }
    }

    @Test(arguments: ["{}", "[1]", "[[]]", "[\(minimal)}", "[\(minimal)},]", "[\(minimal)}] x", "", "[\"e\"]"])
    func refusesMalformedBatches(_ json: String) {
        do throws(CloudEventError) {
            _ = try JSONEventFormat.decodeBatch(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.code == .invalidBatch || error.code == .invalidJSON)
        }
    }
}
