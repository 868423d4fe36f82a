import Foundation
import Glibc
import HadronCore
import Logging
import SegmentLog

/// SegmentLog figures for `make bench` (release build), each next to a baseline measured in the same run on the
/// same disk: fio's buffered sequential write, and one fdatasync per append. Writes up to 4 GiB (plus a sparse
/// 10 GB log for the open test) under the temporary directory and removes everything it wrote.
func runSegmentLogBenchmarks() async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("hadron-segbench-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let free = SegmentLogBench.freeBytes(root)
    guard free > 6 << 30 else {
        print("segmentlog bench skipped: \(free >> 20) MiB free under \(root), it needs 6 GiB")
        return
    }
    let bench = SegmentLogBench(root: root)
    try await bench.appendAndRead()
    try await bench.groupCommit()
    try await bench.cleanOpen()
}

struct SegmentLogBench {
    let root: String
    let logger = Logger(label: "segmentlog-bench") { _ in SwiftLogNoOpLogHandler() }
    static let gib: Int64 = 1 << 30

    // MARK: - Append (none) vs fio, sequential read, memory

    func appendAndRead() async throws {
        // fio and the log take turns, twice, each from a synced page cache; the best run of each is reported, so
        // a burst of load from a neighbour flatters neither side.
        let batch = Self.batch(records: 100, payload: 100 * 1_024)  // 100 events of 1 KiB, as the gateway sends
        var fio: Double?
        var rate = 0.0
        var log: PartitionLog?
        for round in 0..<2 {
            sync()
            if let measured = fioSequentialWrite(megabytes: 1_024) { fio = max(fio ?? 0, measured) }
            sync()
            let directory = root + "/append-\(round)"
            let candidate = try await PartitionLog.open(
                directory: directory, configuration: LogConfiguration(durability: .none), logger: logger)
            let (bytes, seconds) = try await append(batch, to: candidate, bytes: Self.gib, appenders: 4)
            rate = max(rate, Double(bytes) / seconds / 1e6)
            if let previous = log {
                try await previous.close()
                try FileManager.default.removeItem(atPath: previous.directory)
            }
            log = candidate
        }
        if let fio { BenchReport.line("fio.seqwrite", fio, "MB/s") }
        BenchReport.line("segmentlog.append.none", rate, "MB/s")
        if let fio { BenchReport.ratio("segmentlog.append.none", rate / fio, vs: "fio.seqwrite") }

        guard let log else { return }
        let read = try readAll(log)
        BenchReport.line("segmentlog.read.seq", Double(read.bytes) / read.seconds / 1e9, "GB/s")
        BenchReport.line("segmentlog.rss.1GiB", Self.residentMiB(), "MiB")
        _ = try await append(batch, to: log, bytes: 3 * Self.gib, appenders: 4)
        let secondRead = try readAll(log)
        BenchReport.line("segmentlog.read.seq.4GiB", Double(secondRead.bytes) / secondRead.seconds / 1e9, "GB/s")
        BenchReport.line("segmentlog.rss.4GiB", Self.residentMiB(), "MiB")
        try await log.close()
        try FileManager.default.removeItem(atPath: log.directory)
    }

