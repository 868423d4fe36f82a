/// Reassembles the newline-delimited JSON of a watch from the pieces the network delivers: an event
/// may be split across any number of chunks, and one chunk may hold several events.
public struct EventLineSplitter: Sendable {
    private var pending: [UInt8] = []
    /// Refuse to buffer an unterminated line beyond this (a misbehaving server).
    public let maximumLineLength: Int

    public init(maximumLineLength: Int = 64 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// Appends bytes and returns the complete, non-blank lines they finish, without terminators.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: "\n") {
                var line = pending
                pending.removeAll(keepingCapacity: true)
                line.append(contentsOf: bytes[start..<index])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) {
                    lines.append(line)
                }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        pending.append(contentsOf: bytes[start..<bytes.endIndex])
        if pending.count > maximumLineLength {
            throw WatchError.lineTooLong(pending.count)
        }
        return lines
    }

    /// Bytes of an unfinished line. A stream that ends with some is truncated, not complete.
    public var hasPartialLine: Bool {
        pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") })
    }
}
