/// Bytes handed to the log for an append, kept as they are until the writer has written them.
///
/// A batch reaches storage in a network buffer; copying it into an array before the log writes it cost a copy of
/// every appended byte on every replica. The log only needs the bytes' length and a look at them, so any owner of
/// contiguous bytes can hand them over: an array, or the buffer the batch arrived in (the storage tier makes NIO's
/// `ByteBuffer` one).
public protocol LogBytes: Sendable {
    /// How many bytes there are.
    var byteCount: Int { get }
    /// Calls `body` with the bytes, valid for the duration of the call.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension Array: LogBytes where Element == UInt8 {
    public var byteCount: Int { count }
}
