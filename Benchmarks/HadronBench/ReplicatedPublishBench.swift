import Foundation
import HadronHTTP

/// The replication figures for `make bench` (issue #5): the same publish load against a replicationFactor 3
/// stream on three storage processes, compared with the replicationFactor 1 figures of the same run.
///
/// - `publish.batch.rf3`: batched publish (100 events per request) and its ratio to `publish.batch`.
/// - `publish.single.rf3`: single events as fast as 64 connections go — the maximum load.
/// - `publish.single.rf3.halfload.p99`: single events at half that rate, arriving evenly over the same 64
///   connections (``PacedLoad``), latency from each request's due time.
/// - `publish.single.rf3.halfload.h2load-bursts.p99`: the same average rate paced by `h2load --rps`, which sends it
///   as bursts of 64 simultaneous requests.
extension PublishBench {
    func measureReplicated(_ hadron: String, singleReplicaBatchRate: Double?) async throws {
        guard let wrk = tools.wrk else {
            print("BENCH publish.rf3 skipped: wrk not found (Debian package wrk)")
            return
        }
        let cluster = HadronCluster(executable: hadron, directory: directory)
        defer { cluster.kill() }
        do {
            _ = try await cluster.start(storageNodes: 3, replicationFactor: 3)
            try await cluster.checkPublishing()
            let url = "http://\(cluster.gatewayAddress)/v1/streams/events"

            _ = try await WrkRun.run(wrk, script: batchScript, url: url, seconds: 2, in: directory)
            let batch = try await WrkRun.run(wrk, script: batchScript, url: url, seconds: Self.seconds, in: directory)
            let batchRate = batch.successRate * Double(Self.batchEvents)
            BenchReport.line("publish.batch.rf3", batchRate, "events/s")
            if let singleReplicaBatchRate, singleReplicaBatchRate > 0 {
                BenchReport.ratio("publish.batch.rf3", batchRate / singleReplicaBatchRate, vs: "publish.batch")
            }

            _ = try await WrkRun.run(wrk, script: singleScript, url: url, seconds: 2, in: directory)
            let single = try await WrkRun.run(wrk, script: singleScript, url: url, seconds: Self.seconds, in: directory)
            BenchReport.line("publish.single.rf3", single.successRate, "req/s")
            if let p99 = single.p99 { BenchReport.line("publish.single.rf3.p99", p99 * 1000, "ms") }

            // Half the maximum rate, arriving evenly over the same 64 connections (HTTP/1.1, as the maximum was
            // measured); latency from each request's due time.
            guard let gateway = ServerAddress(cluster.gatewayAddress) else {
                throw BenchFailure("the gateway announced no host:port address: \(cluster.gatewayAddress)")
            }
            let paced = try await PacedLoad.singleEvents(to: gateway).run(
                rate: single.successRate / 2, connections: Self.connections, warmUp: .seconds(1), seconds: Self.seconds)
            paced.report(as: "publish.single.rf3.halfload")

            if let h2load = tools.h2load {
                // The figure earlier sessions reported: h2load --rps at the same average rate over h2c. Its clients'
                // timers fire together, so this is bursts of 64 simultaneous requests (see PacedLoad), kept to show
                // how bursts of full concurrency fare.
                let clients = Self.connections
                let perClient = max(1, Int(single.successRate / 2 / Double(clients)))
                let bursts = try await H2LoadRun.runPaced(
                    h2load, url: url, body: singleBody, headers: Self.singleHeaders, seconds: Self.seconds,
                    clients: clients, requestsPerSecondPerClient: perClient, in: directory)
                if let p99 = bursts.p99 {
                    BenchReport.line("publish.single.rf3.halfload.h2load-bursts.p99", p99 * 1000, "ms")
                }
            } else {
                print("BENCH publish.single.rf3.halfload.h2load-bursts skipped: h2load not found (nghttp2-client)")
            }
        } catch {
            await cluster.closeClient()
            throw error
        }
        await cluster.closeClient()
    }
}

extension H2LoadRun {
    /// A paced run: `clients` connections, each sending `requestsPerSecondPerClient` requests per second, one at a
    /// time; the p99 comes from h2load's per-request log (2xx responses only), in seconds.
    static func runPaced(
        _ h2load: String, url: String, body: String, headers: [String], seconds: Int, clients: Int,
        requestsPerSecondPerClient: Int, in directory: String
    ) async throws -> (run: H2LoadRun, p99: Double?) {
        let log = directory + "/h2load-paced.log"
        var arguments = [
            "-t", "1", "-c", "\(clients)", "-m", "1", "--rps", "\(requestsPerSecondPerClient)", "-D", "\(seconds)",
            "--warm-up-time", "1", "-d", body, "--log-file", log,
        ]
        for header in headers { arguments += ["-H", header] }
        arguments.append(url)
        let output = try await ToolProcess.run(h2load, arguments, timeout: .seconds(Int64(seconds) + 30), in: directory)
        let run = try parse(output)
        // Each line: request start (µs since the epoch), status, duration (µs), tab-separated.
        let lines = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n") ?? []
        let durations = lines.compactMap { line -> Double? in
            let fields = line.split(separator: "\t")
            guard fields.count >= 3, let status = Int(fields[1]), (200..<300).contains(status),
                let micros = Double(fields[2])
            else { return nil }
            return micros / 1_000_000
        }.sorted()
        return (run, percentile(0.99, ofSorted: durations))
    }
}

extension PacedLoad {
    /// The single-event publish of the other benchmarks: 1 KiB binary-mode events to the stream `events`.
    static func singleEvents(to gateway: ServerAddress) -> PacedLoad {
        PacedLoad(
            host: gateway.host, port: gateway.port, path: "/v1/streams/events",
            headers: PublishBench.singleHeaders.map { header in
                let colon = header.firstIndex(of: ":")!
                return (String(header[..<colon]), String(header[header.index(after: colon)...].drop(while: { $0 == " " })))
            },
            body: Array(repeating: UInt8(ascii: "x"), count: 1_024))
    }
}

/// `HADRON_BENCH_PACED=<host:port>@<rate>`: ``PacedLoad/singleEvents(to:)`` against a running gateway.
func runPacedLoad(_ target: String) async throws {
    let parts = target.split(separator: "@")
    guard parts.count == 2, let gateway = ServerAddress(String(parts[0])), let rate = Double(parts[1]) else {
        throw BenchFailure("HADRON_BENCH_PACED must be <host:port>@<rate>, got \(target)")
    }
    let outcome = try await PacedLoad.singleEvents(to: gateway).run(
        rate: rate, connections: PublishBench.connections, warmUp: .seconds(1), seconds: PublishBench.seconds)
    outcome.report(as: "paced")
}
