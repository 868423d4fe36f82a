import HadronCore
public import KubeAPI

/// What the webhook learned about the HadronCluster a Stream names.
public enum ClusterLookup: Sendable {
    case found(HadronCluster)
    case notFound
    /// The API server could not be asked; the reason goes into a warning.
    case unavailable(String)
}

/// The rules of a Stream its CRD schema cannot express (DESIGN.md §5, §6).
public enum StreamAdmission {
    /// - Parameters:
    ///   - old: the object before an UPDATE; nil on CREATE.
    ///   - cluster: the HadronCluster `spec.cluster` names, looked up in the stream's namespace.
    public static func validate(_ stream: HadronStream, old: HadronStream?, cluster: ClusterLookup) -> AdmissionFindings
    {
        var findings = AdmissionFindings()
        let spec = stream.spec ?? .init()
        SpecRules.dottedName(stream.metadata.name, kind: "Stream", into: &findings)
        SpecRules.clusterReference(
            spec.cluster, old: old.map { $0.spec?.cluster }, kind: "Stream", into: &findings)
        findings.violations += StreamRules.sizingViolations(
            partitions: spec.partitions, replicationFactor: spec.replicationFactor,
            minInSyncReplicas: spec.minInSyncReplicas)

        partitionServices(stream, into: &findings)
        if let old { neverShrink(spec.partitions, old: old, into: &findings) }
        replicationFactor(spec, old: old, cluster: cluster, into: &findings)

        if let fsync = spec.fsync, Durability(rawValue: fsync) == nil {
            findings.deny("spec.fsync", "spec.fsync \"\(fsync)\" must be \"always\" or \"replicated\"")
        }
        if let maxAge = spec.retention?.maxAge {
            findings.check("spec.retention.maxAge") { () throws(ResourceError) in
                _ = try Quantities.milliseconds(maxAge, field: "spec.retention.maxAge")
            }
        }
        if let maxBytes = spec.retention?.maxBytes {
            findings.check("spec.retention.maxBytes") { () throws(ResourceError) in
                _ = try Quantities.bytes(maxBytes, field: "spec.retention.maxBytes")
            }
        }
        if let selector = spec.selector { SelectorRules.validate(selector, field: "spec.selector", into: &findings) }
        return findings
    }

    /// Every partition gets a Service `{cluster}-{stream}-{p}` (DESIGN.md §6), a DNS-1035 label of at most 63
    /// characters: a name that cannot make the last one is refused now rather than failing in the reconciler.
    private static func partitionServices(_ stream: HadronStream, into findings: inout AdmissionFindings) {
        guard let name = stream.metadata.name, DNSName.isValidSubdomain(name),
            let cluster = stream.spec?.cluster, ClusterNames.isValidServiceName(cluster),
            let partitions = stream.spec?.partitions, partitions >= 1
        else { return }
        let last = ClusterNames.partitionService(cluster: cluster, stream: name, partition: partitions - 1)
        guard !ClusterNames.isValidServiceName(last) else { return }
        let room = 63 - cluster.utf8.count - 2 - String(partitions - 1).utf8.count
        findings.deny(
            "metadata.name",
            "metadata.name \"\(name)\" makes partition Service \"\(last)\" (\(last.utf8.count) characters), which is "
                + "not a valid Service name (at most 63 characters): with cluster \"\(cluster)\" and \(partitions) "
                + "partitions, shorten the stream name to at most \(max(room, 0)) characters")
    }

    /// Keys map to partitions by count, so removing a partition would re-route every key (StreamPlan refuses
    /// it too); both the old spec and the partitions recorded in status count.
    private static func neverShrink(_ partitions: Int?, old: HadronStream, into findings: inout AdmissionFindings) {
        guard let partitions else { return }
        let recorded = (old.status?.partitions?.map(\.partition).max()).map { $0 + 1 } ?? 0
        let existing = max(old.spec?.partitions ?? 0, recorded)
        if partitions < existing {
            findings.deny(
                "spec.partitions",
                "spec.partitions cannot shrink (\(existing) → \(partitions)): keys map to partitions by count, so "
                    + "fewer partitions would re-route existing keys; set spec.partitions to at least \(existing)")
        }
    }

    private static func replicationFactor(
        _ spec: HadronStream.Spec, old: HadronStream?, cluster: ClusterLookup, into findings: inout AdmissionFindings
    ) {
        let factor = spec.replicationFactor ?? 1
        if let old {
            // Placement assigns a partition's replicas once and never moves them (StreamPlan); a new factor
            // would apply to new partitions only and leave the stream with mixed durability.
            SpecRules.immutable(
                factor, old: old.spec?.replicationFactor ?? 1, field: "spec.replicationFactor",
                describe: { String($0) },
                why: "replicas are placed once and never reassigned; create a new stream with the replication factor "
                    + "you need and move producers to it", into: &findings)
        }
        guard factor >= 1, let clusterName = spec.cluster, !clusterName.isEmpty else { return }
        switch cluster {
        case .found(let hadronCluster):
            let replicas = hadronCluster.spec?.storage?.replicas ?? 3
            if factor > replicas {
                findings.deny(
                    "spec.replicationFactor",
                    "spec.replicationFactor (\(factor)) must not exceed the storage replicas of HadronCluster "
                        + "\"\(clusterName)\" (\(replicas)): lower replicationFactor or raise "
                        + "spec.storage.replicas of the cluster")
            }
        case .notFound:
            findings.warn(
                "HadronCluster \"\(clusterName)\" does not exist yet; the stream stays unplaced until it does")
        case .unavailable(let reason):
            findings.warn(
                "could not read HadronCluster \"\(clusterName)\" (\(reason)); replicationFactor was not checked "
                    + "against its storage replicas")
        }
    }
}
