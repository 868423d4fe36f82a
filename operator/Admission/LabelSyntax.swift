import HadronCore

/// Kubernetes label syntax (keys are qualified names, values are short names or empty), which a Stream's
/// `selector` must follow: the operator turns it into pod selectors, and the API server would otherwise refuse
/// them inside a reconcile, far from the user who wrote them.
enum LabelSyntax {
    /// Why `key` is not a label key (`[prefix/]name`; prefix a DNS-1123 subdomain, name ≤ 63 characters), or nil.
    static func keyProblem(_ key: String) -> String? {
        var name = Substring(key)
        if let slash = key.firstIndex(of: "/") {
            let prefix = String(key[..<slash])
            name = key[key.index(after: slash)...]
            if prefix.isEmpty { return "the prefix before '/' is empty" }
            if prefix.utf8.count > 253 { return "the prefix \"\(prefix)\" is longer than 253 characters" }
            if !DNSName.isValidSubdomain(prefix) {
                return "the prefix \"\(prefix)\" must be a DNS subdomain (lower-case letters, digits, '-' and '.')"
            }
        }
        if name.isEmpty { return "the name part is empty" }
        return nameProblem(name, what: "the name part")
    }

    /// Why `value` is not a label value (empty, or ≤ 63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both
    /// ends), or nil.
    static func valueProblem(_ value: String) -> String? {
        value.isEmpty ? nil : nameProblem(Substring(value), what: "the value")
    }

    private static func nameProblem(_ name: Substring, what: String) -> String? {
        if name.utf8.count > 63 { return "\(what) \"\(name)\" is longer than 63 characters" }
        let allowed = { (byte: UInt8) in isAlphanumeric(byte) || byte == 0x2D || byte == 0x5F || byte == 0x2E }
        if let bad = name.utf8.first(where: { !allowed($0) }) {
            let shown = bad < 0x80 ? "'\(Character(Unicode.Scalar(bad)))'" : "a non-ASCII character"
            return "\(what) \"\(name)\" contains \(shown); only letters, digits, '-', '_' and '.' are allowed"
        }
        if !isAlphanumeric(name.utf8.first!) || !isAlphanumeric(name.utf8.last!) {
            return "\(what) \"\(name)\" must begin and end with a letter or digit"
        }
        return nil
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