    private func append(_ batch: [UInt8], to log: PartitionLog, bytes total: Int64, appenders: Int) async throws -> (
        Int64, Double
    ) {
        let perAppender = Int(total / Int64(batch.count) / Int64(appenders))
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<appenders {
                group.addTask {
                    for _ in 0..<perAppender { _ = try await log.append(batch, epoch: 0) }
                }
            }
            try await group.waitForAll()
        }
        return (Int64(perAppender * appenders * batch.count), Self.seconds(clock.now - start))
    }

    /// Reads the whole log from offset 0 in 1 MiB reads, as a follower or a catching-up consumer would.
    private func readAll(_ log: PartitionLog) throws -> (bytes: Int64, seconds: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        var offset: Int64 = 0
        var bytes: Int64 = 0
        while true {
            let result = try log.read(from: offset, maxBytes: 1 << 20)
            if result.bytes.isEmpty { break }
            bytes += Int64(result.bytes.count)
            offset = result.nextOffset
        }
        return (bytes, Self.seconds(clock.now - start))
    }

    // MARK: - Group commit vs one fdatasync per append

    func groupCommit() async throws {
        let batch = Self.batch(records: 1, payload: 1_024)
        let duration = Duration.seconds(2)

        let path = root + "/fsync-baseline.dat"
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot create \(path)")
        let clock = ContinuousClock()
        var start = clock.now
        var count = 0
        var position: off_t = 0
        while clock.now - start < duration {
            let written = batch.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, position) }
            precondition(written == batch.count)
            position += off_t(written)
            fdatasync(descriptor)
            count += 1
        }
        let baseline = Double(count) / Self.seconds(clock.now - start)
        close(descriptor)
        unlink(path)
        BenchReport.line("fsync.per.append", baseline, "appends/s")

        let directory = root + "/always"
        let log = try await PartitionLog.open(
            directory: directory, configuration: LogConfiguration(durability: .always), logger: logger)
        start = clock.now
        let deadline = start + duration
        let appended = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var count = 0
                    while clock.now < deadline {
                        _ = try await log.append(batch, epoch: 0)
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let rate = Double(appended) / Self.seconds(clock.now - start)
        BenchReport.line("segmentlog.append.always.64", rate, "appends/s")
        BenchReport.ratio("segmentlog.append.always.64", rate / baseline, vs: "fsync.per.append")
        try await log.close()
        try FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Clean open of a 10 GB, 100-segment log

    /// 100 segments of 100 MiB (10.5 GB), each one valid batch whose records are a sparse hole of zeros, with
    /// their (empty) indexes and the clean-shutdown marker: a clean open reads each segment's index tail and the
    /// headers after the last index entry, so its cost depends on the segment count, not on how many bytes the
    /// holes hold. Sparse so the bench needs no 10 GB of real writes.
    func cleanOpen() async throws {
        let directory = root + "/open"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let segmentSize = 100 << 20
        var bytes = [UInt8](repeating: 0, count: segmentSize)
        // The base offset lies outside the CRC's range, so one checksum serves every segment.
        var header = RecordBatchHeader(
            batchLength: Int32(segmentSize - 12), lastOffsetDelta: 0, firstTimestamp: 1_000, maxTimestamp: 1_000,
            recordCount: 1)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        header.crc = bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) }
        for index in 0..<100 {
            header.baseOffset = Int64(index)
            bytes.withUnsafeMutableBytes { header.write(to: $0) }
            let stem = String(repeating: "0", count: 20 - String(index).count) + String(index)
            let descriptor = open(directory + "/" + stem + ".log", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
            _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, RecordBatchHeader.size, 0) }
            ftruncate(descriptor, off_t(segmentSize))
            close(descriptor)
            precondition(FileManager.default.createFile(atPath: directory + "/" + stem + ".index", contents: nil))
            precondition(FileManager.default.createFile(atPath: directory + "/" + stem + ".timeindex", contents: nil))
        }
        bytes = []
        precondition(
            FileManager.default.createFile(atPath: directory + "/" + PartitionLog.cleanShutdownFileName, contents: nil))
        let clock = ContinuousClock()
        let start = clock.now
        let log = try await PartitionLog.open(directory: directory, logger: logger)
        let elapsed = Self.seconds(clock.now - start)
        precondition(
            log.logEndOffset == 100 && log.sizeInBytes == Int64(100 * segmentSize), "the sparse log did not open whole")
        BenchReport.line("segmentlog.open.clean.100seg", elapsed * 1_000, "ms")
        try await log.close()
        try FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Helpers

    /// `fio --name=seqwrite --directory=DIR --filename=fio.dat --rw=write --bs=1M --size=1024M --ioengine=psync
    /// --direct=0 --fallocate=none --end_fsync=0 --output-format=json`: buffered sequential writes into a growing
    /// file, as the log does, with no sync. Nil when fio is not installed.
    func fioSequentialWrite(megabytes: Int) -> Double? {
        guard let fio = ["/usr/bin/fio", "/usr/local/bin/fio"].first(where: FileManager.default.isExecutableFile)
        else {
            print("fio not found: install it with apt-get install -y fio for the segmentlog.append.none ratio")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fio)
        process.arguments = [
            "--name=seqwrite", "--directory=\(root)", "--filename=fio.dat", "--rw=write", "--bs=1M",
            "--size=\(megabytes)M", "--ioengine=psync", "--direct=0", "--fallocate=none", "--end_fsync=0",
            "--output-format=json",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        unlink(root + "/fio.dat")
        guard let json = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
            let jobs = json["jobs"] as? [[String: Any]], let write = jobs.first?["write"] as? [String: Any],
            let bandwidth = (write["bw_bytes"] as? NSNumber)?.doubleValue
        else { return nil }
        return bandwidth / 1e6
    }

    static func batch(records: Int, payload: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size + payload)
        for index in RecordBatchHeader.size..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index &* 131) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        var header = RecordBatchHeader(
            batchLength: Int32(bytes.count - 12), lastOffsetDelta: Int32(records - 1), firstTimestamp: now,
            maxTimestamp: now, recordCount: Int32(records))
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        header.crc = bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) }
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    static func residentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ")[1])
        else { return -1 }
        return kilobytes / 1_024
    }

    static func freeBytes(_ path: String) -> Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
