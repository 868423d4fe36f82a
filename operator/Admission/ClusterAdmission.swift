import HadronCore
public import KubeAPI

/// The rules of a HadronCluster its CRD schema cannot express.
public enum ClusterAdmission {
    /// - Parameter old: the object before an UPDATE; nil on CREATE.
    public static func validate(_ cluster: HadronCluster, old: HadronCluster?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        if let name = cluster.metadata.name {
            SpecRules.clusterName(name, field: "metadata.name", into: &findings)
        }
        let spec = cluster.spec ?? .init()
        if let replicas = spec.storage?.replicas, replicas < 1 {
            findings.deny(
                "spec.storage.replicas",
                "spec.storage.replicas (\(replicas)) must be at least 1: every partition needs a storage pod")
        }
        if let replicas = spec.gateway?.replicas, replicas < 0 {
            findings.deny(
                "spec.gateway.replicas", "spec.gateway.replicas (\(replicas)) must not be negative: set 0 or more")
        }
        if let size = spec.storage?.volumeSize {
            findings.check("spec.storage.volumeSize") { () throws(ResourceError) in
                let bytes = try Quantities.bytes(size, field: "spec.storage.volumeSize")
                if bytes <= 0 {
                    throw ResourceError("spec.storage.volumeSize (\(size)) must be larger than zero: set e.g. 10Gi")
                }
            }
        }
        if let storageClass = spec.storage?.storageClassName, !storageClass.isEmpty {
            SpecRules.reference(
                storageClass, field: "spec.storage.storageClassName", what: "StorageClass", into: &findings)
        }
        if let ingress = spec.gateway?.ingress {
            ingressHost(ingress.host, into: &findings)
            if let secret = ingress.tlsSecret {
                SpecRules.reference(
                    secret, field: "spec.gateway.ingress.tlsSecret", what: "TLS Secret", into: &findings)
            }
        }
        if let secret = spec.auth?.signingKeySecret {
            SpecRules.reference(
                secret, field: "spec.auth.signingKeySecret", what: "signing key Secret", into: &findings)
        }
        if let old {
            // The storage StatefulSet's volume claim templates are immutable in Kubernetes: a new size or
            // class would never reach the volumes, and the cluster would silently differ from its spec.
            let why =
                "the storage StatefulSet's volume claim templates cannot change; to resize, edit each "
                + "PersistentVolumeClaim (data-\(ClusterNames.storage(cluster.metadata.name ?? "NAME"))-N) if its "
                + "StorageClass allows expansion, or create a new cluster"
            SpecRules.immutable(
                spec.storage?.volumeSize ?? "10Gi", old: old.spec?.storage?.volumeSize ?? "10Gi",
                field: "spec.storage.volumeSize", describe: { $0 }, why: why, into: &findings)
            SpecRules.immutable(
                spec.storage?.storageClassName ?? "", old: old.spec?.storage?.storageClassName ?? "",
                field: "spec.storage.storageClassName", describe: { $0.isEmpty ? "(default)" : $0 }, why: why,
                into: &findings)
        }
        return findings
    }

    /// An Ingress host: a DNS name, optionally with a leading `*.` wildcard, never an IP address.
    private static func ingressHost(_ host: String?, into findings: inout AdmissionFindings) {
        let field = "spec.gateway.ingress.host"
        guard let host, !host.isEmpty else {
            findings.deny(field, "\(field) is required when spec.gateway.ingress is set: name the public host")
            return
        }
        let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        if name.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            findings.deny(field, "\(field) \"\(host)\" is an IP address; an Ingress host must be a DNS name")
            return
        }
        do { try DNSName.validateSubdomain(name) } catch {
            findings.deny(
                field, "\(field): \(error.message); write a lower-case DNS name like events.example.com")
        }
    }
}
