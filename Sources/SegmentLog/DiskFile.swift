import Glibc

/// An open file of the log, closed when the last reference goes away.
///
/// Readers hold a segment's files while they `pread`, so retention or truncation can unlink a segment under a
/// reader without the descriptor being closed (and its number reused) mid-read.
/// Every method is a thin loop over one system call that turns `errno` into a ``LogError`` naming the file.
final class DiskFile: Sendable {
    let descriptor: Int32
    let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { Glibc.close(descriptor) }

    /// Opens `name` relative to `directory`, creating it (mode 0644) when `create` is set.
    static func open(_ name: String, in directory: LogDirectory, create: Bool, truncate: Bool = false) throws(LogError)
        -> DiskFile
    {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        let path = directory.path(of: name)
        let descriptor = Glibc.openat(directory.descriptor, name, flags, 0o644)
        guard descriptor >= 0 else { throw LogError.system(errno, "open", path: path) }
        return DiskFile(descriptor: descriptor, path: path)
    }

    func size() throws(LogError) -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw LogError.system(errno, "fstat", path: path) }
        return Int64(info.st_size)
    }

    /// Reads up to `buffer.count` bytes at `position`; fewer only at end of file.
    @discardableResult
    func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws(LogError) -> Int {
        var done = 0
        while done < buffer.count {
            let result = pread(
                descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(position) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw LogError.system(errno, "pread", path: path, position: position + Int64(done))
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// Reads exactly `buffer.count` bytes at `position` or fails naming the short read.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws(LogError) {
        let count = try read(into: buffer, at: position)
        guard count == buffer.count else {
            throw LogError(
                .corruptBatch,
                "\(path): expected \(buffer.count) bytes at position \(position), the file ends after \(count)",
                path: path, position: position)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(LogError) {
        var done = 0
        while done < bytes.count {
            let result = pwrite(
                descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw LogError.system(errno, "pwrite", path: path, position: position + Int64(done))
            }
            done += result
        }
    }

    func write(_ bytes: [UInt8], at position: Int64) throws(LogError) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(LogError) in try write(buffer, at: position) } }.get()
    }

    /// Writes all of `vectors` (at most `IOV_MAX`) at `position`, continuing after short writes. The vectors are
    /// consumed: their bases and lengths are advanced past what was written.
    func write(vectors: UnsafeMutableBufferPointer<iovec>, at position: Int64) throws(LogError) {
        var index = 0
        var written: Int64 = 0
        while index < vectors.count {
            let result = pwritev(
                descriptor, vectors.baseAddress! + index, Int32(vectors.count - index), off_t(position + written))
            if result < 0 {
                if errno == EINTR { continue }
                throw LogError.system(errno, "pwritev", path: path, position: position + written)
            }
            written += Int64(result)
            var remaining = result
            while index < vectors.count, remaining >= vectors[index].iov_len {
                remaining -= vectors[index].iov_len
                index += 1
            }
            if remaining > 0 {
                vectors[index].iov_base = vectors[index].iov_base! + remaining
                vectors[index].iov_len -= remaining
            }
        }
    }

    /// `fdatasync`: the data and the size, not the timestamps.
    func syncData() throws(LogError) {
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw LogError.system(errno, "fdatasync", path: path)
        }
    }

    func truncate(to length: Int64) throws(LogError) {
        while ftruncate(descriptor, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw LogError.system(errno, "ftruncate", path: path, position: length)
        }
    }
}

extension LogError {
    /// Maps a failed system call's `errno` to a code a caller can act on: a full disk and a permission problem are
    /// operator matters, distinct from other I/O failures.
    static func system(_ code: Int32, _ call: String, path: String, position: Int64? = nil) -> LogError {
        let reason = String(cString: strerror(code))
        let at = position.map { " at position \($0)" } ?? ""
        switch code {
        case ENOSPC, EDQUOT:
            return LogError(.diskFull, "\(call) \(path)\(at): \(reason)", path: path, position: position, errno: code)
        case EACCES, EPERM, EROFS:
            return LogError(
                .permissionDenied, "\(call) \(path)\(at): \(reason)", path: path, position: position, errno: code)
        default:
            return LogError(.io, "\(call) \(path)\(at): \(reason)", path: path, position: position, errno: code)
        }
    }
}
