import KubeAPI

/// CloudEvents subscription filters (DESIGN.md §5; the CloudEvents Subscriptions API dialects Knative Triggers
/// use): each filter is an object with exactly one dialect — `exact`, `prefix`, `suffix` (one attribute and its
/// value), `all`, `any` (a non-empty list of filters) or `not` (one filter).
enum FilterRules {
    static let dialects = ["exact", "prefix", "suffix", "all", "any", "not"]

    static func validate(_ filters: [JSONValue], field: String, into findings: inout AdmissionFindings) {
        for (index, filter) in filters.enumerated() {
            validate(filter, path: "\(field)[\(index)]", into: &findings)
        }
    }

    private static func validate(_ filter: JSONValue, path: String, into findings: inout AdmissionFindings) {
        let list = dialects.joined(separator: ", ")
        guard let members = filter.objectValue else {
            findings.deny(path, "\(path) must be an object with one of \(list)")
            return
        }
        let present = members.keys.sorted()
        guard present.count == 1, let dialect = present.first else {
            findings.deny(
                path,
                present.isEmpty
                    ? "\(path) is empty: give it exactly one of \(list)"
                    : "\(path) has \(present.joined(separator: " and ")); a filter has exactly one dialect: split it "
                        + "into separate filters (a list of filters already means all of them)")
            return
        }
        let value = members[dialect]!
        let here = "\(path).\(dialect)"
        switch dialect {
        case "exact", "prefix", "suffix":
            attributeMatch(value, dialect: dialect, path: here, into: &findings)
        case "all", "any":
            guard let nested = value.arrayValue else {
                findings.deny(here, "\(here) must be a list of filters")
                return
            }
            if nested.isEmpty {
                findings.deny(here, "\(here) is empty: list at least one filter, or remove it")
            }
            for (index, inner) in nested.enumerated() { validate(inner, path: "\(here)[\(index)]", into: &findings) }
        case "not":
            validate(value, path: here, into: &findings)
        default:
            let hint = dialect == "sql" ? " (CESQL filters are not supported)" : ""
            findings.deny(path, "\(path): \"\(dialect)\" is not a filter dialect\(hint); use one of \(list)")
        }
    }

    /// `{attribute: value}` with exactly one attribute, named as CloudEvents names attributes.
    private static func attributeMatch(
        _ value: JSONValue, dialect: String, path: String, into findings: inout AdmissionFindings
    ) {
        guard let members = value.objectValue else {
            findings.deny(path, "\(path) must map one attribute name to a value, like {type: com.example.created}")
            return
        }
        guard members.count == 1, let (attribute, expected) = members.first else {
            findings.deny(
                path,
                "\(path) has \(members.count) attributes; \(dialect) matches exactly one: use one filter per "
                    + "attribute")
            return
        }
        if let problem = attributeNameProblem(attribute) {
            findings.deny(path, "\(path): attribute \"\(attribute)\" \(problem)")
        }
        guard let text = expected.stringValue else {
            findings.deny(path, "\(path).\(attribute) must be a string; quote the value")
            return
        }
        if dialect != "exact", text.isEmpty {
            findings.deny(
                path, "\(path).\(attribute) is empty; an empty \(dialect) matches every event: remove the filter")
        }
    }

    /// CloudEvents attribute names: lower-case ASCII letters and digits (CloudEvents 1.0 §3.1.1), at most 20
    /// characters as the specification recommends.
    static func attributeNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if !name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }) {
            return "is not a CloudEvents attribute name: use only lower-case letters a-z and digits 0-9"
        }
        if name.utf8.count > 20 { return "is longer than 20 characters, the longest CloudEvents attribute name" }
        return nil
    }
}
