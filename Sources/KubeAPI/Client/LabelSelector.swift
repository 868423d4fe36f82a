/// A label selector as the `labelSelector` query parameter spells it (`app=hadron,tier!=gateway`).
public struct LabelSelector: Sendable, Equatable, CustomStringConvertible, ExpressibleByDictionaryLiteral {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case doesNotExist(String)
        case isIn(String, [String])
        case notIn(String, [String])

        var text: String {
            switch self {
            case .equals(let key, let value): return "\(key)=\(value)"
            case .notEquals(let key, let value): return "\(key)!=\(value)"
            case .exists(let key): return key
            case .doesNotExist(let key): return "!\(key)"
            case .isIn(let key, let values): return "\(key) in (\(values.joined(separator: ",")))"
            case .notIn(let key, let values): return "\(key) notin (\(values.joined(separator: ",")))"
            }
        }
    }

    public var requirements: [Requirement]

    public init(_ requirements: [Requirement]) {
        self.requirements = requirements
    }

    /// Every label equal to the given value (a `matchLabels`).
    public init(dictionaryLiteral elements: (String, String)...) {
        self.requirements = elements.sorted { $0.0 < $1.0 }.map { .equals($0.0, $0.1) }
    }

    public init(matchLabels: [String: String]) {
        self.requirements = matchLabels.sorted { $0.key < $1.key }.map { .equals($0.key, $0.value) }
    }

    public var description: String { requirements.map(\.text).joined(separator: ",") }
}
