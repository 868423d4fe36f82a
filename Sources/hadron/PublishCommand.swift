import ArgumentParser
import CloudEvents
import Foundation
import HTTPTypes
import HadronHTTP
import NIOCore

/// `hadron publish`: sends CloudEvents to a stream, one at a time in binary mode or `--batch N` per request.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Publish CloudEvents to a stream through a gateway.")

    @Option(help: "The gateway URL.")
    var url: String = HadronEnvironment.value(forFlag: "url", default: "http://localhost:8080")

    @Option(help: "The stream to publish to.")
    var stream: String = "events"

    @Option(help: "The event type attribute.")
    var type: String

    @Option(help: "The event source attribute (a URI-reference).")
    var source: String

    @Option(help: "The event data, as text.")
    var data: String?

    @Option(help: "A file whose contents are the event data.")
    var file: String?

    @Option(help: "The data content type.")
    var contentType: String = "application/json"

    @Option(help: "A partition key (the partitionkey extension).")
    var partitionKey: String?

    @Option(help: "How many events to publish.")
    var count: Int = 1

    @Option(help: "Events per request (batched mode when above 1).")
    var batch: Int = 1

    @Option(help: "At most this many events per second (0: as fast as possible).")
    var rate: Double = 0

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 16

    func validate() throws {
        guard count >= 1, batch >= 1, concurrency >= 1, rate >= 0 else {
            throw ValidationError("--count, --batch and --concurrency must be at least 1, --rate at least 0")
        }
        guard data == nil || file == nil else { throw ValidationError("give --data or --file, not both") }
        guard (try? URIReference(source)) != nil else { throw ValidationError("--source must be a URI-reference") }
    }

    func run() async throws {
        let gateway = try GatewayURL(url)
        let payload: [UInt8]?
        if let file {
            guard let contents = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            payload = [UInt8](contents)
        } else {
            payload = data.map { Array($0.utf8) }
        }
        let template = CloudEvent(
            id: "", source: try URIReference(source), type: type,
            datacontenttype: payload == nil ? nil : contentType,
            extensions: partitionKey.map { ["partitionkey": .string($0)] } ?? [:], data: payload)
        let run = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let client = InternalClient(logger: CommandLogging.logger(label: "hadron.publish"))
        defer { Task { await client.shutdown() } }
        let requests = stride(from: 0, to: count, by: batch).map { ($0, min(batch, count - $0)) }
        let progress = ProgressReport(total: count, enabled: count > 1000)
        let pacer = Pacer(eventsPerSecond: rate)
        let clock = ContinuousClock()
        let started = clock.now
        var lastAnswer = ""

        try await withThrowingTaskGroup(of: String.self) { group in
            var next = 0
            func submit() async {
                let (first, size) = requests[next]
                next += 1
                await pacer.wait(for: size)
                let events = (first..<first + size).map { index in
                    var event = template
                    event.id = "\(run)-\(index)"
                    return event
                }
                group.addTask {
                    let (fields, body) =
                        batch == 1
                        ? HTTPBinding.encodeBinary(events[0]) : HTTPBinding.encodeBatch(events)
                    let response = try await client.execute(
                        InternalRequest(method: .post, path: "/v1/streams/\(stream)", headerFields: fields,
                                        body: ByteBuffer(bytes: body)),
                        to: gateway.address)
                    let text = String(buffer: response.body)
                    guard response.status == .accepted else {
                        throw ValidationError("the gateway answered \(response.status.code): \(text)")
                    }
                    await progress.add(events.count)
                    return text
                }
            }
            while next < min(concurrency, requests.count) { await submit() }
            while let answer = try await group.next() {
                lastAnswer = answer
                if next < requests.count { await submit() }
            }
        }
        await progress.finish()
        let elapsed = clock.now - started
        if count == 1 {
            print(lastAnswer)
        } else {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("published \(count) events in \(String(format: "%.2f", seconds)) s (\(Int(Double(count) / seconds)) events/s)")
        }
    }
}

/// A progress bar with the event rate, on standard error, for long runs.
actor ProgressReport {
    private let total: Int
    private let enabled: Bool
    private var done = 0
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
        self.started = clock.now
        self.lastDrawn = clock.now
    }

    func add(_ events: Int) {
        done += events
        guard enabled, clock.now - lastDrawn > .milliseconds(200) || done == total else { return }
        lastDrawn = clock.now
        draw()
    }

    func finish() {
        guard enabled else { return }
        draw()
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw() {
        let elapsed = clock.now - started
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 0.001)
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r[\(bar)] \(done)/\(total) events  \(Int(Double(done) / seconds)) events/s"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Spaces requests out so the event rate stays at or below `--rate`.
actor Pacer {
    private let eventsPerSecond: Double
    private let clock = ContinuousClock()
    private var next: ContinuousClock.Instant

    init(eventsPerSecond: Double) {
        self.eventsPerSecond = eventsPerSecond
        self.next = clock.now
    }

    func wait(for events: Int) async {
        guard eventsPerSecond > 0 else { return }
        let now = clock.now
        if next > now { try? await Task.sleep(until: next, clock: clock) }
        next = max(next, now) + .seconds(Double(events) / eventsPerSecond)
    }
}
