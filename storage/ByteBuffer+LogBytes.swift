public import NIOCore
public import SegmentLog

/// A record batch goes to the log in the buffer it arrived in (the body of an append, or of a fetch answer on a
/// follower), and a fetch reads into the buffer it is answered with: no copies in between.
extension ByteBuffer: LogReadBuffer {
    public var byteCount: Int { readableBytes }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeReadableBytes(body)
    }

    public mutating func appendBytes(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows {
        try writeWithUnsafeMutableBytes(minimumWritableBytes: count) { free in
            try fill(UnsafeMutableRawBufferPointer(rebasing: free.prefix(count)))
        }
    }

    public mutating func truncate(toByteCount count: Int) {
        moveWriterIndex(to: readerIndex + count)
    }
}
