import CloudEvents
import HTTPTypes
import Testing

@Suite struct ModeTests {
    @Test(arguments: [
        ("application/cloudevents+json", HTTPBinding.Mode.structured),
        ("Application/CloudEvents+JSON; charset=UTF-8", .structured),
        ("application/cloudevents-batch+json", .batch),
        ("APPLICATION/CLOUDEVENTS-BATCH+JSON", .batch),
        ("application/json", .binary), ("text/plain", .binary), ("application/cloudeventsx", .binary),
    ])
    func modeFollowsTheContentType(_ contentType: String, _ mode: HTTPBinding.Mode) throws {
        if contentType == "application/cloudeventsx" {
            expectError(.unsupportedContentType) { _ = try HTTPBinding.mode(contentType: contentType) }
        } else {
            #expect(try HTTPBinding.mode(contentType: contentType) == mode)
        }
    }

    @Test(arguments: ["application/cloudevents+xml", "application/cloudevents-batch+xml", "application/cloudevents+avro"])
    func otherCloudEventsFormatsAreUnsupportedMediaTypes(_ contentType: String) {
        do throws(CloudEventError) {
            _ = try HTTPBinding.decode(fields: fields([("content-type", contentType)]), body: [])
            Issue.record("accepted \(contentType)")
        } catch {
            #expect(error.isUnsupportedMediaType)
        }
    }

    @Test func aRequestWithoutCloudEventsContentTypeOrHeadersIsRefused() {
        expectError(.notACloudEvent) {
            _ = try HTTPBinding.decode(fields: fields([("content-type", "application/json")]), body: Array("{}".utf8))
        }
    }
}

@Suite struct BinaryModeTests {
    @Test func readsAttributesFromHeadersCaseInsensitively() throws {
        let message = try HTTPBinding.decode(
            fields: fields([
                ("CE-SpecVersion", "1.0"), ("Ce-Id", "42"), ("ce-SOURCE", "/s"), ("ce-type", "t"),
                ("ce-Subject", "sub"), ("ce-time", "2026-11-21T10:00:00Z"), ("ce-dataschema", "https://x/s"),
                ("ce-MyExt", "v"), ("content-type", "text/plain"), ("x-other", "ignored"),
            ]), body: Array("hi".utf8))
        #expect(message.mode == .binary)
        let event = try #require(message.events.first)
        #expect(event.id == "42" && event.source.text == "/s" && event.type == "t" && event.subject == "sub")
        #expect(event.time?.text == "2026-11-21T10:00:00Z" && event.dataschema?.text == "https://x/s")
        #expect(event.extensions == ["myext": .string("v")])
        #expect(event.datacontenttype == "text/plain")
        #expect(event.data == Array("hi".utf8))
    }

    @Test func extensionsAreStringsInBinaryMode() throws {
        let event = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-n", "5"), ("ce-b", "true")]), body: [])
        #expect(event.extensions == ["n": .string("5"), "b": .string("true")])
    }

    @Test(arguments: [
        ("caf%C3%A9", "café"), ("caf%c3%a9", "café"), ("100%25", "100%"), ("%2541", "%41"), ("a%20b", "a b"),
        ("  padded\t", "padded"), ("\"quoted \\\"inner\\\" value\"", "quoted \"inner\" value"), ("\"%C3%A9\"", "é"),
        ("", ""), ("mid\"quote", "mid\"quote"),
    ])
    func decodesHeaderValuesExactlyOnce(_ raw: String, _ expected: String) throws {
        let event = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-ext", raw)]), body: [])
        #expect(event.extensions["ext"] == .string(expected))
    }

    @Test(arguments: ["%", "%4", "%zz", "%FF", "%C3%28", "%ED%A0%80", "\"unterminated", "\"a\"b\""])
    func refusesBadHeaderEncodings(_ raw: String) {
        expectError(.invalidHeaderValue, attribute: "ext") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-ext", raw)]), body: [])
        }
    }

    @Test func refusesCeDatacontenttype() {
        expectError(.invalidAttributeName, attribute: "datacontenttype") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-datacontenttype", "text/plain")]), body: [])
        }
    }

    @Test(arguments: ["ce-my_ext", "ce-data"])
    func refusesInvalidAttributeNames(_ header: String) {
        expectError(.invalidAttributeName) { _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([(header, "v")]), body: []) }
    }

    @Test func refusesARepeatedAttribute() {
        expectError(.duplicateMember, attribute: "id") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-id", "2")]), body: [])
        }
    }

    @Test(arguments: ["specversion", "id", "source", "type"])
    func refusesAMissingRequiredHeader(_ name: String) {
        let all = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/src"), ("ce-type", "t")]
        expectError(.missingAttribute, attribute: name) {
            _ = try HTTPBinding.decodeBinary(fields: fields(all.filter { $0.0 != "ce-" + name }), body: [])
        }
    }

    @Test func anEmptyBodyMeansNoDataEvenForJSON() throws {
        let event = try HTTPBinding.decodeBinary(fields: binaryHeaders([("content-type", "application/json")]), body: [])
        #expect(event.data == nil)
        #expect(event.datacontenttype == "application/json")
    }

    @Test func dataDeclaredAsJSONMustBeJSON() throws {
        for contentType in ["application/json", "text/json", "application/vnd.x+json; charset=utf-8"] {
            expectError(.invalidData, attribute: "data") {
                _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("content-type", contentType)]), body: Array("{nope".utf8))
            }
        }
        let body = Array("{\"a\": 1}\n".utf8)
        let event = try HTTPBinding.decodeBinary(fields: binaryHeaders([("content-type", "application/json")]), body: body)
        #expect(event.data == body)
    }

    @Test func refusesAnInvalidContentType() {
        expectError(.invalidMediaType, attribute: "datacontenttype") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("content-type", "garbage")]), body: [1])
        }
    }

    @Test func refusesAnInvalidTime() {
        expectError(.invalidTimestamp, attribute: "time") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-time", "2026-11-21T10:00:60Z")]), body: [])
        }
    }

    @Test func percentDecodedControlCharactersAreRefused() {
        expectError(.invalidAttributeType, attribute: "ext") {
            _ = try HTTPBinding.decodeBinary(fields: binaryHeaders([("ce-ext", "a%0Ab")]), body: [])
        }
    }
}

