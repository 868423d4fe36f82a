/// What one AuthGrant permission covers (DESIGN.md §5): a kind of resource and a pattern over its dotted names,
/// written `streams/orders.*` or `endpoints/billing.>`.
///
/// The verbs each kind takes are the gateway's contract: a grant for a verb the gateway never checks would read
/// as a permission while granting nothing, so it is refused where the grant is declared.
public struct GrantScope: Sendable, Hashable, CustomStringConvertible {
    /// The kinds of resource a token may be granted access to, with the verbs that apply to each.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case streams
        case exchanges
        case endpoints

        /// `publish` appends events; `subscribe` reads them (partitions and subscription groups); `invoke` calls
        /// an endpoint and waits for its reply.
        public var verbs: [String] {
            switch self {
            case .streams: ["publish", "subscribe"]
            case .exchanges: ["publish"]
            case .endpoints: ["invoke"]
            }
        }
    }

    public let kind: Kind
    public let pattern: NamePattern

    public init(parsing text: String) throws(ResourceError) {
        let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let slash = text.firstIndex(of: "/") else {
            throw ResourceError(
                "\"\(text)\" must be KIND/PATTERN, for example streams/orders.* (KIND is one of \(kinds))")
        }
        let kindText = String(text[..<slash])
        guard let kind = Kind(rawValue: kindText) else {
            throw ResourceError("\"\(text)\": \"\(kindText)\" is not a kind of resource; use one of \(kinds)")
        }
        do {
            pattern = try NamePattern(parsing: String(text[text.index(after: slash)...]))
        } catch {
            throw ResourceError("\"\(text)\": \(error.message)")
        }
        self.kind = kind
    }

    public var description: String { "\(kind.rawValue)/\(pattern.text)" }
}
