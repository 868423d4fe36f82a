import CloudEvents
import Foundation
import HadronTestSupport
import Testing

/// Hadron on Kubernetes end to end (DESIGN.md §5, §6): the operator places the stream and points each partition
/// Service at its leader; storage nodes act on the Stream's status; the gateway routes through the Services.
/// A leader pod that stops being Ready and dies is failed over by the operator — epoch + 1, the Service moves —
/// publishing resumes, and every acknowledged event is readable exactly once; the restarted pod rejoins the ISR
/// through its leader's ISR report to the operator.
@Suite(.serialized, .timeLimit(.minutes(8))) struct KubernetesTests {
    @Test func operatorFailsOverAKilledLeaderPodWithoutLosingAcknowledgedEvents() async throws {
        let path = try await KubernetesDataPath()
        do {
            for partition in 0..<KubernetesDataPath.partitions {
                let status = try await path.partition(partition)
                #expect(await path.serviceTarget(partition) == status.leader, "Service of partition \(partition)")
            }
            let publishers = Publishers(path: path, count: 2)
            publishers.start()
            try await publishers.waitForProgress(30)

            let before = try await path.partition(0)
            let leader = try #require(before.leader)
            let victim = try #require(path.index(ofNode: leader))
            let killed = ContinuousClock.now
            try await path.crash(victim)
            let failover = try await ReplicationFaultTests.timeToFirstPublish(on: 0, since: killed, path: path)
            print("kubernetes failover: leader pod not Ready and killed to first acknowledged publish: \(failover)")

            let after = try await path.partition(0)
            #expect(after.leader != nil && after.leader != leader)
            #expect((after.epoch ?? 0) > (before.epoch ?? 0))
            #expect(!(after.isr ?? []).contains(leader), "the dead leader is still in the ISR")
            #expect(await path.serviceTarget(0) == after.leader)

            try await publishers.waitForProgress(30)
            try await path.restart(victim)
            // Back in every ISR: only its leaders' reports, recorded by the operator, put it there.
            try await path.waitUntilFullyInSync()
            try await publishers.waitForProgress(30)
            try await publishers.stop()
            try await ReplicationFaultTests.verify(publishers, path: path)
        } catch {
            for process in [path.operatorProcess, path.gateway].compactMap({ $0 }) + path.storage {
                print("\(process.name) stderr:\n\(process.standardError.suffix(3000))")
            }
            await path.stop()
            throw error
        }
        await path.stop()
    }
}
