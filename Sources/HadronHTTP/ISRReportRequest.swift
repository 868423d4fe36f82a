import Foundation
public import HadronCore
public import NIOCore

/// The ISR report a partition leader POSTs to its controller (DESIGN.md §6): the local controller at
/// `/v1/streams/{s}/partitions/{p}/isr`, the operator at `/v1/namespaces/{ns}/streams/{s}/partitions/{p}/isr`.
/// Both read the body and answer refusals the same way, from here.
public enum ISRReportRequest {
    /// The report in `body`, which must name the partition of the path.
    public static func decode(_ body: ByteBuffer, stream: String, partition: String) throws(ProblemDetails)
        -> ISRChange
    {
        let change: ISRChange
        do {
            change = try JSONDecoder().decode(ISRChange.self, from: Data(body.readableBytesView))
        } catch {
            throw ProblemDetails(.badRequest, "ISR change body: \(error)")
        }
        guard change.stream == stream, String(change.partition) == partition else {
            throw ProblemDetails(.badRequest, "the body names another partition than the path")
        }
        return change
    }
}

extension ProblemDetails {
    /// A controller's refusal to record a report: 404 unknown partition, 409 not the leader at that epoch or a
    /// replica that may not join, 400 a malformed set.
    public init(_ refusal: ISRChangeRefusal) {
        switch refusal.reason {
        case .unknownPartition: self.init(.notFound, refusal.message)
        case .notLeader, .ineligibleReplica: self.init(.conflict, refusal.message)
        case .invalid: self.init(.badRequest, refusal.message)
        }
    }
}
