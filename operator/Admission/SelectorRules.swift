import KubeAPI

/// A label selector (`matchLabels`, `matchExpressions`) as Kubernetes accepts it: the operator turns a Stream's
/// selector into a placement filter over storage pods' labels.
enum SelectorRules {
    static func validate(_ selector: LabelSelectorSpec, field: String, into findings: inout AdmissionFindings) {
        for (key, value) in (selector.matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = "\(field).matchLabels[\(key)]"
            if let problem = LabelSyntax.keyProblem(key) {
                findings.deny(path, "\(path): key \"\(key)\" is not a label key: \(problem)")
            }
            if let problem = LabelSyntax.valueProblem(value) {
                findings.deny(path, "\(path): \(problem)")
            }
        }
        for (index, requirement) in (selector.matchExpressions ?? []).enumerated() {
            let path = "\(field).matchExpressions[\(index)]"
            if let problem = LabelSyntax.keyProblem(requirement.key) {
                findings.deny("\(path).key", "\(path).key \"\(requirement.key)\" is not a label key: \(problem)")
            }
            let values = requirement.values ?? []
            switch requirement.operator {
            case "In", "NotIn":
                if values.isEmpty {
                    findings.deny(
                        "\(path).values",
                        "\(path).values must not be empty for operator \(requirement.operator): list the label "
                            + "values to match")
                }
            case "Exists", "DoesNotExist":
                if !values.isEmpty {
                    findings.deny(
                        "\(path).values",
                        "\(path).values must be empty for operator \(requirement.operator): remove the values")
                }
            default:
                findings.deny(
                    "\(path).operator",
                    "\(path).operator \"\(requirement.operator)\" is not one of In, NotIn, Exists, DoesNotExist")
            }
            for value in values {
                if let problem = LabelSyntax.valueProblem(value) {
                    findings.deny("\(path).values", "\(path).values: \(problem)")
                }
            }
        }
    }
}
