/// Which leader epoch wrote which offsets: `(epoch, start offset)` pairs in increasing order of both, persisted
/// as Kafka's `leader-epoch-checkpoint` text file (version 0) so follower truncation (KIP-101/279) can answer
/// "where did epoch E end?" without reading batches.
struct LeaderEpochCache: Sendable, Hashable {
    struct Entry: Sendable, Hashable {
        var epoch: Int32
        var startOffset: Int64
    }

    static let fileName = "leader-epoch-checkpoint"

    private(set) var entries: [Entry] = []

    var latestEpoch: Int32? { entries.last?.epoch }

    /// Records that `epoch` starts at `startOffset`. Entries that the new one contradicts (an equal or later
    /// epoch, or a start at or after this one) are dropped, as after a truncation they no longer hold.
    /// Returns whether anything changed.
    @discardableResult
    mutating func assign(epoch: Int32, startOffset: Int64) -> Bool {
        if let last = entries.last, last.epoch == epoch, last.startOffset <= startOffset { return false }
        let before = entries
        entries.removeAll { $0.epoch >= epoch || $0.startOffset >= startOffset }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
        return entries != before
    }

    /// Forgets epochs that start at or after `endOffset`: the log was truncated there. With `keepingEmptyLatest`
    /// (at open) an epoch that starts exactly at the end stays: it was assigned before any of its data arrived
    /// and still fences older leaders.
    @discardableResult
    mutating func truncate(fromEnd endOffset: Int64, keepingEmptyLatest: Bool = false) -> Bool {
        let before = entries.count
        entries.removeAll { $0.startOffset > endOffset || ($0.startOffset == endOffset && !keepingEmptyLatest) }
        return entries.count != before
    }

    /// Moves the log start to `startOffset`: epochs that lie wholly below it go; the one it falls in now starts there.
    @discardableResult
    mutating func truncate(fromStart startOffset: Int64) -> Bool {
        guard let covering = entries.lastIndex(where: { $0.startOffset <= startOffset }) else { return false }
        let changed = covering > 0 || entries[covering].startOffset != startOffset
        entries.removeFirst(covering)
        entries[0].startOffset = startOffset
        return changed
    }

    /// The epoch that wrote `offset`, if known.
    func epoch(at offset: Int64) -> Int32? {
        entries.last { $0.startOffset <= offset }?.epoch
    }

    /// Kafka's `endOffsetFor`: for the latest epoch, the log end offset; otherwise the largest epoch at or below
    /// the requested one (the requested one itself when the cache starts later) and the start offset of the first
    /// epoch above it. Nil ("undefined") when the cache is empty or the request is above the latest epoch.
    func endOffset(for requested: Int32, logEndOffset: Int64) -> EpochEndOffset? {
        guard let latest = entries.last else { return nil }
        if requested == latest.epoch { return EpochEndOffset(epoch: requested, endOffset: logEndOffset) }
        guard let higher = entries.first(where: { $0.epoch > requested }) else { return nil }
        let floor = entries.last { $0.epoch <= requested }
        return EpochEndOffset(epoch: floor?.epoch ?? requested, endOffset: higher.startOffset)
    }

    // MARK: - Checkpoint file

    func serialized() -> [UInt8] {
        var text = "0\n\(entries.count)\n"
        for entry in entries { text += "\(entry.epoch) \(entry.startOffset)\n" }
        return Array(text.utf8)
    }

    init() {}

    /// Parses a checkpoint strictly: it is written atomically, so anything malformed is damage, not a torn write.
    init(parsing bytes: [UInt8], path: String) throws(LogError) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        func fail(_ reason: String) -> LogError {
            LogError(.corruptCheckpoint, "\(path): \(reason)", path: path)
        }
        guard lines.count >= 2, lines[0] == "0" else { throw fail("expected version 0 on the first line") }
        guard let count = Int(lines[1]), count >= 0, lines.count >= 2 + count else {
            throw fail("expected an entry count on the second line and that many entries")
        }
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let epoch = Int32(fields[0]), let offset = Int64(fields[1]) else {
                throw fail("malformed entry '\(line)'")
            }
            if let last = entries.last, epoch <= last.epoch || offset < last.startOffset {
                throw fail("entry '\(line)' does not follow epoch \(last.epoch) at offset \(last.startOffset)")
            }
            entries.append(Entry(epoch: epoch, startOffset: offset))
        }
    }
}
