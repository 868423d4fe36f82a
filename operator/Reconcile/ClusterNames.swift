import ClusterTopology
public import KubeAPI

/// The names and labels of everything the operator makes for a HadronCluster and its Streams.
///
/// Gateways and storage pods find partitions through these names (DESIGN.md §6), so they are part
/// of the contract: change them only with the data path.
public enum ClusterNames {
    /// The field manager of every operator write (DESIGN.md §5).
    public static let fieldManager = "hadron-operator"
    /// The storage nodes' internal API (h2c): appends from gateways, fetches from followers.
    public static let storagePort = ClusterDNS.storagePort
    /// The gateway's public HTTP API (DESIGN.md §3).
    public static let gatewayPort = 8080
    /// Where each storage pod's volume is mounted.
    public static let dataDirectory = "/var/lib/hadron"

    public static let nameLabel = "app.kubernetes.io/name"
    public static let instanceLabel = "app.kubernetes.io/instance"
    public static let componentLabel = "app.kubernetes.io/component"
    public static let partOfLabel = "app.kubernetes.io/part-of"
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    public static let streamLabel = "hadron.dev/stream"
    public static let partitionLabel = "hadron.dev/partition"
    /// Set by the StatefulSet controller on every pod: a Service selecting it targets exactly one pod.
    public static let podNameLabel = "statefulset.kubernetes.io/pod-name"

    public static func storage(_ cluster: String) -> String { "\(cluster)-storage" }
    public static func gateway(_ cluster: String) -> String { "\(cluster)-gateway" }
    /// The storage pods' governing headless Service (stable DNS per pod).
    public static func storageHeadless(_ cluster: String) -> String { ClusterDNS.storageHeadless(cluster: cluster) }

    /// Pod `ordinal` of the storage StatefulSet.
    public static func storagePod(_ cluster: String, ordinal: Int) -> String { "\(storage(cluster))-\(ordinal)" }

    /// The ordinal of a storage pod of `cluster`, or nil when `pod` is not one.
    public static func storageOrdinal(_ pod: String, cluster: String) -> Int? {
        let prefix = storage(cluster) + "-"
        guard pod.hasPrefix(prefix), let ordinal = Int(pod.dropFirst(prefix.count)), ordinal >= 0,
            pod == storagePod(cluster, ordinal: ordinal)
        else { return nil }
        return ordinal
    }

    /// `{cluster}-{stream}-{p}`, the per-partition Service whose selector points at the leader pod.
    public static func partitionService(cluster: String, stream: String, partition: Int) -> String {
        ClusterDNS.partitionService(cluster: cluster, stream: stream, partition: partition)
    }

    /// Whether `name` can name a Service: a DNS-1035 label (a letter first, at most 63 characters).
    public static func isValidServiceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, (97...122).contains(first),
            last != UInt8(ascii: "-")
        else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// The labels every object made for `cluster` carries.
    public static func labels(cluster: String, component: String) -> [String: String] {
        [
            nameLabel: "hadron", instanceLabel: cluster, componentLabel: component, partOfLabel: "hadron",
            managedByLabel: fieldManager,
        ]
    }

    /// The immutable pod selector of a workload (a subset of its pods' labels).
    public static func selector(cluster: String, component: String) -> [String: String] {
        [nameLabel: "hadron", instanceLabel: cluster, componentLabel: component]
    }

    /// What the operator's informers on owned kinds select.
    public static let managedSelector: LabelSelector = [managedByLabel: fieldManager]

    /// The controller reference to `owner`: garbage collection deletes what it made when the CR goes.
    public static func ownerReference(descriptor: ResourceDescriptor, metadata: ObjectMeta) -> OwnerReference {
        OwnerReference(
            apiVersion: descriptor.apiVersion, kind: descriptor.kind, name: metadata.name ?? "",
            uid: metadata.uid ?? "", controller: true, blockOwnerDeletion: true)
    }
}
