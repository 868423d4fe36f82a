import Foundation
import HadronCore
import KubeAPI

/// Field checks several kinds share: names, cluster references, URIs, durations, immutability. Each records a
/// violation whose message names the field, the value and the fix.
enum SpecRules {
    /// The longest HadronCluster name: its storage StatefulSet is `{name}-storage`, and the StatefulSet
    /// controller labels each pod `controller-revision-hash: {statefulset}-{hash}` (a hash of up to 10
    /// characters), a label value that must fit in 63 characters.
    static let maximumClusterNameLength = 63 - 11 - "-storage".count

    /// `metadata.name` of a kind whose names are dotted (streams, subscriptions, …): a DNS-1123 subdomain.
    static func dottedName(_ name: String?, kind: String, into findings: inout AdmissionFindings) {
        guard let name, !name.isEmpty else {
            findings.deny("metadata.name", "metadata.name is required: name the \(kind)")
            return
        }
        do { try DNSName.validateSubdomain(name) } catch {
            findings.deny(
                "metadata.name",
                "metadata.name: \(error.message); a \(kind) name is dot-separated lower-case DNS labels (orders.eu)")
        }
    }

    /// A HadronCluster name, as a cluster's own `metadata.name` or another kind's `spec.cluster`: the operator
    /// derives Service and StatefulSet names from it, so it must be a DNS-1035 label short enough for them.
    static func clusterName(_ name: String, field: String, into findings: inout AdmissionFindings) {
        guard ClusterNames.isValidServiceName(name) else {
            findings.deny(
                field,
                "\(field) \"\(name)\" is not a valid cluster name: use lower-case letters, digits and '-', "
                    + "starting with a letter and ending with a letter or digit (it prefixes Service names, "
                    + "which are DNS-1035 labels)")
            return
        }
        if name.utf8.count > maximumClusterNameLength {
            findings.deny(
                field,
                "\(field) \"\(name)\" is \(name.utf8.count) characters; a cluster name has at most "
                    + "\(maximumClusterNameLength) so that its storage StatefulSet's pod labels fit: shorten it")
        }
    }

    /// `spec.cluster` of a kind that belongs to one cluster: required in Kubernetes (locally it may be
    /// omitted), a valid cluster name, and fixed once set — moving an object between clusters would strand
    /// what the old cluster holds for it.
    static func clusterReference(
        _ cluster: String?, old: String??, kind: String, into findings: inout AdmissionFindings
    ) {
        guard let cluster, !cluster.isEmpty else {
            findings.deny("spec.cluster", "spec.cluster is required: name the HadronCluster this \(kind) belongs to")
            return
        }
        clusterName(cluster, field: "spec.cluster", into: &findings)
        if case .some(let previous) = old, previous != cluster {
            findings.deny(
                "spec.cluster",
                "spec.cluster is immutable (\(previous ?? "unset") → \(cluster)): a \(kind) cannot move between "
                    + "clusters; create a new \(kind) in the other cluster and delete this one")
        }
    }

    /// A name the object refers to (a stream, a Secret): a DNS-1123 subdomain.
    static func reference(_ name: String?, field: String, what: String, into findings: inout AdmissionFindings) {
        guard let name, !name.isEmpty else {
            findings.deny(field, "\(field) is required: name the \(what)")
            return
        }
        do { try DNSName.validateSubdomain(name) } catch {
            findings.deny(field, "\(field): \(error.message)")
        }
    }

    /// An absolute `http` or `https` URI with a host: where Hadron delivers events or forwards requests.
    static func deliveryURI(_ text: String?, field: String, into findings: inout AdmissionFindings) {
        guard let text, !text.isEmpty else {
            findings.deny(field, "\(field) is required: set an absolute http:// or https:// URI")
            return
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            findings.deny(field, "\(field) \"\(text)\" is not a URI: write it like http://billing.default.svc/events")
            return
        }
        guard scheme == "http" || scheme == "https" else {
            findings.deny(
                field, "\(field) \"\(text)\" uses scheme \"\(scheme)\"; Hadron delivers over http:// or https:// only")
            return
        }
        guard let host = components.host, !host.isEmpty else {
            findings.deny(field, "\(field) \"\(text)\" has no host: write it like http://billing.default.svc/events")
            return
        }
        if components.user != nil || components.password != nil {
            findings.deny(
                field,
                "\(field) \"\(text)\" carries credentials; they would be stored in plain text: remove them and "
                    + "authenticate the receiver another way")
        }
    }

    /// An ISO-8601 duration (`PT30S`); `positive` refuses zero.
    static func isoDuration(_ text: String?, field: String, positive: Bool, into findings: inout AdmissionFindings) {
        guard let text else { return }
        do {
            let duration = try ISO8601Duration.parse(text, field: field)
            if positive, duration <= .zero {
                findings.deny(field, "\(field) (\(text)) must be longer than zero: set a positive duration like PT30S")
            }
        } catch {
            findings.deny(field, error.message)
        }
    }

    /// A field that may not change once the object exists.
    static func immutable<Value: Equatable>(
        _ value: Value, old: Value?, field: String, describe: (Value) -> String, why: String,
        into findings: inout AdmissionFindings
    ) {
        guard let old, old != value else { return }
        findings.deny(field, "\(field) is immutable (\(describe(old)) → \(describe(value))): \(why)")
    }
}
