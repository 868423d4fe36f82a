/// The names through which a Hadron cluster's pods reach each other inside Kubernetes (DESIGN.md §6). The operator
/// creates the Services these names resolve through, and the data plane dials them, so both take them from here.
public enum ClusterDNS {
    /// The storage nodes' internal API (h2c): appends from gateways, fetches from followers.
    public static let storagePort = 9101

    /// The storage pods' governing headless Service: it gives every pod a stable DNS name.
    public static func storageHeadless(cluster: String) -> String { "\(cluster)-storage" }

    /// `{cluster}-{stream}-{p}`, the per-partition Service whose selector the operator points at the leader pod.
    /// Service names are DNS-1035 labels, so the dots of a dotted stream name become dashes.
    public static func partitionService(cluster: String, stream: String, partition: Int) -> String {
        "\(cluster)-\(stream.replacingOccurrences(of: ".", with: "-"))-\(partition)"
    }

    /// The internal API of storage pod `pod`: `{pod}.{cluster}-storage.{namespace}.svc:9101`, resolvable before the
    /// pod is ready (the headless Service publishes not-ready addresses: a follower catching up is not ready).
    public static func storagePodAddress(pod: String, cluster: String, namespace: String) -> String {
        "\(pod).\(storageHeadless(cluster: cluster)).\(namespace).svc:\(storagePort)"
    }

    /// The internal API behind partition `partition`'s Service: whichever pod leads it.
    public static func partitionServiceAddress(
        cluster: String, stream: String, partition: Int, namespace: String
    ) -> String {
        "\(partitionService(cluster: cluster, stream: stream, partition: partition)).\(namespace).svc:\(storagePort)"
    }
}
