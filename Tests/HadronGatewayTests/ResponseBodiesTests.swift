import Foundation
@testable import HadronGateway
import NIOCore
import Testing

@Suite("Hand-written response bodies")
struct ResponseBodiesTests {
    /// Decodes `{"events":[{"partition":P,"offset":O}…]}` with Foundation, independently of how it was written.
    private func positions(_ body: ByteBuffer) throws -> [[String: Int64]] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let events = try #require(object?["events"] as? [[String: Any]])
        return try events.map { entry in
            [
                "partition": Int64(try #require(entry["partition"] as? Int)),
                "offset": Int64(try #require(entry["offset"] as? Int)),
            ]
        }
    }

    @Test(
        "the 202 body lists each event's position, every digit count included",
        arguments: [Int64(0), 7, 9, 10, 99, 1_000_000_000, Int64.max - 3])
    func acceptedShare(firstOffset: Int64) throws {
        let body = ResponseBodies.accepted(partition: 11, firstOffset: firstOffset, count: 4)
        let expected = (0..<4).map { ["partition": Int64(11), "offset": firstOffset + Int64($0)] }
        #expect(try positions(body) == expected)
    }

    @Test("a request spread over partitions answers in request order")
    func acceptedAcrossPartitions() throws {
        let body = ResponseBodies.accepted(partitions: [2, 0, 2, 10], offsets: [41, 0, 42, 123_456_789_012])
        #expect(
            try positions(body) == [
                ["partition": 2, "offset": 41], ["partition": 0, "offset": 0], ["partition": 2, "offset": 42],
                ["partition": 10, "offset": 123_456_789_012],
            ])
    }

    @Test("no events, an empty list")
    func acceptedNothing() {
        #expect(String(buffer: ResponseBodies.accepted(partitions: [], offsets: [])) == #"{"events":[]}"#)
        #expect(
            String(buffer: ResponseBodies.accepted(partition: 1, firstOffset: 5, count: 1))
                == #"{"events":[{"partition":1,"offset":5}]}"#)
    }
}
