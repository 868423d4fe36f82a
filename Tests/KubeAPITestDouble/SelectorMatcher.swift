import Foundation
import KubeAPI

/// Parses and evaluates `labelSelector` as the API server does (equality- and set-based).
struct SelectorMatcher: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case doesNotExist(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
    }

    var requirements: [Requirement] = []

    init(parsing text: String?) throws {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        for term in Self.splitTopLevel(text) {
            let term = term.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { throw APIFailure.badRequest("unable to parse requirement: empty term in \(text)") }
            if let range = term.range(of: " notin ") {
                requirements.append(
                    .notIn(String(term[..<range.lowerBound]).trimmed, try Self.values(term[range.upperBound...])))
            } else if let range = term.range(of: " in ") {
                requirements.append(
                    .isIn(String(term[..<range.lowerBound]).trimmed, try Self.values(term[range.upperBound...])))
            } else if let range = term.range(of: "!=") {
                requirements.append(
                    .notEquals(String(term[..<range.lowerBound]).trimmed, String(term[range.upperBound...]).trimmed))
            } else if let range = term.range(of: "==") {
                requirements.append(
                    .equals(String(term[..<range.lowerBound]).trimmed, String(term[range.upperBound...]).trimmed))
            } else if let range = term.range(of: "=") {
                requirements.append(
                    .equals(String(term[..<range.lowerBound]).trimmed, String(term[range.upperBound...]).trimmed))
            } else if term.hasPrefix("!") {
                requirements.append(.doesNotExist(String(term.dropFirst()).trimmed))
            } else if term.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) {
                requirements.append(.exists(term))
            } else {
                throw APIFailure.badRequest("unable to parse requirement: \(term)")
            }
        }
    }

    func matches(_ object: JSONValue?) -> Bool {
        let labels = object?[path: ["metadata", "labels"]]?.objectValue ?? [:]
        return requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): return labels[key]?.stringValue == value
            case .notEquals(let key, let value): return labels[key]?.stringValue != value
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            case .isIn(let key, let values): return labels[key]?.stringValue.map(values.contains) ?? false
            case .notIn(let key, let values): return !(labels[key]?.stringValue.map(values.contains) ?? false)
            }
        }
    }

    private static func values(_ text: Substring) throws -> Set<String> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("("), trimmed.hasSuffix(")") else {
            throw APIFailure.badRequest("unable to parse requirement: expected a parenthesised set in \(text)")
        }
        return Set(trimmed.dropFirst().dropLast().split(separator: ",").map { String($0).trimmed })
    }

    /// Splits at commas outside parentheses.
    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespaces) }
}
