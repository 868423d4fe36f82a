public import HTTPTypes
public import NIOCore

/// The messages of the internal API's sessions (docs/internal-api.md): one long-lived HTTP/2 stream that carries
/// requests of one kind, one after another, each answered before the next is served.
///
/// - A follower's replication session, `POST …/partitions/{p}/replication?replica=NODE`: the request body is a
///   sequence of fixed-size fetches (``Fetch``).
/// - A gateway's append session, `POST …/partitions/{p}/appends`: the request body is a sequence of record batches,
///   each behind its length (``appendFrame(_:)``).
///
/// The response body is a sequence of answers, one per request and in order (``Answer``): what the per-request
/// route would answer in its status, headers and body. After an answer other than 200 the server ends the session.
public enum SessionWire {
    public static let replicationContentType = "application/vnd.hadron.replication"
    public static let appendsContentType = "application/vnd.hadron.appends"

    /// An append session's request: `batch` behind its length (`UInt32`, big-endian), as two pieces so the batch
    /// is not copied.
    public static func appendFrame(_ batch: ByteBuffer) -> (length: ByteBuffer, batch: ByteBuffer) {
        var length = ByteBuffer()
        length.writeInteger(UInt32(truncatingIfNeeded: batch.readableBytes))
        return (length, batch)
    }

    /// The length the next append in `buffer` declares, once its 4 bytes have arrived.
    public static func declaredAppendLength(in buffer: ByteBuffer) -> Int? {
        buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map(Int.init)
    }

    /// Takes the next whole append from `buffer`, nil while it has not all arrived. The batch is a slice of what
    /// arrived: one that came in one piece is not copied.
    public static func takeAppend(from buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let length = declaredAppendLength(in: buffer), buffer.readableBytes >= 4 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: length)
    }

    /// One fetch: the follower holds everything below `offset`; the leader answers with batches from there.
    public struct Fetch: Equatable, Sendable {
        public var offset: Int64
        public var maxBytes: Int32
        public var waitMilliseconds: Int32

        public init(offset: Int64, maxBytes: Int32, waitMilliseconds: Int32) {
            self.offset = offset
            self.maxBytes = maxBytes
            self.waitMilliseconds = waitMilliseconds
        }

        /// offset, maxBytes, wait: big-endian.
        public static let size = 16

        public func encoded() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(Self.size)
            buffer.writeInteger(offset)
            buffer.writeInteger(maxBytes)
            buffer.writeInteger(waitMilliseconds)
            return buffer
        }

        /// Takes the next whole fetch from `buffer`, nil while fewer bytes than one have arrived.
        public static func take(from buffer: inout ByteBuffer) -> Fetch? {
            guard buffer.readableBytes >= size,
                let offset = buffer.readInteger(as: Int64.self),
                let maxBytes = buffer.readInteger(as: Int32.self),
                let wait = buffer.readInteger(as: Int32.self)
            else { return nil }
            return Fetch(offset: offset, maxBytes: maxBytes, waitMilliseconds: wait)
        }
    }

    /// The fixed part in front of every answer's body.
    public struct AnswerHead: Equatable, Sendable {
        public var status: UInt16
        public var highWatermark: Int64
        public var logStartOffset: Int64
        public var logEndOffset: Int64
        public var bodyLength: UInt32

        public init(status: UInt16, highWatermark: Int64, logStartOffset: Int64, logEndOffset: Int64, bodyLength: UInt32) {
            self.status = status
            self.highWatermark = highWatermark
            self.logStartOffset = logStartOffset
            self.logEndOffset = logEndOffset
            self.bodyLength = bodyLength
        }

        /// status, high watermark, log start, log end, body length: big-endian.
        public static let size = 30

        public func encoded() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(Self.size)
            buffer.writeInteger(status)
            buffer.writeInteger(highWatermark)
            buffer.writeInteger(logStartOffset)
            buffer.writeInteger(logEndOffset)
            buffer.writeInteger(bodyLength)
            return buffer
        }

        public static func read(from buffer: inout ByteBuffer) -> AnswerHead? {
            guard buffer.readableBytes >= size,
                let status = buffer.readInteger(as: UInt16.self),
                let highWatermark = buffer.readInteger(as: Int64.self),
                let logStartOffset = buffer.readInteger(as: Int64.self),
                let logEndOffset = buffer.readInteger(as: Int64.self),
                let bodyLength = buffer.readInteger(as: UInt32.self)
            else { return nil }
            return AnswerHead(
                status: status, highWatermark: highWatermark, logStartOffset: logStartOffset,
                logEndOffset: logEndOffset, bodyLength: bodyLength)
        }
    }

    /// One answer: its head and its body (record batches, or problem JSON when the status is not 200).
    public struct Answer: Sendable {
        public var head: AnswerHead
        public var body: ByteBuffer

        public init(head: AnswerHead, body: ByteBuffer) {
            self.head = head
            self.body = body
        }

        /// An answer without log positions (an append's, or a refusal): `status` and `body`.
        public init(status: HTTPResponse.Status, body: ByteBuffer) {
            self.head = AnswerHead(
                status: UInt16(status.code), highWatermark: -1, logStartOffset: -1, logEndOffset: -1,
                bodyLength: UInt32(body.readableBytes))
            self.body = body
        }

        public var status: HTTPResponse.Status { HTTPResponse.Status(code: Int(head.status)) }
    }

    /// Cuts a response body that arrives in pieces back into answers.
    public struct AnswerReader {
        private var pending = ByteBuffer()
        private var head: AnswerHead?

        public init() {}

        /// Adds the next piece of the body.
        public mutating func add(_ piece: inout ByteBuffer) {
            pending.collectBodyPiece(&piece)
        }

        /// The next whole answer, nil while more bytes are needed. The body is a slice of what arrived: an answer
        /// that came in one piece is not copied.
        public mutating func next() -> Answer? {
            if head == nil {
                guard let read = AnswerHead.read(from: &pending) else { return nil }
                head = read
            }
            guard let head, pending.readableBytes >= Int(head.bodyLength),
                let body = pending.readSlice(length: Int(head.bodyLength))
            else { return nil }
            self.head = nil
            if pending.readableBytes == 0 { pending = ByteBuffer() }
            return Answer(head: head, body: body)
        }
    }
}
