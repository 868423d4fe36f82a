import Testing

@testable import CloudEvents

/// The one-pass validator must give the verdict of the full reader (UTF-8 check, then `skipValue`) on every input.
@Suite("JSON validation agrees with the reader")
struct JSONValidationTests {
    /// The reference verdict: what `isJSONText` was before it had its own validator.
    static func readerVerdict(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard UTF8Validation.isValid(buffer) else { return false }
            var reader = JSONReader(buffer)
            do {
                guard reader.peek() != nil else { return false }
                _ = try reader.skipValue()
                return reader.peek() == nil
            } catch {
                return false
            }
        }
    }

    @Test(arguments: [
        ("{}", true), ("[]", true), (" \t\r\n{ } \n", true), ("0", true), ("-0", true), ("-0.5e+10", true),
        ("1E3", true), ("12.25", true), ("true", true), ("false", true), ("null", true), ("\"\"", true),
        (#"{"a":[1,{"b":null}],"c":"d"}"#, true), (#"["é", "𝄞", "\u00e9\n"]"#, true), (#""\q""#, false), (#""\u12""#, false), (#""\u12g4""#, false), (#""\uD800""#, true),
        (#""\"\\\/\b\f\n\r\t\u00E9""#, true),
        ("", false), ("   ", false), ("{", false), ("}", false), ("[1,]", false), ("{\"a\"}", false),
        ("{\"a\":1,}", false), ("{1:2}", false), ("01", false), ("-", false), ("1.", false), ("1e", false),
        (".5", false), ("+1", false), ("tru", false), ("truex", false), ("nul", false), ("\"abc", false),
        ("\"a\u{01}b\"", false), ("\"abc\\\"", false), ("[1 2]", false), ("1 2", false), ("\u{FEFF}{}", false),
        ("{\"a\":1}}", false), ("[\"a\"]]", false), ("{\"a\" 1}", false), ("NaN", false), ("'a'", false),
    ])
    func agreesOnATable(_ text: String, _ valid: Bool) {
        let bytes = Array(text.utf8)
        #expect(Self.readerVerdict(bytes) == valid, "reader on \(text)")
        #expect(JSONValidation.isJSONText(bytes) == valid, "validator on \(text)")
    }

    @Test func agreesOnInvalidUTF8InsideAndOutsideStrings() {
        let cases: [[UInt8]] = [
            [0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
            [0x22, 0xC3, 0xA9, 0x22], [0x22, 0x5C, 0xC3, 0xA9, 0x22], [0x22, 0x5C, 0xC3, 0x22], [0x22, 0x5C, 0xFF, 0x22],
            [0x5B, 0xC3, 0xA9, 0x5D], [0x31, 0x20, 0xFF], [0x22, 0xE2, 0x82, 0x22], [0x22, 0x5C, 0x01, 0x22],
            Array("\"abcdefghijkl".utf8) + [0xE2, 0x82, 0xAC] + Array("mnopqrstuvw\"".utf8),
        ]
        for bytes in cases {
            #expect(JSONValidation.isJSONText(bytes) == Self.readerVerdict(bytes), "\(bytes)")
        }
    }

    /// A special byte at every position of strings around the eight-byte word size.
    @Test func agreesAroundWordBoundaries() {
        let specials: [[UInt8]] = [[0x22], [0x5C], [0x5C, 0x22], [0x01], [0x1F], [0x7F], [0xC3, 0xA9], [0xC3], [0xF0, 0x9D, 0x84, 0x9E]]
        for length in 0..<26 {
            for position in 0...length {
                for special in specials {
                    var content = Array(repeating: UInt8(ascii: "x"), count: length)
                    content.insert(contentsOf: special, at: position)
                    for bytes in [[0x22] + content + [0x22], Array("{\"k\":\"".utf8) + content + Array("\"}".utf8)] {
                        #expect(JSONValidation.isJSONText(bytes) == Self.readerVerdict(bytes), "\(bytes)")
                    }
                }
            }
        }
    }

    @Test func agreesOnDeepNesting() {
        for depth in [63, 64, 65, 127, 128, 129, 200] {
            var open: [UInt8] = []
            var close: [UInt8] = []
            for level in 0..<depth {
                if level % 3 == 0 {
                    open += Array("{\"k\":".utf8)
                    close.insert(0x7D, at: 0)
                } else {
                    open.append(0x5B)
                    close.insert(0x5D, at: 0)
                }
            }
            let valid = open + [0x31] + close
            #expect(JSONValidation.isJSONText(valid) && Self.readerVerdict(valid))
            for broken in [open + [0x31] + close.dropLast(), open + [0x31] + close + [0x5D], open + close] {
                #expect(JSONValidation.isJSONText(broken) == Self.readerVerdict(broken))
            }
        }
    }

    /// Random JSON texts, most of them then mutated, judged by both: they must agree every time.
    @Test func agreesOnGeneratedInputs() {
        var generator = JSONTextGenerator(seed: 0x5EED_CE10)
        var validCount = 0
        for _ in 0..<40_000 {
            var bytes = generator.value(depth: 0)
            generator.mutate(&bytes)
            let expected = Self.readerVerdict(bytes)
            if expected { validCount += 1 }
            #expect(JSONValidation.isJSONText(bytes) == expected, "\(String(decoding: bytes, as: UTF8.self)) \(bytes)")
        }
        // Both verdicts must be well represented for the comparison to mean anything.
        #expect(validCount > 8_000 && validCount < 32_000, "\(validCount) valid")
    }
}

/// Generates JSON texts from the grammar, with whitespace, escapes, non-ASCII and long strings, then breaks some.
struct JSONTextGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64: deterministic, so a failure reproduces.
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }

    private mutating func whitespace() -> [UInt8] {
        next(4) == 0 ? (0..<next(3)).map { _ in [0x20, 0x0A, 0x0D, 0x09][next(4)] } : []
    }

    private static let pieces: [[UInt8]] = [
        Array("a".utf8), Array("hello world".utf8), Array("é".utf8), Array("𝄞".utf8), Array("\\n".utf8),
        Array("\\\"".utf8), Array("\\u00e9".utf8), Array("\\\\".utf8), Array("0123456789abcdef".utf8), [0x7F],
    ]

    mutating func string() -> [UInt8] {
        var bytes: [UInt8] = [0x22]
        for _ in 0..<next(6) { bytes += Self.pieces[next(Self.pieces.count)] }
        return bytes + [0x22]
    }

    mutating func number() -> [UInt8] {
        var text = next(3) == 0 ? "-" : ""
        text += next(4) == 0 ? "0" : String(next(100_000) + 1)
        if next(3) == 0 { text += "." + String(next(1000)) }
        if next(4) == 0 { text += ["e", "E", "e+", "e-"][next(4)] + String(next(400)) }
        // Near misses: leading zeros, missing digits, a stray sign or dot.
        if next(10) == 0 { text = ["0", "-0", "00", "-", "1.", ".", "1e", "+", "1.5."][next(9)] + text }
        return Array(text.utf8)
    }

    mutating func value(depth: Int) -> [UInt8] {
        let choice = depth > 4 ? next(6) : next(8)
        var bytes = whitespace()
        switch choice {
        case 0, 1: bytes += string()
        case 2, 3: bytes += number()
        case 4: bytes += Array(["true", "false", "null"][next(3)].utf8)
        case 5:
            // A long plain run, so the word-at-a-time scan is exercised, with a piece somewhere inside.
            var content = Array(repeating: UInt8(ascii: "x"), count: next(40))
            content.insert(contentsOf: Self.pieces[next(Self.pieces.count)], at: next(content.count + 1))
            bytes += [0x22] + content + [0x22]
        case 6:
            bytes.append(0x5B)
            for index in 0..<next(4) {
                if index > 0 { bytes.append(0x2C) }
                bytes += value(depth: depth + 1)
            }
            bytes += whitespace() + [0x5D]
        default:
            bytes.append(0x7B)
            for index in 0..<next(4) {
                if index > 0 { bytes.append(0x2C) }
                bytes += whitespace() + string() + whitespace() + [0x3A] + value(depth: depth + 1)
            }
            bytes += whitespace() + [0x7D]
        }
        return bytes + whitespace()
    }

    /// Deletes, inserts or replaces a few bytes, drawing from the bytes that matter to the grammar.
    mutating func mutate(_ bytes: inout [UInt8]) {
        let alphabet: [UInt8] = Array("\"\\{}[],:0123456789-+.eEtrufalsn \t\n".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        for _ in 0..<[0, 0, 1, 1, 2, 3][next(6)] {
            let position = next(bytes.count + 1)
            switch next(3) {
            case 0 where position < bytes.count: bytes.remove(at: position)
            case 1 where position < bytes.count: bytes[position] = alphabet[next(alphabet.count)]
            default: bytes.insert(alphabet[next(alphabet.count)], at: position)
            }
        }
    }
}
