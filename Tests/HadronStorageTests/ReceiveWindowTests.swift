import HadronCore
import HadronTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import HadronHTTP

/// Storage's h2c receive windows (`HTTP2ReceiveWindows`): announced to a new connection, and kept open exactly by
/// what the peer sends.
@Suite struct ReceiveWindowTests {
    @Test func framesAreCountedAcrossAnyReadBoundaries() {
        var stream: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        func frame(type: UInt8, length: Int) -> [UInt8] {
            [UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, 0, 0, 0, 0, 1]
                + Array(repeating: 0xAB, count: length)
        }
        stream += frame(type: 0x4, length: 0)  // SETTINGS
        stream += frame(type: 0x1, length: 30)  // HEADERS
        stream += frame(type: 0x0, length: 100)  // DATA
        stream += frame(type: 0x0, length: 70_000)
        stream += frame(type: 0x8, length: 4)  // WINDOW_UPDATE
        stream += frame(type: 0x0, length: 1)
        for chunk in [1, 7, 9, 24, 1000, stream.count] {
            var counter = FrameCounter()
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + chunk)
                counter.consume(ByteBuffer(bytes: stream[start..<end]).readableBytesView)
                start = end
            }
            #expect(counter.unreturned == 70_101, "read in chunks of \(chunk)")
        }
    }

    @Test func storageAnnouncesWideWindowsAndTakesBatchesLargerThanThem() async throws {
        let directory = TemporaryDirectory("receive-windows")
        defer { directory.remove() }
        try await RunningNode.with(directory: directory, topology: singleNodeTopology()) { node in
            // What a new h2c connection is told: the stream window in SETTINGS, the connection window opened.
            let frames = try await Self.firstServerFrames(from: node.address)
            let sizes = HTTP2ReceiveWindowSizes.internalTraffic
            #expect(frames.initialWindowSize == sizes.stream)
            #expect(frames.connectionIncrement == sizes.connection - 65_535)
            #expect(frames.maxFrameSize == sizes.maxFrameSize && sizes.maxFrameSize == 1 << 20)

            // More than the connection window in batches over one connection: the windows are given back as
            // they are used, or HTTP/2 flow control would stall or reset the connection.
            let client = InternalClient(logger: quietLogger)
            let peer = Peer(client: client, address: node.address)
            try await node.waitUntilLeading(peer, partition: 0)
            let batch = StorageTestBatch.events(2_000, payloadSize: 1_500)
            #expect(batch.count > 3 << 20)
            // In frames of up to 1 MiB each way: the node reads the client's, the client the node's.
            for _ in 0..<12 {
                let response = try await peer.append(batch, partition: 0, epoch: 1)
                #expect(response.status.code == 200, "\(String(buffer: response.body))")
            }
            let fetched = try await peer.fetch(partition: 0, offset: 0)
            #expect(Array(fetched.body.readableBytesView) == StorageTestBatch.stamped(batch, baseOffset: 0, epoch: 1))
            await client.shutdown()
        }
    }

    /// Sends the client preface and an empty SETTINGS frame, and reads frames until the server has sent a SETTINGS
    /// frame with an initial window size and a WINDOW_UPDATE for the connection (or 10 s pass).
    static func firstServerFrames(from address: ServerAddress) async throws -> (
        initialWindowSize: Int?, connectionIncrement: Int?, maxFrameSize: Int?
    ) {
        let collector = ByteCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: address.host, port: address.port).get()
        defer { channel.close(promise: nil) }
        var hello = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        hello.writeBytes([0, 0, 0, 0x4, 0, 0, 0, 0, 0])
        try await channel.writeAndFlush(hello).get()
        var result: (initialWindowSize: Int?, connectionIncrement: Int?, maxFrameSize: Int?) = (nil, nil, nil)
        try await eventually("the server announced its windows") {
            result = parse(collector.collected.withLock { $0 })
            return result.initialWindowSize != nil && result.connectionIncrement != nil
        }
        return result
    }

    private static func parse(_ bytes: [UInt8]) -> (initialWindowSize: Int?, connectionIncrement: Int?, maxFrameSize: Int?) {
        var result: (initialWindowSize: Int?, connectionIncrement: Int?, maxFrameSize: Int?) = (nil, nil, nil)
        var index = 0
        func integer(_ at: Int, _ count: Int) -> Int { bytes[at..<at + count].reduce(0) { $0 << 8 | Int($1) } }
        while index + 9 <= bytes.count {
            let length = integer(index, 3)
            let type = bytes[index + 3]
            let flags = bytes[index + 4]
            let stream = integer(index + 5, 4) & 0x7FFF_FFFF
            guard index + 9 + length <= bytes.count else { break }
            let payload = index + 9
            if type == 0x4, flags & 0x1 == 0 {
                for entry in stride(from: payload, to: payload + length, by: 6) {
                    switch integer(entry, 2) {
                    case 0x4: result.initialWindowSize = integer(entry + 2, 4)
                    case 0x5: result.maxFrameSize = integer(entry + 2, 4)
                    default: break
                    }
                }
            } else if type == 0x8, stream == 0, length == 4 {
                result.connectionIncrement = (result.connectionIncrement ?? 0) + integer(payload, 4) & 0x7FFF_FFFF
            }
            index = payload + length
        }
        return result
    }
}

/// Keeps every byte a connection receives.
private final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let collected = Mutex<[UInt8]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        collected.withLock { $0 += bytes.readableBytesView }
    }
}
