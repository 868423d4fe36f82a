import Foundation
import NIOCore
import NIOPosix

/// A TCP connection that writes exactly the bytes a test gives it and reads HTTP/1.1 responses back by hand.
///
/// ``HTTP1Connection`` frames requests through NIO's encoder, so it can only send well-formed ones in whole parts;
/// this one sends a head split anywhere, several requests in one write, or bytes no encoder would produce.
public final class RawHTTP1Connection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var received: [UInt8] = []
    private var closed = false

    private init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Opens a connection to 127.0.0.1:`port`, runs `body` with it, closes it.
    public static func with<Result: Sendable>(
        port: Int, _ body: (RawHTTP1Connection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawHTTP1Connection(inbound: inbound.makeAsyncIterator(), outbound: outbound))
        }
    }

    /// Writes `bytes` as one write (the kernel may still deliver them in pieces).
    public func write(_ bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Writes `bytes` in pieces of `size`, each one sent before the next is written.
    public func write(_ bytes: [UInt8], inPiecesOf size: Int) async throws {
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            try await outbound.write(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
    }

    /// Ends the connection's output; the server sees the end of input.
    public func finishWriting() {
        outbound.finish()
    }

    /// The next response, framed by its Content-Length; nil if the server closed the connection first.
    public func readResponse() async throws -> TestResponse? {
        while true {
            if let response = try takeResponse() { return response }
            guard !closed, let chunk = try await inbound.next() else {
                closed = true
                return nil
            }
            received += chunk.readableBytesView
        }
    }

    /// Whether the server closed the connection with nothing more to read.
    public func isClosedByServer() async throws -> Bool {
        try await readResponse() == nil && received.isEmpty
    }

    private struct MalformedResponse: Error, CustomStringConvertible {
        var description: String
    }

    /// A whole response from the front of `received`, removed from it; nil while it is not all there.
    private func takeResponse() throws -> TestResponse? {
        let separator = Array("\r\n\r\n".utf8)
        guard let headEnd = received.firstRange(of: separator)?.upperBound else { return nil }
        let lines = String(decoding: received[..<(headEnd - 4)], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
            throw MalformedResponse(description: "status line \(lines[0])")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw MalformedResponse(description: "header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        guard received.count >= headEnd + length else { return nil }
        let body = Array(received[headEnd..<(headEnd + length)])
        received.removeFirst(headEnd + length)
        return TestResponse(status: status, headers: headers, body: body)
    }
}

extension RawHTTP1Connection {
    /// The bytes of an HTTP/1.1 request with a Content-Length.
    public static func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
