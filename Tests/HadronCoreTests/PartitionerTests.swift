import CloudEvents
import Testing

@testable import HadronCore

@Suite("Kafka-compatible partitioning")
struct PartitionerTests {
    /// Kafka's `UtilsTest.testMurmur2` vectors.
    @Test(
        "murmur2 matches Kafka's own test vectors",
        arguments: [
            ("21", Int32(-973_932_308)),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ])
    func kafkaVectors(key: String, expected: Int32) {
        #expect(Murmur2.hash(key) == expected)
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    /// Values other Kafka-compatible clients check against Kafka's implementation; they cover every tail length.
    @Test(
        "murmur2 on short keys (tail lengths 1, 2, 3, 0, 1)",
        arguments: [
            ("1", Int32(-1_993_445_489)), ("12", 126_087_238), ("123", -267_702_483), ("1234", -1_614_185_708),
            ("12345", -1_188_365_604),
        ])
    func shortKeys(key: String, expected: Int32) {
        #expect(Murmur2.hash(key) == expected)
    }

    @Test("toPositive clears only the sign bit")
    func toPositive() {
        #expect(Murmur2.toPositive(-973_932_308) == -973_932_308 & 0x7fff_ffff)
        #expect(Murmur2.toPositive(.min) == 0)
        #expect(Murmur2.toPositive(-1) == .max)
        #expect(Murmur2.toPositive(479_470_107) == 479_470_107)
    }

    @Test("partition = toPositive(murmur2(key)) % n")
    func partitionForKey() {
        #expect(Partitioner.partition(forKey: "21", partitions: 6) == Int(-973_932_308 & 0x7fff_ffff) % 6)
        #expect(Partitioner.partition(forKey: "abc", partitions: 7) == 479_470_107 % 7)
        #expect(Partitioner.partition(forKey: "foobar", partitions: 1) == 0)
        for n in 1...64 {
            #expect((0..<n).contains(Partitioner.partition(forKey: "key-\(n)", partitions: n)))
        }
    }

    @Test("the partitionkey extension: strings as is, integers as decimal text, empty as absent")
    func partitionKeyRules() {
        func key(_ value: AttributeValue?) -> String? {
            var event = EventFixtures.minimal()
            event.extensions["partitionkey"] = value
            return PartitionKey.from(event: event)
        }
        #expect(key(nil) == nil)
        #expect(key(.string("")) == nil)
        #expect(key(.string("customer-7")) == "customer-7")
        #expect(key(.integer(42)) == "42")
        #expect(key(.integer(-7)) == "-7")
        #expect(key(.boolean(true)) == "true")
        #expect(key(.binary([])) == nil, "empty binary is an empty canonical string")
        #expect(key(.binary([1, 2, 3])) == "AQID")
        #expect(key(.uriReference(URIReference(unchecked: "/a"))) == "/a")
    }

    @Test("an Integer key and its string form land on the same partition")
    func integerAndStringAgree() {
        var structured = EventFixtures.minimal()
        structured.extensions["partitionkey"] = .integer(12345)
        var binary = EventFixtures.minimal()
        binary.extensions["partitionkey"] = .string("12345")
        let sticky = StickyPartition()
        #expect(
            Partitioner.partition(for: structured, partitions: 12, sticky: sticky)
                == Partitioner.partition(for: binary, partitions: 12, sticky: sticky))
        #expect(
            Partitioner.partition(for: binary, partitions: 12, sticky: sticky)
                == Int(Murmur2.toPositive(-1_188_365_604)) % 12)
    }

    @Test("keyless events stick to one partition per batch, and rotation visits every partition")
    func sticky() {
        var sticky = StickyPartition(start: 4)
        let keyless = EventFixtures.minimal()
        #expect(Partitioner.partition(for: keyless, partitions: 3, sticky: sticky) == 1)
        #expect(Partitioner.partition(for: keyless, partitions: 3, sticky: sticky) == 1, "same batch, same partition")
        var seen: [Int] = []
        for _ in 0..<6 {
            seen.append(sticky.partition(partitions: 3))
            sticky.rotate()
        }
        #expect(seen == [1, 2, 0, 1, 2, 0])
        var wrapping = StickyPartition(start: .max)
        wrapping.rotate()
        #expect(wrapping.partition(partitions: 5) == 0)
    }
}
