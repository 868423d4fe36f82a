import Testing

import CloudEvents

@Suite("UTF-8 validation of stored strings")
struct UTF8ValidationTests {
    @Test(
        "accepts what the standard library accepts, refuses what it refuses",
        arguments: [
            [], Array("plain ascii text, longer than eight bytes".utf8), Array("ünïcödé 𝄞 😀 こんにちは".utf8),
            [0xC3, 0x28], [0xA0], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0xA0, 0x80],
            [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF],
            [0xE2, 0x82], Array("abcdefgh".utf8) + [0xE2, 0x82, 0xAC] + Array("ijklmnop".utf8),
        ] as [[UInt8]])
    func agreesWithStandardLibrary(bytes: [UInt8]) {
        let expected = String(validating: bytes, as: UTF8.self)
        let actual = bytes.withUnsafeBytes { UTF8Validation.string($0) }
        #expect(actual == expected)
    }

    @Test("agrees with the standard library on random byte strings")
    func randomBytes() {
        var random = SystemRandomNumberGenerator()  // a failure prints the bytes
        var valid = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<12, using: &random)
            // Bias towards bytes that form (or nearly form) multi-byte sequences.
            let bytes = (0..<length).map { _ in
                [
                    UInt8.random(in: 0x00...0x7F, using: &random), UInt8.random(in: 0x80...0xBF, using: &random),
                    UInt8.random(in: 0xC0...0xFF, using: &random),
                ].randomElement(using: &random)!
            }
            let expected = String(validating: bytes, as: UTF8.self)
            #expect(bytes.withUnsafeBytes { UTF8Validation.string($0) } == expected, "\(bytes)")
            if expected != nil { valid += 1 }
        }
        #expect(valid > 1000, "the sample must contain valid strings too")
    }
}
