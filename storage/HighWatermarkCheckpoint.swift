import Foundation

/// The high watermark a replica last knew, in a small file beside its log (DESIGN.md §6: "the high watermark is
/// checkpointed"), so a restarted replica starts from what was known committed rather than from nothing.
///
/// It is a hint, never a truncation point (KIP-101): a follower truncates by leader epochs only. The file holds the
/// offset as decimal text and is replaced durably (``DurableFile``).
struct HighWatermarkCheckpoint: Sendable {
    let path: String

    /// The checkpointed offset; nil when there is none or it does not parse (a fresh or foreign directory).
    func read() -> Int64? {
        guard let bytes = DurableFile.read(path) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int64(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    func write(_ offset: Int64) async throws(ReplicaError) {
        let path = path
        let bytes = Array("\(offset)\n".utf8)
        try await DurableFile.run { () throws(ReplicaError) in try DurableFile.replace(path, with: bytes) }.get()
    }
}
