import Testing

@testable import HadronStorage

/// The lease rules of one consumer group on one partition, with explicit instants instead of clocks.
@Suite struct GroupCursorTests {
    let start = ContinuousClock.now

    @Test func freshCursorOffersFromTheCommittedOffset() {
        let cursor = GroupCursor(committedOffset: 7)
        #expect(cursor.offer(at: start) == .next(from: 7))
    }

    @Test func oneDeliveryInFlightAtATime() {
        var cursor = GroupCursor(committedOffset: 0)
        cursor.lease(.init(id: "a", first: 0, last: 4), until: start + .seconds(30))
        #expect(cursor.offer(at: start + .seconds(1)) == .busy)
    }

    @Test func expiredLeaseOffersTheSameRangeAgainAndRefusesItsAck() throws {
        var cursor = GroupCursor(committedOffset: 0)
        cursor.lease(.init(id: "a", first: 0, last: 4), until: start + .seconds(30))
        let later = start + .seconds(31)
        #expect(cursor.offer(at: later) == .redeliver(first: 0, last: 4))
        #expect(throws: ReplicaError.self) { _ = try cursor.beginAcknowledging("a", at: later) }
        cursor.lease(.init(id: "b", first: 0, last: 4), until: later + .seconds(30))
        #expect(throws: ReplicaError.self) { _ = try cursor.beginAcknowledging("a", at: later) }
        #expect(try cursor.beginAcknowledging("b", at: later) == 5)
    }

    @Test func ackCommitsPastTheDeliveryAndOffersWhatFollows() throws {
        var cursor = GroupCursor(committedOffset: 0)
        cursor.lease(.init(id: "a", first: 0, last: 4), until: start + .seconds(30))
        let offset = try cursor.beginAcknowledging("a", at: start)
        #expect(offset == 5)
        #expect(cursor.offer(at: start) == .busy)
        cursor.finishAcknowledging("a")
        #expect(cursor.committedOffset == 5)
        #expect(cursor.offer(at: start) == .next(from: 5))
        #expect(throws: ReplicaError.self) { _ = try cursor.beginAcknowledging("a", at: start) }
    }

    @Test func failedCommitRestoresTheLease() throws {
        var cursor = GroupCursor(committedOffset: 0)
        cursor.lease(.init(id: "a", first: 0, last: 4), until: start + .seconds(30))
        _ = try cursor.beginAcknowledging("a", at: start)
        cursor.abortAcknowledging("a")
        #expect(cursor.committedOffset == 0)
        #expect(try cursor.beginAcknowledging("a", at: start) == 5)
    }

    @Test func nackBacksOffThenRedeliversWithDoublingDefaultBackoff() throws {
        var cursor = GroupCursor(committedOffset: 10)
        cursor.lease(.init(id: "a", first: 10, last: 12), until: start + .seconds(30))
        let first = try cursor.reject("a", at: start, backoff: nil, defaultBackoff: .seconds(1))
        #expect(first == .seconds(1))
        #expect(cursor.offer(at: start + .milliseconds(999)) == .busy)
        #expect(cursor.offer(at: start + .seconds(1)) == .redeliver(first: 10, last: 12))
        cursor.lease(.init(id: "b", first: 10, last: 12), until: start + .seconds(31))
        let second = try cursor.reject("b", at: start + .seconds(1), backoff: nil, defaultBackoff: .seconds(1))
        #expect(second == .seconds(2))
        cursor.lease(.init(id: "c", first: 10, last: 12), until: start + .seconds(40))
        let explicit = try cursor.reject(
            "c", at: start + .seconds(3), backoff: .milliseconds(50), defaultBackoff: .seconds(1))
        #expect(explicit == .milliseconds(50))
        #expect(cursor.offer(at: start + .seconds(3) + .milliseconds(50)) == .redeliver(first: 10, last: 12))
    }

    @Test func nackOfAStaleDeliveryIsRefused() {
        var cursor = GroupCursor(committedOffset: 0)
        cursor.lease(.init(id: "a", first: 0, last: 0), until: start + .seconds(1))
        #expect(throws: ReplicaError.self) {
            try cursor.reject("other", at: start, backoff: nil, defaultBackoff: .seconds(1))
        }
    }
}
