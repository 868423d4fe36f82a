import CloudEvents
import Testing

@Suite struct GrammarTests {
    @Test func timestampInstantsAccountForOffsets() throws {
        #expect(try Timestamp("1970-01-01T00:00:00Z").instant! == (0, 0))
        #expect(try Timestamp("1970-01-01T01:00:00+01:00").instant! == (0, 0))
        #expect(try Timestamp("2000-03-01T00:00:00.5Z").instant! == (951_868_800, 500_000_000))
        #expect(try Timestamp("1969-12-31T23:59:59Z").instant! == (-1, 0))
    }

    @Test func timestampsFormatFromInstants() throws {
        #expect(Timestamp(secondsSinceEpoch: 0).text == "1970-01-01T00:00:00Z")
        #expect(Timestamp(secondsSinceEpoch: 1_795_255_200, nanoseconds: 120_000_000).text == "2026-11-21T10:00:00.12Z")
        #expect(Timestamp(secondsSinceEpoch: -1).text == "1969-12-31T23:59:59Z")
        for seconds: Int64 in [0, 951_782_400, 4_102_444_799, -62_135_596_800] {
            #expect(try Timestamp(Timestamp(secondsSinceEpoch: seconds, nanoseconds: 7).text).instant! == (seconds, 7))
        }
    }

    @Test func mediaTypesParseParameters() throws {
        let type = try #require(MediaType(#"Text/Plain ; Charset="UTF-8";format=flowed"#))
        #expect(type.essence == "text/plain" && type.charset == "utf-8" && type.parameters["format"] == "flowed")
        #expect(type.isTextual && type.isUTF8 && !type.isJSON)
        for invalid in ["", "text", "text/", "/plain", "text/plain; charset", "text/plain; =x", "te xt/plain", "text/plain; a=\"x"] {
            #expect(MediaType(invalid) == nil, "\(invalid)")
        }
    }

    @Test func base64RoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode(Array("Zm9v=".utf8)) == nil)
        #expect(Base64.decode(Array("Z".utf8)) == nil)
        #expect(Base64.decode(Array("Zm 9v".utf8)) == nil)
    }

    @Test func urisNeedASchemeAndURIReferencesDoNot() throws {
        #expect(throws: CloudEventError.self) { try URI("//host/path") }
        #expect(throws: CloudEventError.self) { try URI("1http://x") }
        #expect(try URI("HTTPS://EXAMPLE.com:443/a%2Fb").text == "HTTPS://EXAMPLE.com:443/a%2Fb")
        #expect(try URIReference("a/b:c").text == "a/b:c")
        #expect(throws: CloudEventError.self) { try URIReference("http://host:port/") }
        #expect(throws: CloudEventError.self) { try URIReference("http://[1:2:3:4:5:6:7:8:9]/") }
        #expect(try URIReference("http://[::ffff:192.0.2.1]/").text == "http://[::ffff:192.0.2.1]/")
    }

    @Test func validateCatchesHandBuiltMistakes() throws {
        var event = CloudEvent(id: "1", source: try URIReference("/s"), type: "t")
        try event.validate()
        event.extensions["Bad"] = .string("x")
        #expect(throws: CloudEventError.self) { try event.validate() }
        event.extensions = ["data": .string("x")]
        #expect(throws: CloudEventError.self) { try event.validate() }
    }
}
