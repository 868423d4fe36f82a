import HadronCore
public import KubeAPI

/// The rules of a Subscription its CRD schema cannot express (DESIGN.md §5; Knative's delivery spec).
public enum SubscriptionAdmission {
    public static func validate(_ subscription: HadronSubscription, old: HadronSubscription?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        SpecRules.dottedName(subscription.metadata.name, kind: "Subscription", into: &findings)
        guard let spec = subscription.spec else {
            findings.deny("spec", "spec is required: set spec.stream and spec.subscriber")
            return findings
        }
        SpecRules.reference(spec.stream, field: "spec.stream", what: "stream to deliver from", into: &findings)
        if let old, let previous = old.spec?.stream {
            // The delivery position is an offset into one stream; it means nothing in another.
            SpecRules.immutable(
                spec.stream, old: previous, field: "spec.stream", describe: { $0 },
                why: "a subscription's delivery position belongs to its stream; create a new Subscription for the "
                    + "other stream", into: &findings)
        }
        FilterRules.validate(spec.filters ?? [], field: "spec.filters", into: &findings)
        SpecRules.deliveryURI(spec.subscriber.uri, field: "spec.subscriber.uri", into: &findings)
        if let delivery = spec.delivery {
            if let ordering = delivery.ordering, !["ordered", "unordered"].contains(ordering) {
                findings.deny(
                    "spec.delivery.ordering", "spec.delivery.ordering \"\(ordering)\" must be ordered or unordered")
            }
            if let retry = delivery.retry, retry < 0 {
                findings.deny(
                    "spec.delivery.retry",
                    "spec.delivery.retry (\(retry)) must not be negative: set 0 for no retries")
            }
            if let policy = delivery.backoffPolicy, !["linear", "exponential"].contains(policy) {
                findings.deny(
                    "spec.delivery.backoffPolicy",
                    "spec.delivery.backoffPolicy \"\(policy)\" must be linear or exponential")
            }
            SpecRules.isoDuration(
                delivery.backoffDelay, field: "spec.delivery.backoffDelay", positive: false, into: &findings)
            SpecRules.isoDuration(delivery.timeout, field: "spec.delivery.timeout", positive: true, into: &findings)
            if let sink = delivery.deadLetterSink {
                SpecRules.deliveryURI(sink.uri, field: "spec.delivery.deadLetterSink.uri", into: &findings)
            }
        }
        if let reply = spec.reply {
            SpecRules.reference(reply.stream, field: "spec.reply.stream", what: "stream replies go to", into: &findings)
        }
        return findings
    }
}
