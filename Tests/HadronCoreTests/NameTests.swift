import Testing

@testable import HadronCore

@Suite("DNS-1123 names")
struct DNSNameTests {
    @Test(
        "valid labels",
        arguments: ["a", "0", "storage-0", "a-b-c", "abc123", String(repeating: "a", count: 63), "9lives"])
    func validLabel(name: String) {
        #expect(throws: Never.self) { try DNSName.validateLabel(name) }
        #expect(DNSName.isValidLabel(name))
    }

    @Test(
        "invalid labels, each with its reason",
        arguments: [
            ("", NameError.Code.empty, "empty"),
            (String(repeating: "a", count: 64), .tooLong, "64 characters"),
            ("Storage", .invalidCharacter, "'S' at position 1"),
            ("a_b", .invalidCharacter, "'_' at position 2"),
            ("a.b", .invalidCharacter, "'.' at position 2"),
            ("a b", .invalidCharacter, "a space at position 2"),
            ("é", .invalidCharacter, "byte 0xC3 at position 1"),
            ("-a", .invalidStart, "starts a label with '-'"),
            ("a-", .invalidEnd, "ends with '-'"),
            ("-", .invalidStart, "position 1"),
        ])
    func invalidLabel(name: String, code: NameError.Code, fragment: String) {
        let error = #expect(throws: NameError.self) { try DNSName.validateLabel(name) }
        #expect(error?.code == code)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
        #expect(!DNSName.isValidLabel(name))
    }

    @Test(
        "valid subdomains",
        arguments: [
            "orders", "orders.eu", "orders.eu.created", "a.b.c.d", "events-storage-1.example",
            String(repeating: "a", count: 100) + "." + String(repeating: "b", count: 100),
            Array(repeating: "abc", count: 63).joined(separator: "."),
        ])
    func validSubdomain(name: String) {
        #expect(throws: Never.self) { try DNSName.validateSubdomain(name) }
        #expect(DNSName.isValidSubdomain(name))
    }

    @Test(
        "invalid subdomains, each with its reason",
        arguments: [
            ("", NameError.Code.empty, "empty"),
            (String(repeating: "a", count: 254), .tooLong, "254 characters"),
            (".orders", .emptySegment, "position 1"),
            ("orders.", .emptySegment, "position 8"),
            ("orders..eu", .emptySegment, "position 8"),
            ("Orders.eu", .invalidCharacter, "'O' at position 1"),
            ("orders.eu_west", .invalidCharacter, "'_' at position 10"),
            ("orders.-eu", .invalidStart, "position 8"),
            ("orders-.eu", .invalidEnd, "position 7"),
            ("orders.*", .invalidCharacter, "'*'"),
        ])
    func invalidSubdomain(name: String, code: NameError.Code, fragment: String) {
        let error = #expect(throws: NameError.self) { try DNSName.validateSubdomain(name) }
        #expect(error?.code == code)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }
}

@Suite("Dotted name patterns")
struct NamePatternTests {
    private func pattern(_ text: String) throws -> NamePattern { try NamePattern(parsing: text) }

    @Test("literal patterns match exactly that name")
    func literal() throws {
        let orders = try pattern("orders.eu.created")
        #expect(orders.isLiteral)
        #expect(orders.segments == [.literal("orders"), .literal("eu"), .literal("created")])
        #expect(orders.matches("orders.eu.created"))
        #expect(!orders.matches("orders.eu"))
        #expect(!orders.matches("orders.eu.created.late"))
        #expect(!orders.matches("orders.eu.create"))
        #expect(!orders.matches("orders.eu.createdx"))
        #expect(!orders.matches(""))
    }

    @Test("* matches exactly one segment")
    func star() throws {
        let p = try pattern("orders.*")
        #expect(!p.isLiteral)
        #expect(p.matches("orders.eu"))
        #expect(p.matches("orders.us"))
        #expect(!p.matches("orders"))
        #expect(!p.matches("orders.eu.created"))
        #expect(!p.matches("orders."))
        #expect(!p.matches("payments.eu"))
        let middle = try pattern("orders.*.created")
        #expect(middle.matches("orders.eu.created"))
        #expect(!middle.matches("orders.created"))
        #expect(!middle.matches("orders..created"))
        #expect(!middle.matches("orders.eu.west.created"))
        #expect(try pattern("*").matches("anything"))
        #expect(!(try pattern("*").matches("two.segments")))
    }

    @Test("> matches one or more trailing segments")
    func tail() throws {
        let p = try pattern("com.example.>")
        #expect(p.segments.last == .anyTrailing)
        #expect(p.matches("com.example.order"))
        #expect(p.matches("com.example.order.created"))
        #expect(p.matches("com.example.a.b.c.d"))
        #expect(!p.matches("com.example"), "> needs at least one segment")
        #expect(!p.matches("com.example."))
        #expect(!p.matches("com.example.order."))
        #expect(!p.matches("com.example.order..x"))
        #expect(!p.matches("com.other.order"))
        #expect(try pattern(">").matches("a.b"))
        #expect(!(try pattern(">").matches("")))
        #expect(try pattern("*.>").matches("a.b"))
        #expect(!(try pattern("*.>").matches("a")))
    }

    @Test("names with empty segments match nothing")
    func emptySegmentsInNames() throws {
        #expect(!(try pattern("a.*").matches("a..")))
        #expect(!(try pattern("*.b").matches(".b")))
        #expect(!(try pattern("*").matches("")))
    }

    @Test(
        "invalid patterns are refused with their reason",
        arguments: [
            ("", NameError.Code.empty, "empty"),
            ("orders..eu", .emptySegment, "segment 2"),
            (".orders", .emptySegment, "segment 1"),
            ("orders.", .emptySegment, "segment 2"),
            ("orders.>.eu", .misplacedWildcard, "segment 2"),
            (">.x", .misplacedWildcard, "last segment"),
            ("orders.ab*", .partialWildcard, "\"ab*\""),
            ("orders.*b", .partialWildcard, "'*'"),
            ("orders.a>", .partialWildcard, "'>'"),
            ("orders.**", .partialWildcard, "segment 2"),
            ("orders.>>", .partialWildcard, "segment 2"),
            ("orders.e u", .invalidCharacter, "a space"),
            ("orders.\t", .invalidCharacter, "U+9"),
        ])
    func invalidPattern(text: String, code: NameError.Code, fragment: String) {
        let error = #expect(throws: NameError.self) { try NamePattern(parsing: text) }
        #expect(error?.code == code)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test("the pattern's text is kept as written")
    func text() throws {
        #expect(try pattern("streams.orders.*").description == "streams.orders.*")
    }
}
