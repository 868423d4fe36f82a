public import KubeAPI

/// The rules of an Endpoint its CRD schema cannot express: the request timeout and the backend URI.
public enum EndpointAdmission {
    public static func validate(_ endpoint: HadronEndpoint, old: HadronEndpoint?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        SpecRules.dottedName(endpoint.metadata.name, kind: "Endpoint", into: &findings)
        let spec = endpoint.spec ?? .init()
        SpecRules.clusterReference(spec.cluster, old: old.map { $0.spec?.cluster }, kind: "Endpoint", into: &findings)
        SpecRules.isoDuration(spec.timeout, field: "spec.timeout", positive: true, into: &findings)
        if let backend = spec.backend {
            SpecRules.deliveryURI(backend.uri, field: "spec.backend.uri", into: &findings)
        }
        return findings
    }
}
