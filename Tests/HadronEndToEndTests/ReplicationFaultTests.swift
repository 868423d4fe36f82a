import CloudEvents
import Foundation
import HTTPTypes
import HadronCore
import HadronHTTP
import HadronTestSupport
import NIOCore
import Synchronization
import Testing

/// Replication under process faults (DESIGN.md §6): a controller, three storage nodes and a gateway as real
/// processes; leaders and followers are SIGKILLed or SIGSTOPped while publishers run, and every event that got a
/// 202 must be readable exactly once, in order, with all replicas byte-identical.
@Suite(.serialized, .timeLimit(.minutes(8))) struct ReplicationFaultTests {
    static let source = try! URIReference("/replication-faults")

    @Test func everyAcknowledgedEventSurvivesKillingEachLeaderAndAFollower() async throws {
        let path = try await ReplicatedDataPath()
        defer { path.stop() }
        let publishers = Publishers(path: path, count: 3)
        publishers.start()

        var failovers: [Duration] = []
        for partition in 0..<ReplicatedDataPath.partitions {
            try await publishers.waitForProgress(30)
            let before = try await path.partition(partition)
            let victim = try #require(before.leader.flatMap { id in (0..<ReplicatedDataPath.nodes).first { ReplicatedDataPath.nodeID($0) == id } })
            let killed = ContinuousClock.now
            await path.kill(victim)
            failovers.append(try await Self.timeToFirstPublish(on: partition, since: killed, path: path))
            let after = try await path.partition(partition)
            #expect(after.leader != before.leader && after.epoch > before.epoch)
            try await path.restart(victim)
            try await path.waitUntilFullyInSync()
        }
        // And a follower of partition 0.
        try await publishers.waitForProgress(30)
        let current = try await path.partition(0)
        let follower = try #require(current.replicas.first { $0 != current.leader })
        let followerIndex = try #require((0..<ReplicatedDataPath.nodes).first { ReplicatedDataPath.nodeID($0) == follower })
        await path.kill(followerIndex)
        try await publishers.waitForProgress(30)
        try await path.restart(followerIndex)
        try await path.waitUntilFullyInSync()
        try await publishers.waitForProgress(30)
        try await publishers.stop()

        let report = failovers.map { "\($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) ms" }
        print("failover: leader SIGKILL to first acknowledged publish on its partition: \(report.joined(separator: ", "))")
        for failover in failovers { #expect(failover < .seconds(10)) }
        try await Self.verify(publishers, path: path)
    }

    /// A leader that is suspended (SIGSTOP) loses its partition to a new leader; resumed, it must commit nothing
    /// more at its old epoch, and its log is cut back to the new leader's.
    @Test func aSuspendedLeaderResumedAfterFailoverCommitsNothing() async throws {
        let path = try await ReplicatedDataPath(livenessTimeout: .seconds(1))
        defer { path.stop() }
        let publishers = Publishers(path: path, count: 2)
        publishers.start()
        try await publishers.waitForProgress(30)

        let before = try await path.partition(0)
        let leader = try #require(before.leader.flatMap { id in (0..<ReplicatedDataPath.nodes).first { ReplicatedDataPath.nodeID($0) == id } })
        path.storage[leader].send(SIGSTOP)
        let after = try await eventually("a new leader for partition 0") { () -> PartitionInfo? in
            let info = try await path.partition(0)
            return info.state == .online && info.leader != before.leader ? info : nil
        }
        #expect(after.epoch > before.epoch)
        try await publishers.waitForProgress(30)
        path.storage[leader].send(SIGCONT)

        // Resumed, it may still believe it leads at its old epoch until its next heartbeat; an append sent to it
        // at that epoch must never be acknowledged: its followers fetch from the new leader, so nothing it stores
        // now can reach the high watermark.
        let batch = RecordBatchEncoder().encode(
            [CloudEvent(id: "to-the-deposed-leader", source: Self.source, type: "t")], receiveTime: 1_700_000_000_000)
        var request = InternalRequest(
            method: .post, path: "/internal/v1/streams/events/partitions/0/records", body: ByteBuffer(bytes: batch))
        request.headerFields[.contentType] = "application/vnd.hadron.record-batch"
        request.headerFields[HTTPField.Name("hadron-epoch")!] = String(before.epoch)
        let answer = try await path.cluster.client.execute(
            request, to: path.storageAddresses[leader], timeout: .seconds(30))
        #expect(answer.status != .ok, "the deposed leader acknowledged an append: \(String(buffer: answer.body))")

        _ = try await eventually("the resumed leader follows the new epoch") { () -> Bool? in
            try await path.state(of: leader, partition: 0)["role"] as? String == "follower" ? true : nil
        }
        try await publishers.waitForProgress(30)
        try await publishers.stop()
        try await Self.verify(publishers, path: path)
    }

    // MARK: - Helpers

    /// Publishes single events keyed to `partition` until one is acknowledged; the time since `since`.
    static func timeToFirstPublish(on partition: Int, since: ContinuousClock.Instant, path: any ThreeReplicaDataPath)
        async throws -> Duration
    {
        let key = ReplicatedDataPath.key(for: partition)
        var attempt = 0
        return try await eventually(timeout: .seconds(60), "a publish on partition \(partition)") { () -> Duration? in
            attempt += 1
            let event = CloudEvent(
                id: "probe-\(partition)-\(attempt)-\(UInt32.random(in: 0...UInt32.max))", source: source, type: "probe",
                extensions: ["partitionkey": .string(key)])
            let response = try await path.publish([event])
            return response.status == .accepted ? ContinuousClock.now - since : nil
        }
    }

    /// Every acknowledged event is stored exactly once at its acknowledged position; each publisher's events are in
    /// publish order within their partition; all replicas of a partition are byte-identical.
    static func verify(_ publishers: Publishers, path: any ThreeReplicaDataPath) async throws {
        let expected = publishers.acknowledged
        #expect(expected.count > 60)
        var stored: [String: [Acknowledgement.Position]] = [:]
        for partition in 0..<ReplicatedDataPath.partitions {
            var lastSequence: [String: Int] = [:]
            for event in try await path.readAll(partition: partition) {
                stored[event.id, default: []].append(.init(partition: event.partition, offset: event.offset))
                // Ids are p{publisher}-{sequence}-{index}: a publisher's sequence never goes back in a partition.
                let parts = event.id.split(separator: "-")
                if parts.count == 3, let sequence = Int(parts[1]) {
                    let publisher = String(parts[0])
                    #expect(sequence >= lastSequence[publisher] ?? 0, "\(event.id) out of order in partition \(partition)")
                    lastSequence[publisher] = sequence
                }
            }
        }
        for (id, position) in expected {
            #expect(stored[id] == [position], "event \(id) acknowledged at \(position), stored at \(stored[id] ?? [])")
        }
        let replicas = try await path.quiesceAndReadReplicas()
        for (partition, copies) in replicas.enumerated() {
            #expect(!copies[0].isEmpty)
            #expect(Set(copies).count == 1, "partition \(partition): replicas differ (\(copies.map(\.count)) bytes)")
        }
    }
}

/// Publishers that send batches of three events in a loop and record every acknowledgement.
final class Publishers: Sendable {
    private let path: any ThreeReplicaDataPath
    private let count: Int
    private let state = Mutex<(positions: [String: Acknowledgement.Position], stopped: Bool)>(([:], false))
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(path: any ThreeReplicaDataPath, count: Int) {
        self.path = path
        self.count = count
    }

    var acknowledged: [String: Acknowledgement.Position] { state.withLock { $0.positions } }

    func start() {
        let work = Task { [self] in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for publisher in 0..<count {
                    group.addTask { try await self.run(publisher) }
                }
                try await group.waitForAll()
            }
        }
        task.withLock { $0 = work }
    }

    private func run(_ publisher: Int) async throws {
        var sequence = 0
        while !state.withLock({ $0.stopped }) {
            let events = (0..<3).map { index in
                CloudEvent(
                    id: "p\(publisher)-\(sequence)-\(index)", source: ReplicationFaultTests.source, type: "t",
                    extensions: ["partitionkey": .string("k\(publisher)-\(sequence % 7)")], data: Array("\(sequence)".utf8))
            }
            sequence += 1
            guard let response = try? await path.publish(events) else { continue }
            guard response.status == .accepted else { continue }
            let answer = try Acknowledgement(response)
            state.withLock { state in
                for (event, position) in zip(events, answer.events) { state.positions[event.id] = position }
            }
        }
    }

    /// Waits until `more` events beyond the current count are acknowledged.
    func waitForProgress(_ more: Int) async throws {
        let target = acknowledged.count + more
        _ = try await eventually(timeout: .seconds(60), "\(more) more acknowledgements") { () -> Bool? in
            self.acknowledged.count >= target ? true : nil
        }
    }

    func stop() async throws {
        state.withLock { $0.stopped = true }
        try await task.withLock { $0 }?.value
    }
}
