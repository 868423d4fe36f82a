import HadronCore
public import KubeAPI

/// The rules of an Exchange its CRD schema cannot express: topic patterns (`*` one segment, `>` trailing
/// segments) and sink URIs.
public enum ExchangeAdmission {
    public static func validate(_ exchange: HadronExchange, old: HadronExchange?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        SpecRules.dottedName(exchange.metadata.name, kind: "Exchange", into: &findings)
        let spec = exchange.spec ?? .init()
        SpecRules.clusterReference(spec.cluster, old: old.map { $0.spec?.cluster }, kind: "Exchange", into: &findings)
        for (index, sink) in (spec.sinks ?? []).enumerated() {
            let path = "spec.sinks[\(index)]"
            do { _ = try NamePattern(parsing: sink.topic) } catch {
                findings.deny(
                    "\(path).topic",
                    "\(path).topic: \(error.message); write a dotted pattern like com.example.> or com.*.created")
            }
            SpecRules.deliveryURI(sink.uri, field: "\(path).uri", into: &findings)
        }
        return findings
    }
}
