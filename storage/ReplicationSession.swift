import HTTPTypes
import HadronHTTP
import NIOCore
import Synchronization

/// The messages of a replication session, `POST …/partitions/{p}/replication?replica=NODE` (docs/internal-api.md):
/// one HTTP/2 stream per follower replica and leader epoch that carries the follower's fetches, one after another.
///
/// The request body is a sequence of fixed-size fetches; the response body a sequence of answers, one per fetch and
/// in order. An answer carries what the per-request fetch carries in its status, headers and body. A failed fetch is
/// answered with its status and problem JSON, and the leader ends the session after it.
enum ReplicationSessionWire {
    static let contentType = "application/vnd.hadron.replication"

    /// One fetch: the follower holds everything below `offset`; the leader answers with batches from there.
    struct Fetch: Equatable, Sendable {
        var offset: Int64
        var maxBytes: Int32
        var waitMilliseconds: Int32

        /// offset, maxBytes, wait: big-endian.
        static let size = 16

        func encoded() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(Self.size)
            buffer.writeInteger(offset)
            buffer.writeInteger(maxBytes)
            buffer.writeInteger(waitMilliseconds)
            return buffer
        }

        /// Takes the next whole fetch from `buffer`, nil while fewer bytes than one have arrived.
        static func take(from buffer: inout ByteBuffer) -> Fetch? {
            guard buffer.readableBytes >= size,
                let offset = buffer.readInteger(as: Int64.self),
                let maxBytes = buffer.readInteger(as: Int32.self),
                let wait = buffer.readInteger(as: Int32.self)
            else { return nil }
            return Fetch(offset: offset, maxBytes: maxBytes, waitMilliseconds: wait)
        }
    }

    /// The fixed part in front of every answer's body.
    struct AnswerHead: Equatable, Sendable {
        var status: UInt16
        var highWatermark: Int64
        var logStartOffset: Int64
        var logEndOffset: Int64
        var bodyLength: UInt32

        /// status, high watermark, log start, log end, body length: big-endian.
        static let size = 30

        func encoded() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(Self.size)
            buffer.writeInteger(status)
            buffer.writeInteger(highWatermark)
            buffer.writeInteger(logStartOffset)
            buffer.writeInteger(logEndOffset)
            buffer.writeInteger(bodyLength)
            return buffer
        }

        static func read(from buffer: inout ByteBuffer) -> AnswerHead? {
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
    struct Answer: Sendable {
        var head: AnswerHead
        var body: ByteBuffer

        var status: HTTPResponse.Status { HTTPResponse.Status(code: Int(head.status)) }
    }

    /// Cuts a response body that arrives in pieces back into answers.
    struct AnswerReader {
        private var pending = ByteBuffer()
        private var head: AnswerHead?

        /// Adds the next piece of the body.
        mutating func add(_ piece: inout ByteBuffer) {
            pending.collectBodyPiece(&piece)
        }

        /// The next whole answer, nil while more bytes are needed. The body is a slice of what arrived: an answer
        /// that came in one piece is not copied.
        mutating func next() -> Answer? {
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

/// A follower's side of a replication session: sends one fetch and waits for its answer, over one stream.
final class ReplicationSession: Sendable {
    private let exchange: DuplexExchange
    private let reader: Mutex<ReplicationSessionWire.AnswerReader>

    private init(exchange: DuplexExchange) {
        self.exchange = exchange
        self.reader = Mutex(ReplicationSessionWire.AnswerReader())
    }

    enum Opening {
        case opened(ReplicationSession)
        /// The leader's whole answer to a session it would not open.
        case refused(InternalResponse)
    }

    /// Opens a session with the leader at `address` for `replica` at `epoch`. A leader that refuses it at once (an
    /// unknown partition, a request it cannot read) answers as a plain request would, which comes back as `refused`.
    static func open(
        client: InternalClient, address: String, path: String, replica: String, epoch: Int32
    ) async throws -> Opening {
        var request = InternalRequest(method: .post, path: "\(path)/replication?replica=\(replica)")
        request.headerFields[.hadronEpoch] = String(epoch)
        request.headerFields[.contentType] = ReplicationSessionWire.contentType
        let exchange = try await client.openDuplex(request, to: address, timeout: .seconds(5))
        guard exchange.head.status == .ok else {
            var body = ByteBuffer()
            while var piece = try await exchange.next(timeout: .seconds(5)) { body.collectBodyPiece(&piece) }
            exchange.close()
            return .refused(InternalResponse(status: exchange.head.status, headerFields: exchange.head.headerFields, body: body))
        }
        return .opened(ReplicationSession(exchange: exchange))
    }

    /// Sends `fetch` and returns its answer; throws when the session breaks or the answer does not come within
    /// the fetch's wait plus `grace`.
    func fetch(_ fetch: ReplicationSessionWire.Fetch, grace: Duration) async throws -> ReplicationSessionWire.Answer {
        exchange.send(fetch.encoded())
        let timeout = Duration.milliseconds(Int64(fetch.waitMilliseconds)) + grace
        while true {
            if let answer = reader.withLock({ $0.next() }) { return answer }
            guard var piece = try await exchange.next(timeout: timeout) else {
                throw FollowerStop.failed("the leader ended the replication session")
            }
            reader.withLock { $0.add(&piece) }
        }
    }

    func close() {
        exchange.close()
    }
}
