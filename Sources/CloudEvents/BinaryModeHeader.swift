/// What a header field is to binary mode, from its lower-cased name read in place: no `String` is built for the
/// name unless it names an extension, and no string comparison runs (they showed in profiles of every publish).
enum BinaryModeHeader {
    /// The context attributes that have their own slot; `datacontenttype` is refused as a header.
    enum ContextAttribute: String {
        case id, source, specversion, type, dataschema, subject, time, datacontenttype
    }

    /// Not a `ce-` header, nor Content-Type.
    case unrelated
    case contentType
    case attribute(ContextAttribute)
    /// Any other `ce-` header: the name after `ce-`, possibly empty or not a valid extension name; `isValid` when
    /// it is known to pass ``ExtensionName/validate(_:)`` (`[a-z0-9]+` and not `data`).
    case `extension`(String, isValid: Bool)

    /// Classifies a field by its canonical (lower-cased) name.
    init(canonicalName: String) {
        var canonical = canonicalName
        self = canonical.withUTF8 { bytes in
            if Self.equals(bytes, 0, "content-type") { return .contentType }
            guard bytes.count >= 3, bytes[0] == 0x63, bytes[1] == 0x65, bytes[2] == 0x2D else { return .unrelated }
            let attribute: ContextAttribute? =
                switch bytes.count - 3 {
                case 2: Self.equals(bytes, 3, "id") ? .id : nil
                case 4: Self.equals(bytes, 3, "type") ? .type : Self.equals(bytes, 3, "time") ? .time : nil
                case 6: Self.equals(bytes, 3, "source") ? .source : nil
                case 7: Self.equals(bytes, 3, "subject") ? .subject : nil
                case 10: Self.equals(bytes, 3, "dataschema") ? .dataschema : nil
                case 11: Self.equals(bytes, 3, "specversion") ? .specversion : nil
                case 15: Self.equals(bytes, 3, "datacontenttype") ? .datacontenttype : nil
                default: nil
                }
            if let attribute { return .attribute(attribute) }
            var isValid = bytes.count > 3 && !Self.equals(bytes, 3, "data")
            for byte in bytes[3...] where !(byte &- 0x61 < 26 || byte &- 0x30 < 10) { isValid = false }
            return .extension(String(decoding: UnsafeBufferPointer(rebasing: bytes[3...]), as: UTF8.self), isValid: isValid)
        }
    }

    /// Whether `bytes` from `offset` to the end are exactly `literal`.
    @inline(__always)
    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - offset == count else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where bytes[offset + index] != expected[index] { return false }
        return true
    }
}