@Suite struct StructuredModeTests {
    let json = minimal + #","ext":"é","data":"ü"}"#

    @Test func theBodyIsAuthoritativeOverStrayHeaders() throws {
        let message = try HTTPBinding.decode(
            fields: fields([("content-type", "application/cloudevents+json"), ("ce-id", "other"), ("ce-bad_name", "x")]),
            body: Array(json.utf8))
        #expect(message.mode == .structured && message.events.first?.id == "1")
    }

    @Test(arguments: ["utf-8", "UTF-8", "iso-8859-1", "ISO-8859-1", "latin1", "utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be", "us-ascii"])
    func honoursTheCharset(_ charset: String) throws {
        let text = charset == "us-ascii" ? minimal + #","ext":"e","data":"u"}"# : json
        let body: [UInt8]
        switch charset.lowercased() {
        case "iso-8859-1", "latin1": body = text.unicodeScalars.map { UInt8($0.value) }
        case "utf-16": body = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case "utf-16le": body = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case "utf-16be": body = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case "utf-32": body = text.unicodeScalars.flatMap { v in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v.value >> $0) } }
        case "utf-32le": body = text.unicodeScalars.flatMap { v in [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v.value >> $0) } }
        case "utf-32be": body = text.unicodeScalars.flatMap { v in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v.value >> $0) } }
        default: body = Array(text.utf8)
        }
        let message = try HTTPBinding.decode(
            fields: fields([("content-type", "application/cloudevents+json; charset=\(charset)")]), body: body)
        let event = try #require(message.events.first)
        #expect(event.extensions["ext"] == .string(charset == "us-ascii" ? "e" : "é"))
        #expect(event.data == Array((charset == "us-ascii" ? "\"u\"" : "\"ü\"").utf8))
    }

    @Test func anUnknownCharsetIsAnUnsupportedMediaType() {
        do throws(CloudEventError) {
            _ = try HTTPBinding.decode(fields: fields([("content-type", "application/cloudevents+json; charset=ebcdic")]), body: Array(json.utf8))
            Issue.record("accepted an unknown charset")
        } catch {
            #expect(error.code == .unsupportedCharset && error.isUnsupportedMediaType)
        }
    }

    @Test func bytesInvalidForTheCharsetAreRefused() {
        expectError(.invalidEncoding) {
            _ = try HTTPBinding.decode(fields: fields([("content-type", "application/cloudevents+json; charset=utf-16le")]), body: [0x7B])
        }
        expectError(.invalidEncoding) {
            _ = try HTTPBinding.decode(fields: fields([("content-type", "application/cloudevents+json; charset=us-ascii")]), body: [0xE9])
        }
    }

    @Test func batchModeDecodesEveryEvent() throws {
        let message = try HTTPBinding.decode(
            fields: fields([("content-type", "application/cloudevents-batch+json")]), body: Array("[\(minimal)},\(minimal)}]".utf8))
        #expect(message.mode == .batch && message.events.count == 2)
    }
}

/// Data declared as JSON must be JSON any parser accepts: RFC 8259 escapes only, in both modes.
@Suite struct JSONDataEscapeTests {
    static let headers = [
        ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"),
        ("content-type", "application/json"),
    ]

    @Test(arguments: [#"{"a":"\q"}"#, #"["\u12"]"#, #""\u00G0""#, #"{"a":"\"#])
    func invalidEscapesInJSONDataAreRefused(_ body: String) {
        do throws(CloudEventError) {
            _ = try HTTPBinding.decode(fields: fields(Self.headers), body: Array(body.utf8))
            Issue.record("binary mode accepted \(body)")
        } catch {}
        let structured = #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":"# + body + "}"
        do throws(CloudEventError) {
            _ = try JSONEventFormat.decode(Array(structured.utf8))
            Issue.record("structured mode accepted \(structured)")
        } catch {}
    }

    @Test func everyRFC8259EscapeIsAccepted() throws {
        let body = #"{"a":"\" \\ \/ \b \f \n \r \t \u00e9 \uD834\uDD1E"}"#
        let message = try HTTPBinding.decode(fields: fields(Self.headers), body: Array(body.utf8))
        #expect(message.events.count == 1 && message.events.first?.data == Array(body.utf8))
    }
}
