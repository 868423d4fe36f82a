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

/// Where a read puts the batches it returns, so they can be read straight into the buffer they are sent from.
///
/// A fetch answer used to be read into an array and then copied into the network buffer it went out in, on the
/// leader for every follower. An array still serves callers that want one (``PartitionLog/read(from:maxBytes:upTo:)``).
public protocol LogReadBuffer: LogBytes {
    /// Appends `count` bytes of memory for `fill` to write into, keeping as many as it returns (at most `count`).
    mutating func appendBytes(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows
    /// Drops bytes from the end until `byteCount` bytes are left.
    mutating func truncate(toByteCount count: Int)
}

extension Array: LogReadBuffer where Element == UInt8 {
    public mutating func appendBytes(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows {
        let read = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try fill(UnsafeMutableRawBufferPointer(buffer))
        }
        if isEmpty { self = read } else { append(contentsOf: read) }
    }

    public mutating func truncate(toByteCount count: Int) {
        removeLast(self.count - count)
    }
}
