public import HadronCore

/// Where a gateway learns the cluster's topology: the controller's watch (``TopologyFollower``), the Kubernetes
/// resources (with the operator), or an in-process controller (``TopologyFeed``, for `hadron dev`).
///
/// A source pushes rather than being polled, because leadership changes must reach the write path at once: a
/// gateway waiting on a new leader retries the moment the next topology arrives.
public protocol TopologySource: Sendable {
    /// Delivers every topology the source learns, the latest last, until the calling task is cancelled.
    /// Returns (or throws) only when the source can say nothing more; a source that can reconnect does so itself.
    func follow(_ deliver: @escaping @Sendable (Topology) -> Void) async throws
}
