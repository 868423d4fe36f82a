/// The Kubernetes name rules (RFC 1123) that Hadron's resource names and node ids follow (DESIGN §5, §8).
///
/// Streams, subscriptions and the rest become Kubernetes objects, Services and pod-name parts, so a name the
/// API server would reject must be refused at the first place Hadron sees it, with a message that says why,
/// instead of failing later inside a reconcile loop.
public enum DNSName {
    /// The longest label: one DNS label (`storage-0`).
    public static let maximumLabelLength = 63
    /// The longest subdomain: dot-separated labels (`orders.eu`).
    public static let maximumSubdomainLength = 253

    /// Checks a DNS-1123 label: 1–63 characters of `[a-z0-9-]`, starting and ending with a letter or digit.
    public static func validateLabel(_ name: String) throws(NameError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw NameError(.empty, "a name must not be empty") }
        guard bytes.count <= maximumLabelLength else {
            throw NameError(
                .tooLong,
                "\"\(name)\" is \(bytes.count) characters; a DNS-1123 label has at most \(maximumLabelLength)")
        }
        try checkLabel(bytes[...], in: name, kind: "DNS-1123 label", labelStart: 0)
    }

    /// Checks a DNS-1123 subdomain: at most 253 characters of dot-separated labels (each checked as a label,
    /// without the 63-character limit, as Kubernetes does).
    public static func validateSubdomain(_ name: String) throws(NameError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw NameError(.empty, "a name must not be empty") }
        guard bytes.count <= maximumSubdomainLength else {
            throw NameError(
                .tooLong,
                "\"\(name)\" is \(bytes.count) characters; a DNS-1123 subdomain has at most \(maximumSubdomainLength)")
        }
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: ".") {
            try checkSegment(bytes[start..<index], in: name, start: start)
            start = index + 1
        }
        try checkSegment(bytes[start...], in: name, start: start)
    }

    public static func isValidLabel(_ name: String) -> Bool {
        do { try validateLabel(name) } catch { return false }
        return true
    }

    public static func isValidSubdomain(_ name: String) -> Bool {
        do { try validateSubdomain(name) } catch { return false }
        return true
    }

    private static func checkSegment(_ label: ArraySlice<UInt8>, in name: String, start: Int) throws(NameError) {
        guard !label.isEmpty else {
            throw NameError(
                .emptySegment,
                "\"\(name)\" has an empty segment at position \(start + 1): dots must separate non-empty labels")
        }
        try checkLabel(label, in: name, kind: "DNS-1123 subdomain", labelStart: start)
    }

    private static func checkLabel(
        _ label: ArraySlice<UInt8>, in name: String, kind: String, labelStart: Int
    ) throws(NameError) {
        for index in label.indices {
            let byte = label[index]
            guard isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-") else {
                throw NameError(
                    .invalidCharacter,
                    "\"\(name)\" is not a valid \(kind): \(describe(byte)) at position \(index + 1) is not allowed "
                        + "(only lower-case letters a-z, digits 0-9, '-'\(kind.hasSuffix("subdomain") ? " and '.'" : ""))"
                )
            }
        }
        guard isLowerAlphanumeric(label.first!) else {
            throw NameError(
                .invalidStart,
                "\"\(name)\" is not a valid \(kind): position \(label.startIndex + 1) starts a label with '-'; "
                    + "labels start with a letter or digit")
        }
        guard isLowerAlphanumeric(label.last!) else {
            throw NameError(
                .invalidEnd,
                "\"\(name)\" is not a valid \(kind): the label ending at position \(label.endIndex) ends with '-'; "
                    + "labels end with a letter or digit")
        }
    }

    @inline(__always)
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte == 0x20 { return "a space" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
