import Foundation
import Glibc
import NIOPosix

/// Small files replaced atomically and durably: written under a temporary name, fsynced, renamed over the old one
/// and the directory fsynced, so a crash leaves the old content or the new, never a torn file. Consumer-group
/// offsets and the high-watermark checkpoint are kept this way.
///
/// The system calls block, so callers run them through ``run(on:_:)`` on NIO's blocking thread pool, never on the
/// cooperative pool (two threads here).
enum DurableFile {
    /// Replaces the content of `path` with `bytes`, durably, creating `path`'s directory when it is missing.
    static func replace(_ path: String, with bytes: [UInt8]) throws(ReplicaError) {
        let directory = (path as NSString).deletingLastPathComponent
        try createDirectory(directory)
        let temporary = path + ".tmp"
        try writeSynced(bytes, to: temporary)
        guard rename(temporary, path) == 0 else { throw failure("rename \(temporary) to \(path)") }
        try syncDirectory(directory)
    }

    /// The content of `path`, or nil when it does not exist.
    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Runs `body` on `threadPool`, off the cooperative pool.
    static func run<T: Sendable>(
        on threadPool: NIOThreadPool = .singleton, _ body: @escaping @Sendable () throws(ReplicaError) -> T
    ) async -> Result<T, ReplicaError> {
        do {
            return try await threadPool.runIfActive { Result { () throws(ReplicaError) in try body() } }
        } catch {
            return .failure(.unavailable("the file system work could not run: \(error)"))
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
