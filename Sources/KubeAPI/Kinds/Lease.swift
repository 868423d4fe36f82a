/// `coordination.k8s.io/v1` Lease: the record leader election reads and writes.
public struct Lease: KubeResource, Equatable {
    public static let descriptor = ResourceDescriptor(
        group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: LeaseSpec?

    public init(metadata: ObjectMeta, spec: LeaseSpec? = nil) {
        self.apiVersion = Self.descriptor.apiVersion
        self.kind = Self.descriptor.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct LeaseSpec: Codable, Sendable, Equatable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int?
    public var acquireTime: MicroTime?
    public var renewTime: MicroTime?
    public var leaseTransitions: Int?

    public init(
        holderIdentity: String? = nil,
        leaseDurationSeconds: Int? = nil,
        acquireTime: MicroTime? = nil,
        renewTime: MicroTime? = nil,
        leaseTransitions: Int? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}
