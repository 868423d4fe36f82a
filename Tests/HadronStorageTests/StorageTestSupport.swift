import CloudEvents
import HadronCore
import HadronHTTP
import HadronTestSupport
import Logging
import Synchronization
import Testing

@testable import HadronStorage

/// Record batches as the gateway encodes them: real CloudEvents through the HadronCore encoder.
enum StorageTestBatch {
    static func events(_ count: Int, tag: String = "e", payloadSize: Int = 16) -> [UInt8] {
        let events = (0..<count).map { index in
            CloudEvent(
                id: "\(tag)-\(index)", source: URIReference(unchecked: "/storage-tests"), type: "com.example.test",
                datacontenttype: "application/octet-stream",
                data: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: payloadSize))
        }
        return RecordBatchEncoder().encode(events, receiveTime: 1_700_000_000_000)
    }

    /// The batch as the leader stores it: base offset and epoch stamped in place.
    static func stamped(_ batch: [UInt8], baseOffset: Int64, epoch: Int32) -> [UInt8] {
        var copy = batch
        RecordBatch.stamp(baseOffset: baseOffset, epoch: epoch, in: &copy)
        return copy
    }

    /// A batch whose CRC no longer matches its records.
    static func corrupted(_ batch: [UInt8]) -> [UInt8] {
        var copy = batch
        copy[copy.count - 1] ^= 0xFF
        return copy
    }
}

/// A clock the test moves by hand, for lease expiry and nack backoff.
final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 = $0 + duration } }
    var source: @Sendable () -> ContinuousClock.Instant { { self.now } }
}

/// The replication link of replicas driven directly: node `storage-0` with its own h2c client.
let testLink = ReplicaLink(nodeID: "storage-0", client: InternalClient(logger: quietLogger))

/// A logger that drops everything: tests assert outcomes, not log lines, and keep the output readable.
let quietLogger = Logger(label: "hadron-storage-tests") { _ in SwiftLogNoOpLogHandler() }

/// A one-stream topology with every partition led by `leader` at `epoch`.
func singleNodeTopology(
    stream: String = "events", partitions: Int = 2, leader: String = "storage-0", epoch: Int32 = 1,
    version: Int64 = 1, retention: RetentionSpec = RetentionSpec()
) -> Topology {
    Topology(
        version: version,
        streams: [
            StreamTopology(
                name: stream, retention: retention,
                partitions: (0..<partitions).map {
                    PartitionInfo(
                        partition: $0, leader: leader, epoch: epoch, replicas: [leader], isr: [leader], state: .online)
                })
        ],
        nodes: [NodeInfo(id: leader, address: "127.0.0.1:0", ready: true)])
}

/// Waits for `condition` with a deadline, checking often: the way tests synchronise with background work.
func eventually(
    _ what: String, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for: \(what)")
            throw TimedOut(what: what)
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct TimedOut: Error {
    let what: String
}

/// A fresh replica directory with a leader role at `epoch`, for tests that drive a replica directly.
func openLeaderReplica(
    in directory: TemporaryDirectory, epoch: Int32 = 1, clock: ManualClock = ManualClock(),
    settings: StreamSettings = StreamSettings(durability: .always, retention: RetentionSpec()),
    configuration: PartitionReplica.Configuration = PartitionReplica.Configuration()
) async throws -> PartitionReplica {
    let replica = try await PartitionReplica.open(
        stream: "events", partition: 0, directory: directory.file("events/0"), settings: settings,
        configuration: configuration, link: testLink, logger: quietLogger, now: clock.source)
    await replica.apply(
        ReplicaAssignment(role: ReplicaRole(kind: .leader, epoch: epoch, leader: "storage-0"), settings: settings))
    return replica
}
