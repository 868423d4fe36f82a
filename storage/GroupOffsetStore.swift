import Foundation
import NIOPosix

/// The committed offsets of a partition's consumer groups, one small file per group beside the replica's log.
///
/// An ack is answered only after the new offset is on stable storage: each file is a ``DurableFile``, so a crash
/// leaves the old offset or the new one, never a torn file (docs/internal-api.md).
struct GroupOffsetStore: Sendable {
    /// Longest encoded file name we write; file systems allow 255 bytes and the suffixes need the rest.
    private static let maximumEncodedNameLength = 240
    private static let suffix = ".offset"

    let directory: String
    private let threadPool: NIOThreadPool

    init(directory: String, threadPool: NIOThreadPool = .singleton) {
        self.directory = directory
        self.threadPool = threadPool
    }

    private struct Record: Codable {
        var group: String
        var committedOffset: Int64
    }

    /// The group's committed offset, or nil for a group that never acknowledged anything on this replica.
    func committedOffset(of group: String) async throws(ReplicaError) -> Int64? {
        let path = try path(for: group)
        let result = await DurableFile.run(on: threadPool) { () throws(ReplicaError) -> Int64? in
            guard let data = DurableFile.read(path) else { return nil }
            guard let record = try? JSONDecoder().decode(Record.self, from: Data(data)), record.committedOffset >= 0
            else {
                throw .storageFailure("the committed offset file \(path) is damaged")
            }
            return record.committedOffset
        }
        return try result.get()
    }

    /// Every group's committed offset on this replica, for followers that keep a copy (a group file that does not
    /// decode is skipped: it is being replaced, or damaged, and its next write repairs it).
    func all() async throws(ReplicaError) -> [String: Int64] {
        let directory = directory
        let suffix = Self.suffix
        return try await DurableFile.run(on: threadPool) { () throws(ReplicaError) -> [String: Int64] in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
            var offsets: [String: Int64] = [:]
            for name in names where name.hasSuffix(suffix) {
                guard let data = DurableFile.read(directory + "/" + name),
                    let record = try? JSONDecoder().decode(Record.self, from: Data(data)), record.committedOffset >= 0
                else { continue }
                offsets[record.group] = record.committedOffset
            }
            return offsets
        }.get()
    }

    /// Makes `offset` the group's committed offset, durably, before returning.
    func store(_ offset: Int64, for group: String) async throws(ReplicaError) {
        let path = try path(for: group)
        let bytes = try encode(Record(group: group, committedOffset: offset))
        try await DurableFile.run(on: threadPool) { () throws(ReplicaError) in
            try DurableFile.replace(path, with: bytes)
        }.get()
    }

    /// The file of `group`: its name percent-encoded to letters, digits, `-`, `_` and inner dots, so any group name
    /// maps to one safe file name and distinct names never collide.
    func path(for group: String) throws(ReplicaError) -> String {
        guard !group.isEmpty else { throw .invalidRequest("the consumer group name is empty") }
        var encoded = ""
        for byte in group.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                encoded.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: ".") where !encoded.isEmpty:
                encoded.append(".")
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        guard encoded.utf8.count <= Self.maximumEncodedNameLength else {
            throw .invalidRequest("the consumer group name \"\(group.prefix(40))…\" is too long")
        }
        return directory + "/" + encoded + Self.suffix
    }

    private func encode(_ record: Record) throws(ReplicaError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(record)) + [UInt8(ascii: "\n")]
        } catch {
            throw .storageFailure("cannot encode the committed offset of group \(record.group): \(error)")
        }
    }
}
