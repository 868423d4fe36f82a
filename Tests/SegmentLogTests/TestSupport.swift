import Foundation
@_exported public import HadronTestSupport
import HadronCore
import Logging
import SegmentLog
import Synchronization

/// Builds valid record batches without the CloudEvents encoder: the log never decodes records, so an arbitrary
/// payload after a correct header and CRC is a batch as far as storage is concerned.
enum TestBatch {
    static func make(
        records: Int = 1, payloadSize: Int = 32, fill: UInt8 = 7, maxTimestamp: Int64 = 1_000,
        baseOffset: Int64 = 0, epoch: Int32 = 0
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size + payloadSize)
        for index in 0..<payloadSize {
            bytes[RecordBatchHeader.size + index] = fill &+ UInt8(truncatingIfNeeded: index &* 31)
        }
        var header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(bytes.count - 12), partitionLeaderEpoch: epoch,
            lastOffsetDelta: Int32(records - 1), firstTimestamp: maxTimestamp, maxTimestamp: maxTimestamp,
            recordCount: Int32(records))
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        header.crc = bytes.withUnsafeBytes { RecordBatch.computeChecksum($0) }
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    /// The batch as the leader stores it: base offset and epoch stamped, nothing else changed.
    static func stamped(_ batch: [UInt8], baseOffset: Int64, epoch: Int32) -> [UInt8] {
        var copy = batch
        RecordBatch.stamp(baseOffset: baseOffset, epoch: epoch, in: &copy)
        return copy
    }

    /// Splits concatenated batches into their headers, verifying each.
    static func headers(_ bytes: [UInt8]) throws -> [RecordBatchHeader] {
        var headers: [RecordBatchHeader] = []
        var position = 0
        while position < bytes.count {
            let header = try bytes.withUnsafeBytes { raw in
                try RecordBatch.verify(UnsafeRawBufferPointer(rebasing: raw[position...]))
            }
            headers.append(header)
            position += header.totalSize
        }
        return headers
    }
}

/// Collects log messages so tests can check what recovery reported.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "segmentlog-test") { _ in CapturingHandler(sink: self) }
    }

    func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.contains(text) } } }

    struct CapturingHandler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let line = "\(event.level) \(event.message) \(fields.joined(separator: " "))"
            sink.lines.withLock { $0.append(line) }
        }
    }
}

/// Reads the whole log from its start, in chunks of `chunk` bytes.
func readAll(_ log: PartitionLog, chunk: Int = 1 << 20, upTo bound: Int64 = .max) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var offset = log.logStartOffset
    while true {
        let result = try log.read(from: offset, maxBytes: chunk, upTo: bound)
        if result.bytes.isEmpty { return bytes }
        bytes += result.bytes
        offset = result.nextOffset
    }
}

let quietLogger = Logger(label: "segmentlog-test") { _ in SwiftLogNoOpLogHandler() }
