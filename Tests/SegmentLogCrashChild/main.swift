// The process that SegmentLogTests' crash test SIGKILLs at a random moment.
//
// Usage: SegmentLogCrashChild DIRECTORY SEED
// Opens the partition log in DIRECTORY with `durability: always`, prints `READY <logEndOffset>`, then runs four
// concurrent appenders forever. After each append completes — that is, after its fdatasync — it prints
// `ACK <firstOffset> <lastOffset> <crc>` in one write(2), so every line the parent reads is an acknowledged batch
// that must survive the kill.
import Glibc
import HadronCore
import Logging
import SegmentLog

/// One `write(2)` per line: lines from concurrent appenders never interleave on the pipe (each is under PIPE_BUF).
func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { raw in
        var done = 0
        while done < raw.count {
            let result = write(STDOUT_FILENO, raw.baseAddress! + done, raw.count - done)
            if result <= 0 { exit(3) }
            done += result
        }
    }
}

/// A batch of `records` records whose payload is derived from `seed`, with a valid CRC.
func makeBatch(records: Int, payload: Int, seed: UInt64, timestamp: Int64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size + payload)
    var state = seed
    for index in RecordBatchHeader.size..<bytes.count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        bytes[index] = UInt8(truncatingIfNeeded: state >> 56)
    }
    var header = RecordBatchHeader(
        batchLength: Int32(bytes.count - 12), lastOffsetDelta: Int32(records - 1), firstTimestamp: timestamp,
        maxTimestamp: timestamp, recordCount: Int32(records))
    bytes.withUnsafeMutableBytes { header.write(to: $0) }
    header.crc = bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) }
    bytes.withUnsafeMutableBytes { header.write(to: $0) }
    return bytes
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
    emit("usage: SegmentLogCrashChild DIRECTORY SEED")
    exit(2)
}
let logger = Logger(label: "crash-child") { _ in SwiftLogNoOpLogHandler() }
let log = try await PartitionLog.open(
    directory: arguments[1],
    configuration: LogConfiguration(segmentBytes: 48 * 1024, indexIntervalBytes: 512, durability: .always),
    logger: logger)
emit("READY \(log.logEndOffset)")
try await withThrowingTaskGroup(of: Void.self) { group in
    for appender in 0..<4 {
        group.addTask {
            var counter: UInt64 = 0
            while true {
                counter += 1
                let batchSeed = seed &* 1_000_003 &+ UInt64(appender) &* 7_919 &+ counter
                let batch = makeBatch(
                    records: Int(batchSeed % 5) + 1, payload: Int(batchSeed % 2_000) + 50, seed: batchSeed,
                    timestamp: Int64(batchSeed % 100_000))
                let result = try await log.append(batch, epoch: 1)
                let crc = batch.withUnsafeBytes { RecordBatch.computeChecksum($0) }
                emit("ACK \(result.firstOffset) \(result.lastOffset) \(crc)")
            }
        }
    }
    try await group.waitForAll()
}
