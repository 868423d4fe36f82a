import Foundation
import KubeAPI
import Testing

@Suite struct MicroTimeTests {
    @Test func formatsSixFractionalDigitsInUTC() {
        let time = MicroTime(microsecondsSinceEpoch: 1_795_255_200_123_456)
        #expect(time.description == "2026-11-21T10:00:00.123456Z")
        #expect(MicroTime(microsecondsSinceEpoch: 0).description == "1970-01-01T00:00:00.000000Z")
        #expect(MicroTime(microsecondsSinceEpoch: 951_782_400_000_001).description == "2000-02-29T00:00:00.000001Z")
    }

    @Test func parsesOnlyTheAPIServerFormat() {
        #expect(MicroTime(parsing: "2026-11-21T10:00:00.123456Z")?.microseconds == 1_795_255_200_123_456)
        #expect(MicroTime(parsing: "2026-11-21T11:00:00.123456+01:00")?.microseconds == 1_795_255_200_123_456)
        #expect(MicroTime(parsing: "2026-11-21T10:00:00Z") == nil)
        #expect(MicroTime(parsing: "2026-11-21T10:00:00.123Z") == nil)
        #expect(MicroTime(parsing: "2026-11-21T10:00:00.123456789Z") == nil)
        #expect(MicroTime(parsing: "2026-13-21T10:00:00.123456Z") == nil)
    }

    @Test func roundTripsThroughJSON() throws {
        let now = MicroTime.now()
        let spec = LeaseSpec(holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: now, renewTime: now)
        let json = try JSONValue(encoding: spec)
        #expect(json["renewTime"]?.stringValue == now.description)
        #expect(try json.decode(LeaseSpec.self) == spec)
    }
}

@Suite struct EventLineSplitterTests {
    static let events = [
        #"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}"#,
        #"{"type":"MODIFIED","object":{"metadata":{"name":"b","resourceVersion":"2"},"data":{"k":"line\nbreak"}}}"#,
        #"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}}"#,
    ]

    @Test func reassemblesEventsAcrossEveryPossibleSplit() throws {
        let stream = Array(Self.events.map { $0 + "\n" }.joined().utf8)
        for first in 0...stream.count {
            for second in first...stream.count where (second - first) % 7 == 0 || second == stream.count {
                var splitter = EventLineSplitter()
                var lines: [[UInt8]] = []
                lines += try splitter.feed(stream[0..<first])
                lines += try splitter.feed(stream[first..<second])
                lines += try splitter.feed(stream[second...])
                #expect(lines.map { String(decoding: $0, as: UTF8.self) } == Self.events)
                #expect(!splitter.hasPartialLine)
            }
        }
    }

    @Test func byteByByteAndCRLF() throws {
        var splitter = EventLineSplitter()
        var lines: [[UInt8]] = []
        for byte in Array((Self.events.joined(separator: "\r\n") + "\r\n\n").utf8) {
            lines += try splitter.feed([byte])
        }
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == Self.events)
    }

    @Test func reportsATruncatedStream() throws {
        var splitter = EventLineSplitter()
        _ = try splitter.feed(Array(#"{"type":"ADDED","obj"#.utf8))
        #expect(splitter.hasPartialLine)
    }

    @Test func decodesEachEventType() throws {
        let added = try WatchEvent<ConfigMap>(line: Array(Self.events[0].utf8))
        guard case .added(let map) = added else { Issue.record("not ADDED: \(added)"); return }
        #expect(map.metadata.name == "a")
        let bookmark = try WatchEvent<ConfigMap>(line: Array(Self.events[2].utf8))
        guard case .bookmark(let version) = bookmark else { Issue.record("not BOOKMARK"); return }
        #expect(version == "3")
        let error = try WatchEvent<ConfigMap>(
            line: Array(
                #"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#.utf8))
        guard case .error(let status) = error else { Issue.record("not ERROR"); return }
        #expect(status.code == 410)
        #expect(throws: WatchError.self) {
            try WatchEvent<ConfigMap>(line: Array(#"{"type":"SOMETHING","object":{}}"#.utf8))
        }
    }
}

@Suite struct ReconnectPolicyTests {
    @Test func backoffGrowsWithJitterAndIsCapped() {
        let policy = ReconnectPolicy(
            initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1), multiplier: 2, jitter: 0.5)
        for _ in 0..<50 {
            let first = policy.delay(afterFailures: 1)
            #expect(first >= .milliseconds(100) && first <= .milliseconds(150))
            let third = policy.delay(afterFailures: 3)
            #expect(third >= .milliseconds(400) && third <= .milliseconds(600))
            let late = policy.delay(afterFailures: 30)
            #expect(late >= .seconds(1) && late <= .milliseconds(1500))
        }
    }

    @Test func leaderElectionConfigurationFollowsClientGoRules() {
        #expect(throws: Never.self) {
            try LeaderElectionConfiguration(leaseName: "l", namespace: "n", identity: "i").validate()
        }
        #expect(throws: LeaderElectionError.self) {
            try LeaderElectionConfiguration(
                leaseName: "l", namespace: "n", identity: "i", leaseDuration: .seconds(10), renewDeadline: .seconds(10)
            ).validate()
        }
        #expect(throws: LeaderElectionError.self) {
            try LeaderElectionConfiguration(
                leaseName: "l", namespace: "n", identity: "i", renewDeadline: .seconds(2), retryPeriod: .seconds(2)
            ).validate()
        }
    }
}
