import Testing

@testable import CloudEvents

@Suite("Media type facts agree with the parser")
struct MediaTypeFactsTests {
    /// The facts as the parsed ``MediaType`` states them, the definition the in-place scan must follow.
    static func parsedFacts(_ text: String) -> MediaTypeFacts? { MediaType(text).map { MediaTypeFacts($0) } }

    @Test(arguments: [
        "application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=\"UTF-8\"",
        "application/json; charset=latin1", "application/json; charset=utf-8; charset=ascii", "text/json",
        "application/vnd.x+json", "application/+json", "text/plain", "TEXT/Plain; Charset=UTF8", "application/xml",
        "image/svg+xml", "application/cloudevents+json", "APPLICATION/CLOUDEVENTS-BATCH+JSON; charset=utf-8",
        "application/cloudevents+xml", "application/cloudeventsx", "application/cloudevent", "text/cloudevents+json",
        "application/json;", "application/json ; ; charset=utf-8 ;", " \tapplication/json \t", "application/json x",
        "application/", "/json", "application json", "application/json; charset", "application/json; charset=",
        "application/json; =utf-8", "application/json; charset=\"utf-8", "application/json; charset=\"a\\\"b\"",
        "application/json; charset=\"utf-8\" ; x=y", "", "garbage", "application/jsön",
    ])
    func agreesOnATable(_ text: String) {
        #expect(MediaTypeFacts(text) == Self.parsedFacts(text), "\(text)")
        #expect(MediaType.isValid(text) == (MediaType(text) != nil), "\(text)")
    }

    @Test func agreesOnGeneratedInputs() {
        var generator = JSONTextGenerator(seed: 0x3ED1_A7E5)
        let pieces = [
            "application", "APPLICATION", "text", "Text", "image", "/", "/", "json", "JSON", "+json", "xml", "+xml",
            "cloudevents", "CloudEvents", "-batch", "+json", ";", ";", " ", "\t", "charset", "Charset", "=", "=",
            "utf-8", "UTF8", "latin1", "\"", "\\", "vnd.x", "*", "@", ",", "é", "x",
        ]
        var validCount = 0
        for _ in 0..<20_000 {
            let text = (0..<(1 + generator.next(9))).map { _ in pieces[generator.next(pieces.count)] }.joined()
            let expected = Self.parsedFacts(text)
            if expected != nil { validCount += 1 }
            #expect(MediaTypeFacts(text) == expected, "\(text)")
        }
        #expect(validCount > 200, "\(validCount) valid")
    }

    @Test func tokenAndURIByteMasksFollowTheGrammars() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789".utf8).union(Self.letters)
        let unreservedOrSubDelim = Set("-._~0123456789!$&'()*+,;=".utf8).union(Self.letters)
        for byte in UInt8.min...UInt8.max {
            #expect(MediaType.isTokenByte(byte) == tchar.contains(byte), "\(byte)")
            #expect(URIGrammar.isUnreservedOrSubDelim(byte) == unreservedOrSubDelim.contains(byte), "\(byte)")
            #expect(URIGrammar.isUnreservedOrSubDelim(byte) == (URIGrammar.isUnreserved(byte) || URIGrammar.isSubDelim(byte)))
        }
    }

    private static let letters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
}
