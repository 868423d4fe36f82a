public import NIOCore
public import SegmentLog

/// A record batch goes to the log in the buffer it arrived in (the body of an append, or of a fetch answer on a
/// follower), not a copy of it.
extension ByteBuffer: LogBytes {
    public var byteCount: Int { readableBytes }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeReadableBytes(body)
    }
}
