import HadronCore
public import KubeAPI

/// The rules of an AuthGrant its CRD schema cannot express: what each permission covers, the verbs that kind
/// of resource takes, and the Secret the token is minted into.
public enum AuthGrantAdmission {
    public static func validate(_ grant: HadronAuthGrant, old: HadronAuthGrant?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        SpecRules.dottedName(grant.metadata.name, kind: "AuthGrant", into: &findings)
        guard let spec = grant.spec else {
            findings.deny("spec", "spec is required: set spec.secretName and spec.permissions")
            return findings
        }
        SpecRules.clusterReference(spec.cluster, old: old.map { $0.spec?.cluster }, kind: "AuthGrant", into: &findings)
        SpecRules.reference(
            spec.secretName, field: "spec.secretName", what: "Secret the token is written to", into: &findings)
        if spec.permissions.isEmpty {
            findings.deny(
                "spec.permissions",
                "spec.permissions is empty: a token that may do nothing is useless; list at least one permission")
        }
        for (index, permission) in spec.permissions.enumerated() {
            let path = "spec.permissions[\(index)]"
            let scope: GrantScope
            do { scope = try GrantScope(parsing: permission.resource) } catch {
                findings.deny("\(path).resource", "\(path).resource \(error.message)")
                continue
            }
            if permission.verbs.isEmpty {
                findings.deny(
                    "\(path).verbs",
                    "\(path).verbs is empty: list what the token may do with \(scope) "
                        + "(\(scope.kind.verbs.joined(separator: ", ")))")
            }
            for verb in permission.verbs where !scope.kind.verbs.contains(verb) {
                findings.deny(
                    "\(path).verbs",
                    "\(path).verbs: \"\(verb)\" does not apply to \(scope.kind.rawValue); use "
                        + scope.kind.verbs.joined(separator: " or "))
            }
        }
        return findings
    }
}
