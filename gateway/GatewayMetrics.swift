import Metrics
import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory
import Synchronization

/// The gateway's Prometheus metrics, created through swift-metrics against the registry the gateway was given.
///
/// The registry is injected rather than taken from the global `MetricsSystem` because `hadron dev` runs a gateway
/// beside storage nodes and a controller in one process, and tests run many gateways: each owns its registry, and
/// `/metrics` emits exactly it. Metric handles are cached by their labels, so a request costs a dictionary lookup
/// under a short lock rather than a registry lookup per metric.
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RequestKey: Counter]>([:])
    private let durations = Mutex<[String: Timer]>([:])
    private let endOffsets = Mutex<[PartitionKey: (gauge: Gauge, value: Int64)]>([:])
    private let lags = Mutex<[GroupKey: Gauge]>([:])
    private let bytesReceived: Counter
    private let bytesSent: Counter
    private let recordBatches: Counter

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    private struct PartitionKey: Hashable {
        var stream: String
        var partition: Int
    }

    private struct GroupKey: Hashable {
        var stream: String
        var group: String
        var partition: Int
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["hadron_gateway_request_duration_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        self.factory = factory
        bytesReceived = Counter(label: "hadron_gateway_bytes_received_total", factory: factory)
        bytesSent = Counter(label: "hadron_gateway_bytes_sent_total", factory: factory)
        recordBatches = Counter(label: "hadron_gateway_record_batches_total", factory: factory)
    }

    /// One finished request: `route` is the path template, never the path (streams would explode the labels).
    func request(route: String, status: Int, duration: Duration, received: Int, sent: Int) {
        let counter = requests.withLock { counters in
            let key = RequestKey(route: route, status: status)
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "hadron_gateway_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = durations.withLock { timers in
            if let timer = timers[route] { return timer }
            let timer = Timer(
                label: "hadron_gateway_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            timers[route] = timer
            return timer
        }
        let (seconds, attoseconds) = duration.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if received > 0 { bytesReceived.increment(by: received) }
        if sent > 0 { bytesSent.increment(by: sent) }
    }

    /// Bytes of a streamed response, counted as they go out.
    func sent(_ bytes: Int) {
        bytesSent.increment(by: bytes)
    }

    /// A record batch stored: the partition's log end offset is at least `endOffset`.
    func recordBatch(stream: String, partition: Int, endOffset: Int64) {
        recordBatches.increment()
        observeEndOffset(stream: stream, partition: partition, endOffset)
    }

    /// The end offset of a partition as last seen (a stored batch, a fetch's high watermark); it only grows.
    func observeEndOffset(stream: String, partition: Int, _ endOffset: Int64) {
        let key = PartitionKey(stream: stream, partition: partition)
        endOffsets.withLock { gauges in
            if var entry = gauges[key] {
                guard endOffset > entry.value else { return }
                entry.value = endOffset
                entry.gauge.record(endOffset)
                gauges[key] = entry
            } else {
                let gauge = Gauge(
                    label: "hadron_gateway_partition_end_offset",
                    dimensions: [("stream", stream), ("partition", String(partition))], factory: factory)
                gauge.record(endOffset)
                gauges[key] = (gauge, endOffset)
            }
        }
    }

    func endOffset(stream: String, partition: Int) -> Int64? {
        endOffsets.withLock { $0[PartitionKey(stream: stream, partition: partition)]?.value }
    }

    /// A consumer group's lag on a partition: events past its position, by the end offset the gateway knows.
    func groupPosition(stream: String, group: String, partition: Int, nextOffset: Int64) {
        guard let end = endOffset(stream: stream, partition: partition) else { return }
        let key = GroupKey(stream: stream, group: group, partition: partition)
        let gauge = lags.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(
                label: "hadron_gateway_consumer_group_lag",
                dimensions: [("stream", stream), ("group", group), ("partition", String(partition))], factory: factory)
            gauges[key] = gauge
            return gauge
        }
        gauge.record(max(0, end - nextOffset))
    }

    /// The Prometheus text exposition of the registry.
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
