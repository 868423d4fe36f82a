import Foundation
import NIOCore
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

        /// The `BENCH` lines: `<name>` (2xx answers per second), `<name>.failed`, `<name>.p50` and `<name>.p99`.
        func report(as name: String) {
            BenchReport.line(name, successRate, "req/s")
            BenchReport.line(name + ".failed", Double(due - succeeded), "requests")
            if let p50 = percentile(0.5, ofSorted: latencies) { BenchReport.line(name + ".p50", p50 * 1000, "ms") }
            if let p99 = percentile(0.99, ofSorted: latencies) { BenchReport.line(name + ".p99", p99 * 1000, "ms") }
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
        var text = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(body.count)\r\n\r\n"
        var request = ByteBuffer(string: text)
        request.writeBytes(body)

        var channels: [(any Channel, PacedConnection)] = []
        for _ in 0..<connections {
            let handler = PacedConnection(request: request)
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in channel.pipeline.addHandler(handler) }
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
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Counts: Sendable {
        var due = 0
        var latencies: [Double] = []
    }

    private let request: ByteBuffer
    private var framer = ResponseFramer()
    private var waiting: [NIODeadline] = []
    private var waitingHead = 0
    private var outstanding: NIODeadline?
    private var measuredFrom = NIODeadline.distantFuture
    private var period = TimeAmount.zero
    private var end = NIODeadline.distantPast
    private var counts = Counts()
    private var finished = false
    private var drained: EventLoopPromise<Counts>?

    init(request: ByteBuffer) { self.request = request }

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
        var bytes = unwrapInboundIn(data)
        do {
            while let status = try framer.nextResponse(&bytes) { answered(status: status, on: context.channel) }
        } catch {
            context.close(promise: nil)
        }
    }

    private func answered(status: Int, on channel: any Channel) {
        if let due = outstanding, due >= measuredFrom, (200..<300).contains(status) {
            counts.latencies.append(Double((NIODeadline.now() - due).nanoseconds) / 1e9)
        }
        outstanding = nil
        sendNext(on: channel)
        settleIfDrained()
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
        channel.writeAndFlush(request, promise: nil)
    }

    private func settleIfDrained() {
        if finished, outstanding == nil, waitingHead == waiting.count { settle() }
    }

    private func settle() {
        drained?.succeed(counts)
        drained = nil
    }
}

/// Frames HTTP/1.1 responses in a byte stream by their `Content-Length`: enough for the gateway's answers, which
/// always carry one, and far cheaper than a general parser. Anything else is an error that ends the connection.
struct ResponseFramer {
    private var pending = ByteBuffer()
    private var bodyRemaining: Int?
    private var status = 0

    struct Malformed: Error {}

    /// The status of the next complete response in what has arrived so far, consuming it; nil when incomplete.
    mutating func nextResponse(_ incoming: inout ByteBuffer) throws -> Int? {
        pending.writeBuffer(&incoming)
        while true {
            if let remaining = bodyRemaining {
                guard pending.readableBytes >= remaining else { return nil }
                pending.moveReaderIndex(forwardBy: remaining)
                bodyRemaining = nil
                if pending.readableBytes == 0 { pending.clear() }
                return status
            }
            let view = pending.readableBytesView
            guard let end = Self.headEnd(view) else { return nil }
            let head = view[view.startIndex..<end]
            guard head.count > 12, head.starts(with: "HTTP/1.1 ".utf8),
                let code = Int(String(decoding: head.dropFirst(9).prefix(3), as: UTF8.self)),
                let length = Self.contentLength(head)
            else { throw Malformed() }
            status = code
            bodyRemaining = length
            pending.moveReaderIndex(forwardBy: end + 4 - view.startIndex)
        }
    }

    private static func headEnd(_ bytes: ByteBufferView) -> Int? {
        var index = bytes.startIndex
        while index + 3 < bytes.endIndex {
            if bytes[index] == 0x0D, bytes[index + 1] == 0x0A, bytes[index + 2] == 0x0D, bytes[index + 3] == 0x0A {
                return index
            }
            index += 1
        }
        return nil
    }

    private static func contentLength(_ head: ByteBufferView.SubSequence) -> Int? {
        for line in head.split(separator: 0x0A) {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":"), text[..<colon].lowercased() == "content-length" else { continue }
            return Int(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return nil
    }
}
