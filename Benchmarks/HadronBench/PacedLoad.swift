import NIOCore
import NIOHTTP1
import NIOPosix

/// An open-loop load at a constant rate over HTTP/1.1 keep-alive connections: request k of the run is due at
/// `start + k / rate` and goes out on connection `k mod connections`, so arrivals are spread evenly in time.
///
/// Why not `h2load --rps`: it paces each client with its own timer and the timers of all clients fire together, so
/// "half the maximum rate" arrived as bursts of one request per connection in the same millisecond (measured: most
/// milliseconds of a run had no request and many had 63 or 64). A p99 of such a run is the time to drain a burst of
/// full concurrency, not the latency at half load.
///
/// Latency runs from the time a request was due, not from the time it was written: when a connection is still
/// waiting for an earlier answer, the wait counts (no coordinated omission). One event-loop thread drives every
/// connection, like `h2load -t 1`.
struct PacedLoad {
    struct Outcome {
        /// Requests due in the measured window.
        var due = 0
        /// Of those, answered 2xx.
        var succeeded = 0
        /// Latencies of the 2xx answers, in seconds, sorted.
        var latencies: [Double] = []
        var seconds: Double = 0

        var successRate: Double { seconds > 0 ? Double(succeeded) / seconds : 0 }

        func percentile(_ fraction: Double) -> Double? {
            latencies.isEmpty ? nil : latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
        }
    }

    let host: String
    let port: Int
    let path: String
    let headers: [(String, String)]
    let body: [UInt8]

    /// Runs `warmUp` then `seconds` at `rate` requests per second; only requests due after the warm-up count.
    func run(rate: Double, connections: Int, warmUp: TimeAmount, seconds: Int) async throws -> Outcome {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let outcome = try await run(on: group, rate: rate, connections: connections, warmUp: warmUp, seconds: seconds)
            try await group.shutdownGracefully()
            return outcome
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(
        on group: MultiThreadedEventLoopGroup, rate: Double, connections: Int, warmUp: TimeAmount, seconds: Int
    ) async throws -> Outcome {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        let request = PacedConnection.Request(head: head, body: ByteBuffer(bytes: body))

        var channels: [(any Channel, PacedConnection)] = []
        for _ in 0..<connections {
            let handler = PacedConnection(request: request)
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(handler) }
                }
                .connect(host: host, port: port).get()
            channels.append((channel, handler))
        }
        defer { for (channel, _) in channels { channel.close(promise: nil) } }

        let interval = 1.0 / rate
        let start = NIODeadline.now() + .milliseconds(20)
        let measured = start + warmUp
        let end = measured + .seconds(Int64(seconds))
        for (index, (channel, handler)) in channels.enumerated() {
            channel.eventLoop.execute {
                handler.schedule(
                    on: channel, first: start + Self.amount(Double(index) * interval),
                    every: Self.amount(Double(connections) * interval), until: end, measuredFrom: measured)
            }
        }
        // The last answers are awaited for a bounded time after the run; late ones count as failures.
        let drained = end + .seconds(10)
        var outcome = Outcome(seconds: Double(seconds))
        for (channel, handler) in channels {
            let counts = try await channel.eventLoop.flatSubmit {
                handler.whenDrained(deadline: drained, on: channel.eventLoop)
            }.get()
            outcome.due += counts.due
            outcome.succeeded += counts.latencies.count
            outcome.latencies += counts.latencies
        }
        outcome.latencies.sort()
        return outcome
    }

    static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }
}

/// One connection of a ``PacedLoad``: sends the request at each due time, one at a time, queueing due times that
/// arrive while an answer is outstanding. Lives on its channel's event loop only.
final class PacedConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Request {
        let head: HTTPRequestHead
        let body: ByteBuffer
    }

    struct Counts: Sendable {
        var due = 0
        var latencies: [Double] = []
    }

    private let request: Request
    private var waiting: [NIODeadline] = []
    private var waitingHead = 0
    private var outstanding: NIODeadline?
    private var status: UInt = 0
    private var measuredFrom = NIODeadline.distantFuture
    private var period = TimeAmount.zero
    private var end = NIODeadline.distantPast
    private var counts = Counts()
    private var finished = false
    private var drained: EventLoopPromise<Counts>?

    init(request: Request) { self.request = request }

    func schedule(
        on channel: any Channel, first: NIODeadline, every period: TimeAmount, until end: NIODeadline,
        measuredFrom: NIODeadline
    ) {
        self.measuredFrom = measuredFrom
        self.period = period
        self.end = end
        scheduleDue(first, on: channel)
    }

    private func scheduleDue(_ deadline: NIODeadline, on channel: any Channel) {
        guard deadline < end else {
            finished = true
            settleIfDrained()
            return
        }
        channel.eventLoop.scheduleTask(deadline: deadline) {
            self.waiting.append(deadline)
            if deadline >= self.measuredFrom { self.counts.due += 1 }
            self.sendNext(on: channel)
            self.scheduleDue(deadline + self.period, on: channel)
        }
    }

    /// The counts once every request due has been answered, or at `deadline`, whichever comes first.
    func whenDrained(deadline: NIODeadline, on eventLoop: any EventLoop) -> EventLoopFuture<Counts> {
        let promise = eventLoop.makePromise(of: Counts.self)
        drained = promise
        eventLoop.scheduleTask(deadline: deadline) { self.settle() }
        settleIfDrained()
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status.code
        case .body:
            break
        case .end:
            if let due = outstanding, due >= measuredFrom, (200..<300).contains(status) {
                counts.latencies.append(Double((NIODeadline.now() - due).nanoseconds) / 1e9)
            }
            outstanding = nil
            sendNext(on: context.channel)
            settleIfDrained()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Whatever was outstanding or waiting is lost: it stays uncounted in `latencies`, so it is a failure.
        waiting.removeAll()
        waitingHead = 0
        outstanding = nil
        finished = true
        settle()
    }

    private func sendNext(on channel: any Channel) {
        guard outstanding == nil, waitingHead < waiting.count, channel.isActive else { return }
        outstanding = waiting[waitingHead]
        waitingHead += 1
        if waitingHead > 1024, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        channel.write(HTTPClientRequestPart.head(request.head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    private func settleIfDrained() {
        if finished, outstanding == nil, waitingHead == waiting.count { settle() }
    }

    private func settle() {
        drained?.succeed(counts)
        drained = nil
    }
}
