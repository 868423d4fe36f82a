/// A pattern over dotted hierarchical names (`orders.eu.created`): grants (`streams/orders.*`), exchange topics
/// (`com.example.>`) and pipeline triggers all select names with it (DESIGN §5).
///
/// The wildcards are NATS's, which users of subject-based messaging already know: `*` matches exactly one
/// segment, `>` one or more trailing segments. Wildcards are whole segments only, and `>` only at the end,
/// because `ab*` or `a.>.b` would otherwise be silently read as literals and grant or match nothing.
public struct NamePattern: Sendable, Hashable, CustomStringConvertible {
    /// One dot-separated part of a pattern.
    public enum Segment: Sendable, Hashable {
        case literal(String)
        /// `*`: any one segment.
        case anySegment
        /// `>`: one or more remaining segments; only ever last.
        case anyTrailing
    }

    public let segments: [Segment]
    /// The pattern as written.
    public let text: String

    public init(parsing text: String) throws(NameError) {
        guard !text.isEmpty else { throw NameError(.empty, "a name pattern must not be empty") }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var segments: [Segment] = []
        segments.reserveCapacity(parts.count)
        for (index, part) in parts.enumerated() {
            let position = "segment \(index + 1) of \"\(text)\""
            if part.isEmpty {
                throw NameError(.emptySegment, "\(position) is empty: dots must separate non-empty segments")
            }
            if part == "*" {
                segments.append(.anySegment)
            } else if part == ">" {
                guard index == parts.count - 1 else {
                    throw NameError(
                        .misplacedWildcard, "\(position) is '>', which may only be the last segment")
                }
                segments.append(.anyTrailing)
            } else {
                if let wildcard = part.unicodeScalars.first(where: { $0 == "*" || $0 == ">" }) {
                    throw NameError(
                        .partialWildcard,
                        "\(position) (\"\(part)\") contains '\(wildcard)'; a wildcard must be a whole segment")
                }
                if let bad = part.unicodeScalars.first(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
                    throw NameError(
                        .invalidCharacter,
                        "\(position) contains \(bad.value == 0x20 ? "a space" : "U+\(String(bad.value, radix: 16, uppercase: true))"), "
                            + "which no name holds")
                }
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.text = text
    }

    /// True when the pattern has no wildcard, so it matches exactly one name.
    public var isLiteral: Bool {
        segments.allSatisfy { if case .literal = $0 { true } else { false } }
    }

    /// Whether `name` (dotted) is selected by this pattern. A name with an empty segment matches nothing.
    public func matches(_ name: String) -> Bool {
        var remaining = name[...]
        for (index, segment) in segments.enumerated() {
            guard !remaining.isEmpty || index == 0 else { return false }
            let dot = remaining.firstIndex(of: ".")
            let part = remaining[..<(dot ?? remaining.endIndex)]
            if part.isEmpty { return false }
            switch segment {
            case .literal(let literal):
                guard part == literal else { return false }
            case .anySegment:
                break
            case .anyTrailing:
                // One or more segments remain; all must be non-empty.
                return !remaining.hasSuffix(".") && !remaining.contains("..")
            }
            guard let dot else {
                return index == segments.count - 1
            }
            remaining = remaining[remaining.index(after: dot)...]
            if remaining.isEmpty { return false }
        }
        return false
    }

    public var description: String { text }
}
