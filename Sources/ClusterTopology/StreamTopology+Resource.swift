public import HadronCore
public import KubeAPI

extension PartitionInfo {
    /// A partition as a Stream's `status.partitions` records it; a missing state reads as `Unavailable`.
    public init(status entry: HadronStream.PartitionStatus) {
        self.init(
            partition: entry.partition, leader: entry.leader, epoch: Int32(clamping: entry.epoch ?? 0),
            replicas: entry.replicas ?? [], isr: entry.isr ?? [],
            state: entry.state.flatMap(PartitionState.init(rawValue:)) ?? .unavailable)
    }
}

extension StreamTopology {
    /// A Stream custom resource as the data path follows it: settings from `spec`, with the defaults the local
    /// controller gives the same YAML (``StreamResource``), and partitions as the operator recorded them in
    /// `status.partitions`. A partition the spec declares but status does not record yet is `Unavailable`, so
    /// writes to it answer 503 rather than 404 while the operator places it.
    ///
    /// - Throws: ``ResourceError`` when `spec.retention` or `spec.fsync` does not parse (the admission webhook refuses such specs;
    ///   one written before it ran is reported, not guessed at).
    public init(resource stream: HadronStream) throws(ResourceError) {
        let spec = stream.spec ?? HadronStream.Spec()
        var retention = RetentionSpec()
        if let maxAge = spec.retention?.maxAge {
            retention.maxAgeMilliseconds = try Quantities.milliseconds(maxAge, field: "spec.retention.maxAge")
        }
        if let maxBytes = spec.retention?.maxBytes {
            retention.maxBytes = try Quantities.bytes(maxBytes, field: "spec.retention.maxBytes")
        }
        var durability: Durability?
        if let fsync = spec.fsync {
            guard let value = Durability(rawValue: fsync) else {
                throw ResourceError("Stream \(stream.name): spec.fsync must be \"always\" or \"replicated\"")
            }
            durability = value
        }
        let replicationFactor = max(1, spec.replicationFactor ?? 1)
        let defaults = StreamResource(
            name: stream.name, partitions: max(1, spec.partitions ?? 1), replicationFactor: replicationFactor,
            minInSyncReplicas: spec.minInSyncReplicas, durability: durability,
            retention: retention)

        let recorded = stream.status?.partitions ?? []
        let count = max(defaults.partitions, (recorded.map(\.partition).max() ?? -1) + 1)
        var partitions = (0..<count).map {
            PartitionInfo(partition: $0, leader: nil, epoch: 0, replicas: [], isr: [], state: .unavailable)
        }
        for entry in recorded where partitions.indices.contains(entry.partition) {
            partitions[entry.partition] = PartitionInfo(status: entry)
        }
        self.init(
            name: stream.name, replicationFactor: replicationFactor, minInSyncReplicas: defaults.minInSyncReplicas,
            durability: defaults.durability, retention: retention, partitions: partitions)
    }
}
