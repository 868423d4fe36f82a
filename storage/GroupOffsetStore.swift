import Foundation
import Glibc
import NIOPosix

/// The committed offsets of a partition's consumer groups, one small file per group beside the replica's log.
///
/// An ack is answered only after the new offset is on stable storage: the file is written under a temporary name,
/// fsynced, renamed over the old one and the directory fsynced, so a crash leaves the old offset or the new one,
/// never a torn file (docs/internal-api.md). The system calls block, so they run on NIO's blocking thread pool,
/// never on the cooperative pool (two threads here).
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
        let result = await run { () throws(ReplicaError) -> Int64? in
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            guard let record = try? JSONDecoder().decode(Record.self, from: data), record.committedOffset >= 0 else {
                throw .storageFailure("the committed offset file \(path) is damaged")
            }
            return record.committedOffset
        }
        return try result.get()
    }

    /// Makes `offset` the group's committed offset, durably, before returning.
    func store(_ offset: Int64, for group: String) async throws(ReplicaError) {
        let path = try path(for: group)
        let directory = directory
        let bytes = try encode(Record(group: group, committedOffset: offset))
        let result = await run { () throws(ReplicaError) in
            try Self.createDirectory(directory)
            let temporary = path + ".tmp"
            try Self.writeSynced(bytes, to: temporary)
            guard rename(temporary, path) == 0 else { throw Self.failure("rename \(temporary) to \(path)") }
            try Self.syncDirectory(directory)
        }
        try result.get()
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

    private func run<T: Sendable>(
        _ body: @escaping @Sendable () throws(ReplicaError) -> T
    ) async -> Result<T, ReplicaError> {
        do {
            return try await threadPool.runIfActive { Result { () throws(ReplicaError) in try body() } }
        } catch {
            return .failure(.unavailable("the offset store could not run: \(error)"))
        }
    }

    private static func createDirectory(_ directory: String) throws(ReplicaError) {
        if mkdir(directory, 0o755) == 0 {
            try syncDirectory((directory as NSString).deletingLastPathComponent)
        } else if errno != EEXIST {
            throw failure("create \(directory)")
        }
    }

    private static func writeSynced(_ bytes: [UInt8], to path: String) throws(ReplicaError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(path)") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                write(fd, raw.baseAddress! + written, raw.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write \(path)")
            }
            written += count
        }
        guard fsync(fd) == 0 else { throw failure("fsync \(path)") }
    }

    private static func syncDirectory(_ directory: String) throws(ReplicaError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open directory \(directory)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync directory \(directory)") }
    }

    /// The current `errno` as a refusal: a full disk may clear up (503), anything else needs an operator (500).
    private static func failure(_ operation: String) -> ReplicaError {
        let code = errno
        let message = "\(operation): \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .unavailable(message) : .storageFailure(message)
    }
}
