import Glibc

/// The directory of one partition replica, held open so that renames and unlinks are relative to it and it can be
/// fsynced: a new or renamed file is durable only once its directory entry is.
final class LogDirectory: Sendable {
    let path: String
    let descriptor: Int32

    /// Opens `path`, creating it and missing parents (mode 0755).
    init(creating path: String) throws(LogError) {
        try Self.makeDirectories(path)
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LogError.system(errno, "open", path: path) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    func path(of name: String) -> String { path.hasSuffix("/") ? path + name : path + "/" + name }

    /// Makes created, renamed and unlinked entries durable.
    func sync() throws(LogError) {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw LogError.system(errno, "fsync", path: path)
        }
    }

    func names() throws(LogError) -> [String] {
        guard let stream = opendir(path) else { throw LogError.system(errno, "opendir", path: path) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func exists(_ name: String) -> Bool {
        faccessat(descriptor, name, F_OK, 0) == 0
    }

    /// Removes `name`; a file that is already gone is not an error (an interrupted deletion is being finished).
    func remove(_ name: String) throws(LogError) {
        guard unlinkat(descriptor, name, 0) == 0 || errno == ENOENT else {
            throw LogError.system(errno, "unlink", path: path(of: name))
        }
    }

    func rename(_ from: String, to: String) throws(LogError) {
        guard renameat(descriptor, from, descriptor, to) == 0 else {
            throw LogError.system(errno, "rename to \(to)", path: path(of: from))
        }
    }

    /// Replaces `name` with `contents` so that a crash leaves either the old or the new file, never a mix:
    /// write a temporary file, fsync it, rename it over the old one, fsync the directory.
    func writeAtomically(_ name: String, contents: [UInt8]) throws(LogError) {
        let temporary = name + ".tmp"
        let file = try DiskFile.open(temporary, in: self, create: true, truncate: true)
        try file.write(contents, at: 0)
        while fsync(file.descriptor) != 0 {
            if errno == EINTR { continue }
            throw LogError.system(errno, "fsync", path: file.path)
        }
        try rename(temporary, to: name)
        try sync()
    }

    /// The whole of a small file, or nil when it does not exist.
    func contents(of name: String) throws(LogError) -> [UInt8]? {
        guard exists(name) else { return nil }
        let file = try DiskFile.open(name, in: self, create: false)
        let size = Int(try file.size())
        var bytes = [UInt8](repeating: 0, count: size)
        let count = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(LogError) in try file.read(into: buffer, at: 0) }
        }.get()
        return Array(bytes.prefix(count))
    }

    private static func makeDirectories(_ path: String) throws(LogError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw LogError.system(errno, "mkdir", path: prefix)
            }
            prefix += "/"
        }
    }
}
