/// Appends JSON text to a byte array: the encoder behind the JSON format and the batch format.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Appends text that is already JSON.
    public mutating func raw(_ json: some Collection<UInt8>) { bytes.append(contentsOf: json) }

    /// Appends `"name":`, preceded by a comma unless it is the first member.
    mutating func member(_ name: String, first: inout Bool) {
        if !first { bytes.append(0x2C) }
        first = false
        string(name)
        bytes.append(0x3A)
    }

    mutating func value(_ value: AttributeValue) {
        switch value {
        case .string(let text): string(text)
        case .integer(let number): bytes.append(contentsOf: String(number).utf8)
        case .boolean(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .binary(let data):
            bytes.append(0x22)
            base64(data)
            bytes.append(0x22)
        case .uri(let uri): string(uri.text)
        case .uriReference(let reference): string(reference.text)
        case .timestamp(let timestamp): string(timestamp.text)
        }
    }

    mutating func base64(_ data: [UInt8]) { Base64.append(data, to: &bytes) }

    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string(utf8: $0) }
    }

    /// Appends UTF-8 bytes as a JSON string, escaping what RFC 8259 requires and nothing else.
    public mutating func string(utf8 text: some Collection<UInt8>) {
        bytes.append(0x22)
        for byte in text {
            switch byte {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }
}
