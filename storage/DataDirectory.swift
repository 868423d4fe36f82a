import Glibc
import HadronCore

/// The layout of a storage node's data directory: `{data-dir}/{stream}/{partition}/` per partition replica, holding
/// the segment log in `log/` and the consumer groups' committed offsets in `groups/`.
///
/// Stream names are DNS-1123 subdomains and partitions are numbers, so every name is a safe path component; a
/// directory that is neither is not ours and is left alone when the node scans for replicas to recover.
struct DataDirectory: Sendable {
    let path: String

    init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    func replicaPath(stream: String, partition: Int) -> String { "\(path)/\(stream)/\(partition)" }
    static func logPath(replica: String) -> String { replica + "/log" }
    static func groupsPath(replica: String) -> String { replica + "/groups" }
    static func highWatermarkPath(replica: String) -> String { replica + "/high-watermark" }

    /// The replicas whose logs exist on disk, sorted, for recovery at start.
    func existingReplicas() throws(ReplicaError) -> [(stream: String, partition: Int)] {
        var found: [(stream: String, partition: Int)] = []
        for stream in try Self.entries(of: path).sorted() where DNSName.isValidSubdomain(stream) {
            for name in try Self.entries(of: "\(path)/\(stream)") {
                guard let partition = Int(name), partition >= 0, String(partition) == name else { continue }
                if Self.isDirectory(Self.logPath(replica: replicaPath(stream: stream, partition: partition))) {
                    found.append((stream, partition))
                }
            }
        }
        return found.sorted { ($0.stream, $0.partition) < ($1.stream, $1.partition) }
    }

    /// Creates `path` and its missing parents and makes each new entry durable by syncing its parent directory,
    /// so a partition created just before a power loss does not vanish with its acknowledged data.
    static func createDurably(_ path: String) throws(ReplicaError) {
        var created: [String] = []
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) == 0 {
                created.append(prefix)
            } else if errno != EEXIST {
                throw failure("create directory \(prefix)")
            }
            prefix += "/"
        }
        for directory in created {
            let parent = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? "."
            try sync(parent.isEmpty ? "/" : parent)
        }
    }

    private static func sync(_ directory: String) throws(ReplicaError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open directory \(directory)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync directory \(directory)") }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in `directory`; none when it does not exist yet (a fresh node).
    private static func entries(of directory: String) throws(ReplicaError) -> [String] {
        guard let stream = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw failure("list \(directory)")
        }
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

    private static func failure(_ operation: String) -> ReplicaError {
        let code = errno
        let message = "\(operation): \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .unavailable(message) : .storageFailure(message)
    }
}
