import Foundation
import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore
import ServiceLifecycle

/// A storage node double speaking the storage half of docs/internal-api.md over h2c: an in-memory log per
/// partition that assigns offsets, serves fetches (with long polls) and consumer-group leases, and records what it
/// was sent, so tests can see exactly what the gateway wrote.
final class FakeStorage: Sendable {
    let state: FakeStorageState
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(state: FakeStorageState, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.state = state
        self.port = port
        self.group = group
        self.task = task
    }

    var address: String { "127.0.0.1:\(port)" }

    static func start() async throws -> FakeStorage {
        let state = FakeStorageState()
        var logger = Logger(label: "fake-storage")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: FakeStorageResponder(state: state), server: .plaintextHTTP2(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw CancellationError()
        }
        return FakeStorage(state: state, port: port, group: group, task: task)
    }

    func stop() async {
        await state.wakeAll()
        await group.triggerGracefulShutdown()
        task.cancel()
        _ = await task.result
    }
}

/// The double's log and groups. Every partition it is asked about exists (the topology decides what is real).
actor FakeStorageState {
    struct Lease {
        var id: String
        var first: Int64
        var last: Int64
        var expires: ContinuousClock.Instant
    }

    struct Group {
        var committed: Int64 = 0
        var lease: Lease?
        var backoffUntil: ContinuousClock.Instant?
    }

    struct Partition {
        var batches: [(base: Int64, bytes: [UInt8])] = []
        var end: Int64 = 0
        var logStart: Int64 = 0
        var groups: [String: Group] = [:]
    }

    private(set) var partitions: [String: Partition] = [:]
    /// Every append request that reached the double, accepted or not.
    private(set) var appendRequests = 0
    /// Every fetch request that reached the double.
    private(set) var fetchRequests = 0
    /// The epoch the double leads at; requests with another epoch are fenced (409) or misdirected (421).
    var epoch: Int32 = 1
    /// Holds each append this long before answering, as a slow disk would: lets submissions pile up.
    var appendDelay: Duration = .zero
    private var leaseCounter = 0
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0

    func set(epoch: Int32) { self.epoch = epoch }
    func set(appendDelay: Duration) { self.appendDelay = appendDelay }

    func set(logStart: Int64, stream: String, partition: Int) {
        let key = "\(stream)/\(partition)"
        partitions[key, default: Partition()].logStart = logStart
        partitions[key, default: Partition()].end = max(partitions[key]!.end, logStart)
    }

    /// The events stored in a partition, in offset order.
    func events(stream: String, partition: Int) throws -> [EventRecord] {
        var records: [EventRecord] = []
        for batch in partitions["\(stream)/\(partition)"]?.batches ?? [] {
            records += try batch.bytes.withUnsafeBytes { try RecordBatch.decodeRecords($0) }
        }
        return records
    }

    func batchCount(stream: String, partition: Int) -> Int {
        partitions["\(stream)/\(partition)"]?.batches.count ?? 0
    }

    var storedBatches: Int { partitions.values.reduce(0) { $0 + $1.batches.count } }

    /// How many records each stored batch of a partition holds, in offset order.
    func batchRecordCounts(stream: String, partition: Int) throws -> [Int] {
        try (partitions["\(stream)/\(partition)"]?.batches ?? []).map { Int(try RecordBatch.verify($0.bytes).recordCount) }
    }

    func countAppendRequest() { appendRequests += 1 }
    func countFetchRequest() { fetchRequests += 1 }

    /// Stamps and stores a verified batch; returns its base and last offset.
    func append(_ bytes: [UInt8], stream: String, partition: Int) throws -> (Int64, Int64) {
        let header = try RecordBatch.verify(bytes)
        let key = "\(stream)/\(partition)"
        var log = partitions[key, default: Partition()]
        var stamped = bytes
        RecordBatch.stamp(baseOffset: log.end, epoch: epoch, in: &stamped)
        let base = log.end
        log.batches.append((base, stamped))
        log.end += Int64(header.recordCount)
        partitions[key] = log
        wakeAll()
        return (base, log.end - 1)
    }

    enum FetchResult {
        case records([UInt8], highWatermark: Int64)
        case belowStart(Int64)
    }

    func fetch(stream: String, partition: Int, offset: Int64, maxBytes: Int) -> FetchResult {
        let log = partitions["\(stream)/\(partition)"] ?? Partition()
        if offset < log.logStart { return .belowStart(log.logStart) }
        var body: [UInt8] = []
        for batch in log.batches {
            let header = try! RecordBatch.verify(batch.bytes)
            guard header.lastOffset >= offset else { continue }
            if !body.isEmpty && body.count + batch.bytes.count > maxBytes { break }
            body += batch.bytes
        }
        return .records(body, highWatermark: log.end)
    }

    /// Waits until something is appended, or `deadline`.
    func waitForAppend(until deadline: ContinuousClock.Instant) async {
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task {
            try? await Task.sleep(until: deadline)
            self.resume(id)
        }
        await withCheckedContinuation { waiters[id] = $0 }
        timer.cancel()
    }

    private func resume(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    func wakeAll() {
        let all = waiters.values
        waiters.removeAll()
        for waiter in all { waiter.resume() }
    }

    enum LeaseResult {
        case leased(Lease, [UInt8])
        case nothing
    }

    func lease(stream: String, partition: Int, group name: String, max limit: Int, leaseMs: Int64) -> LeaseResult {
        let key = "\(stream)/\(partition)"
        var log = partitions[key] ?? Partition()
        var group = log.groups[name] ?? Group()
        defer {
            log.groups[name] = group
            partitions[key] = log
        }
        let now = ContinuousClock.now
        if let lease = group.lease {
            guard lease.expires <= now else { return .nothing }
            group.lease = nil
        }
        if let until = group.backoffUntil, until > now { return .nothing }
        guard group.committed < log.end else { return .nothing }
        let first = max(group.committed, log.logStart)
        let last = min(log.end - 1, first + Int64(limit) - 1)
        var body: [UInt8] = []
        for batch in log.batches {
            let header = try! RecordBatch.verify(batch.bytes)
            if header.lastOffset >= first && header.baseOffset <= last { body += batch.bytes }
        }
        leaseCounter += 1
        let lease = Lease(id: "lease-\(leaseCounter)", first: first, last: last, expires: now + .milliseconds(leaseMs))
        group.lease = lease
        return .leased(lease, body)
    }

    /// Settles the current lease: an ack commits past it, a nack offers it again after the backoff.
    func settle(stream: String, partition: Int, group name: String, delivery: String, ack: Bool, backoffMs: Int64)
        -> Bool
    {
        let key = "\(stream)/\(partition)"
        guard var log = partitions[key], var group = log.groups[name], let lease = group.lease, lease.id == delivery,
            lease.expires > .now
        else { return false }
        group.lease = nil
        if ack {
            group.committed = lease.last + 1
        } else {
            group.backoffUntil = .now + .milliseconds(backoffMs)
        }
        log.groups[name] = group
        partitions[key] = log
        return true
    }

    func committed(stream: String, partition: Int, group: String) -> Int64 {
        partitions["\(stream)/\(partition)"]?.groups[group]?.committed ?? 0
    }
}
