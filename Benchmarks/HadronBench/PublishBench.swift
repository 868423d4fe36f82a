import Foundation
import Glibc
import HadronHTTP
import HadronTestSupport
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// The data-path figures for `make bench`: Hadron's publish rate next to nginx answering 204 on the same loopback, the
/// same cores and the same load tools, measured in the same run.
///
/// - nginx (its own prefix and configuration in a temporary directory) is the ceiling: `wrk` over HTTP/1.1 with the
///   same Lua script that publishes to Hadron, and `h2load` over h2c.
/// - Hadron runs as three processes (controller, storage, gateway) so that the gateway's memory is its own;
///   the stream is durable (`fsync: always`: 202 only after fdatasync).
/// - Single events: 1 KiB binary-mode events, a fresh `ce-id` per request. Batches: 100 events of 256 bytes of data
///   per `application/cloudevents-batch+json` request.
///
/// Every process is started here, waited on through its ready line or port, and killed by PID at the end, also when
/// a step fails; the temporary directory goes with it.
func runPublishBenchmarks() async throws {
    let tools = PublishBench.Tools()
    guard let hadron = tools.hadron else {
        print(
            "BENCH publish skipped: no hadron executable next to HadronBench (swift build -c release --product hadron)")
        return
    }
    let directory = TemporaryDirectory("hadron-publishbench")
    try directory.create()
    defer { directory.remove() }
    let bench = try PublishBench(directory: directory.path, tools: tools)

    // `HADRON_BENCH_ONLY=publish.rf1` runs nginx and the replicationFactor 1 figures, `publish.rf3` the replicated ones.
    var batchRate: Double?
    if BenchFilter.selects("publish.rf1") {
        var ceiling = PublishBench.Ceiling()
        if let nginx = tools.nginx {
            ceiling = try await bench.measureNginx(nginx)
        } else {
            print("BENCH nginx skipped: nginx not found (Debian package nginx-light)")
        }
        batchRate = try await bench.measureHadron(hadron, against: ceiling)
    }
    if BenchFilter.selects("publish.rf3") {
        try await bench.measureReplicated(hadron, singleReplicaBatchRate: batchRate)
    }
}

struct PublishBench: Sendable {
    /// One load run; long enough to smooth group-commit and scheduling noise, short enough for `make bench`.
    static let seconds = 8
    static let connections = 64
    static let h2Streams = 10
    static let batchEvents = 100

    /// The executables the bench drives; nil when missing.
    struct Tools: Sendable {
        let hadron: String?
        let nginx: String?
        let wrk: String?
        let h2load: String?

        init() {
            hadron = Self.nextToThisExecutable("hadron")
            // nginx lives in /usr/sbin, which a non-root PATH often lacks.
            nginx = Self.find("nginx", extra: ["/usr/sbin", "/usr/local/sbin", "/sbin"])
            wrk = Self.find("wrk")
            h2load = Self.find("h2load")
        }

        private static func nextToThisExecutable(_ name: String) -> String? {
            guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
                return nil
            }
            let path = (own as NSString).deletingLastPathComponent + "/" + name
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }

        private static func find(_ name: String, extra: [String] = []) -> String? {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            let directories = path.split(separator: ":").map(String.init) + extra
            return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
    }

    /// nginx's figures, the baselines of the ratios.
    struct Ceiling: Sendable {
        var http1: Double?
        var h2c: Double?
    }

    let directory: String
    let tools: Tools
    let singleScript: String
    let batchScript: String
    let singleBody: String
    let batchBody: String

    init(directory: String, tools: Tools) throws {
        self.directory = directory
        self.tools = tools
        singleScript = directory + "/single.lua"
        batchScript = directory + "/batch.lua"
        singleBody = directory + "/single.body"
        batchBody = directory + "/batch.json"
        try Self.singleLua.write(toFile: singleScript, atomically: false, encoding: .utf8)
        try Self.batchLua(bodyPath: batchBody).write(toFile: batchScript, atomically: false, encoding: .utf8)
        try String(repeating: "x", count: 1_024).write(toFile: singleBody, atomically: false, encoding: .utf8)
        try Self.batchJSON(events: Self.batchEvents, dataBytes: 256).write(
            toFile: batchBody, atomically: false, encoding: .utf8)
    }

    // MARK: - nginx, the ceiling

    func measureNginx(_ nginx: String) async throws -> Ceiling {
        let prefix = directory + "/nginx"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        let http1Port = try Self.freeLoopbackPort()
        let h2cPort = try Self.freeLoopbackPort()
        try Self.nginxConfiguration(prefix: prefix, http1Port: http1Port, h2cPort: h2cPort)
            .write(toFile: prefix + "/nginx.conf", atomically: false, encoding: .utf8)
        let server = try NginxProcess(executable: nginx, prefix: prefix)
        defer { server.stop() }
        var ceiling = Ceiling()
        try await server.waitUntilListening(ports: [http1Port, h2cPort])
        let url = "http://127.0.0.1:\(http1Port)/v1/streams/events"
        if let wrk = tools.wrk {
            let run = try await WrkRun.run(
                wrk, script: singleScript, url: url, seconds: Self.seconds, in: directory)
            ceiling.http1 = run.successRate
            BenchReport.line("nginx.h1", run.successRate, "req/s")
        } else {
            print("BENCH nginx.h1 skipped: wrk not found (Debian package wrk)")
        }
        if let h2load = tools.h2load {
            let run = try await H2LoadRun.run(
                h2load, url: "http://127.0.0.1:\(h2cPort)/v1/streams/events", body: singleBody,
                headers: Self.singleHeaders, seconds: Self.seconds, in: directory)
            ceiling.h2c = run.successRate
            BenchReport.line("nginx.h2c", run.successRate, "req/s")
        } else {
            print("BENCH nginx.h2c skipped: h2load not found (Debian package nghttp2-client)")
        }
        return ceiling
    }

    // MARK: - Hadron

    /// The replicationFactor 1 figures, returning the batched publish rate (events/s) when it was measured.
    func measureHadron(_ hadron: String, against ceiling: Ceiling) async throws -> Double? {
        guard tools.wrk != nil || tools.h2load != nil else {
            print("BENCH publish skipped: neither wrk nor h2load found (Debian packages wrk, nghttp2-client)")
            return nil
        }
        let cluster = HadronCluster(executable: hadron, directory: directory)
        defer { cluster.kill() }
        do {
            let batch = try await measure(cluster, against: ceiling)
            await cluster.closeClient()
            return batch
        } catch {
            await cluster.closeClient()
            throw error
        }
    }

    private func measure(_ cluster: HadronCluster, against ceiling: Ceiling) async throws -> Double? {
        var batchRate: Double?
        let gateway = try await cluster.start()
        let idle = try PublishBench.residentMiB(pid: gateway.pid)
        try await cluster.checkPublishing()
        let url = "http://\(cluster.gatewayAddress)/v1/streams/events"
        let rss = RSSSampler(pid: gateway.pid)
        defer { rss.stop() }

        if let wrk = tools.wrk {
            // Warm-up: connections, buffers, the first segment files; not reported.
            _ = try await WrkRun.run(wrk, script: singleScript, url: url, seconds: 2, in: directory)
            let run = try await WrkRun.run(wrk, script: singleScript, url: url, seconds: Self.seconds, in: directory)
            BenchReport.line("publish.single", run.successRate, "req/s")
            if let p50 = run.p50 { BenchReport.line("publish.single.p50", p50 * 1000, "ms") }
            if let p99 = run.p99 { BenchReport.line("publish.single.p99", p99 * 1000, "ms") }
            if let nginx = ceiling.http1 {
                BenchReport.ratio("publish.single", run.successRate / nginx, vs: "nginx.h1")
            }
        } else {
            print("BENCH publish.single skipped: wrk not found (Debian package wrk)")
        }
        if let h2load = tools.h2load {
            let run = try await H2LoadRun.run(
                h2load, url: url, body: singleBody, headers: Self.singleHeaders, seconds: Self.seconds, in: directory)
            BenchReport.line("publish.single.h2c", run.successRate, "req/s")
            if let nginx = ceiling.h2c {
                BenchReport.ratio("publish.single.h2c", run.successRate / nginx, vs: "nginx.h2c")
            }
        } else {
            print("BENCH publish.single.h2c skipped: h2load not found (Debian package nghttp2-client)")
        }
        if let wrk = tools.wrk {
            _ = try await WrkRun.run(wrk, script: batchScript, url: url, seconds: 2, in: directory)
            let run = try await WrkRun.run(wrk, script: batchScript, url: url, seconds: Self.seconds, in: directory)
            batchRate = run.successRate * Double(Self.batchEvents)
            BenchReport.line("publish.batch", batchRate!, "events/s")
        } else {
            print("BENCH publish.batch skipped: wrk not found (Debian package wrk)")
        }
        if let h2load = tools.h2load {
            let run = try await H2LoadRun.run(
                h2load, url: url, body: batchBody, headers: ["content-type: application/cloudevents-batch+json"],
                seconds: Self.seconds, streams: 2, in: directory)
            BenchReport.line("publish.batch.h2c", run.successRate * Double(Self.batchEvents), "events/s")
        }
        rss.stop()
        BenchReport.line("gateway.rss.idle", idle, "MiB")
        BenchReport.line("gateway.rss.load", await rss.maximum(), "MiB")
        return batchRate
    }

    // MARK: - Request shapes

    static let singleHeaders = [
        "ce-specversion: 1.0", "ce-id: bench-h2", "ce-source: /bench", "ce-type: dev.hadron.bench",
        "content-type: application/octet-stream",
    ]

    /// One binary-mode event of 1 KiB per request, a fresh `ce-id` each (a per-thread counter; wrk runs one thread).
    static let singleLua = """
        local body = string.rep("x", 1024)
        local counter = 0
        request = function()
          counter = counter + 1
          return wrk.format("POST", nil, {
            ["ce-specversion"] = "1.0",
            ["ce-id"] = "bench-" .. counter,
            ["ce-source"] = "/bench",
            ["ce-type"] = "dev.hadron.bench",
            ["Content-Type"] = "application/octet-stream",
          }, body)
        end

        """

    /// The same pre-built batch every request (Hadron does not deduplicate by id).
    static func batchLua(bodyPath: String) -> String {
        """
        local file = assert(io.open("\(bodyPath)", "rb"))
        wrk.method = "POST"
        wrk.body = file:read("*a")
        file:close()
        wrk.headers["Content-Type"] = "application/cloudevents-batch+json"

        """
    }

    static func batchJSON(events: Int, dataBytes: Int) -> String {
        let data = String(repeating: "d", count: dataBytes)
        let members = (0..<events).map { index in
            #"{"specversion":"1.0","id":"bench-batch-\#(index)","source":"/bench","type":"dev.hadron.bench","#
                + #""datacontenttype":"text/plain","data":"\#(data)"}"#
        }
        return "[" + members.joined(separator: ",") + "]"
    }

    /// nginx as an unprivileged, self-contained server: everything under `prefix`, no access log, `return 204` for
    /// any request (the body is read and discarded), keep-alive without a request limit, h2c on its own port (nginx
    /// 1.22 cannot serve both on one plaintext port).
    static func nginxConfiguration(prefix: String, http1Port: Int, h2cPort: Int) -> String {
        """
        worker_processes auto;
        pid \(prefix)/nginx.pid;
        error_log \(prefix)/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/client_body;
            proxy_temp_path \(prefix)/proxy;
            fastcgi_temp_path \(prefix)/fastcgi;
            uwsgi_temp_path \(prefix)/uwsgi;
            scgi_temp_path \(prefix)/scgi;
            keepalive_requests 1000000000;
            keepalive_timeout 60s;
            server { listen 127.0.0.1:\(http1Port); location / { return 204; } }
            server { listen 127.0.0.1:\(h2cPort) http2; location / { return 204; } }
        }

        """
    }

    // MARK: - Processes and sockets

    /// A loopback port nobody listens on now (for nginx, which cannot listen on port 0 and report the port).
    static func freeLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchFailure("socket: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw BenchFailure("bind to a free loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts connections on `127.0.0.1:port`.
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// VmRSS of a process, in MiB.
    static func residentMiB(pid: Int32) throws -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { throw BenchFailure("cannot read VmRSS of process \(pid)") }
        return kilobytes / 1_024
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Hadron as three processes

/// `hadron controller`, `hadron storage` and `hadron gateway`, each its own process on a port it picks.
final class HadronCluster: Sendable {
    let executable: String
    let directory: String
    private let processes = Mutex<[ChildProcess]>([])
    /// The storage data directories this cluster wrote, removed with it.
    private let dataDirectories = Mutex<[String]>([])
    private let address = Mutex<String>("")
    private let client = InternalClient(logger: Logger(label: "publish-bench") { _ in SwiftLogNoOpLogHandler() })

    init(executable: String, directory: String) {
        self.executable = executable
        self.directory = directory
    }

    var gatewayAddress: String { address.withLock { $0 } }

    /// Starts the controller, `storageNodes` storage nodes and the gateway, and returns the gateway once `/readyz`
    /// answers 200. At replicationFactor 1 the stream syncs every batch (`fsync: always`); above it, the stream's
    /// default `replicated` durability applies (DESIGN.md §7) with minInSyncReplicas 2.
    func start(storageNodes: Int = 1, replicationFactor: Int = 1) async throws -> ChildProcess {
        let resources = directory + "/streams-rf\(replicationFactor).yaml"
        let spec =
            replicationFactor == 1
            ? "{partitions: 3, replicationFactor: 1, fsync: always}"
            : "{partitions: 3, replicationFactor: \(replicationFactor), minInSyncReplicas: 2}"
        try """
        apiVersion: hadron.dev/v1alpha1
        kind: Stream
        metadata: {name: events}
        spec: \(spec)

        """.write(toFile: resources, atomically: false, encoding: .utf8)
        let controller = try launch("controller", ["controller", "-f", resources, "--listen", "127.0.0.1:0"])
        let controllerURL = "http://" + (try await controller.listeningAddress(role: "controller"))
        dataDirectories.withLock { $0.append(directory + "/data-rf\(replicationFactor)") }
        // The storage processes share this machine's cores, as co-located nodes would be sized in production.
        let eventLoops = max(1, System.coreCount / storageNodes)
        for index in 0..<storageNodes {
            let storage = try launch(
                "storage-\(index)",
                [
                    "storage", "--node-id", "storage-\(index)", "--listen", "127.0.0.1:0", "--data-dir",
                    directory + "/data-rf\(replicationFactor)/storage-\(index)", "--controller", controllerURL,
                    "--event-loops", String(eventLoops),
                ])
            _ = try await storage.listeningAddress(role: "storage")
        }
        let gateway = try launch("gateway", ["gateway", "--listen", "127.0.0.1:0", "--controller", controllerURL])
        let gatewayAddress = try await gateway.listeningAddress(role: "gateway")
        address.withLock { $0 = gatewayAddress }
        try await waitUntilReady(gateway)
        return gateway
    }

    /// One single event and one batch, each answered 202, before any load: a misconfigured run fails here, loudly,
    /// instead of measuring error responses.
    func checkPublishing() async throws {
        var single = HTTPFields()
        single[HTTPField.Name("ce-specversion")!] = "1.0"
        single[HTTPField.Name("ce-id")!] = "bench-check"
        single[HTTPField.Name("ce-source")!] = "/bench"
        single[HTTPField.Name("ce-type")!] = "dev.hadron.bench"
        single[.contentType] = "application/octet-stream"
        var batch = HTTPFields()
        batch[.contentType] = "application/cloudevents-batch+json"
        let checks = [
            (single, String(repeating: "x", count: 1_024)),
            (batch, PublishBench.batchJSON(events: PublishBench.batchEvents, dataBytes: 256)),
        ]
        for (fields, body) in checks {
            let response = try await client.execute(
                InternalRequest(
                    method: .post, path: "/v1/streams/events", headerFields: fields, body: ByteBuffer(string: body)),
                to: gatewayAddress, timeout: .seconds(10))
            guard response.status.code == 202 else {
                throw BenchFailure(
                    "publishing to the gateway answered \(response.status.code): \(String(buffer: response.body))")
            }
        }
    }

    /// SIGKILL to every process by PID and reap it, then remove the data the cluster wrote, synchronously (for
    /// `defer`): the next measurement starts on a machine as the first one did. The replicationFactor 3 figures ran
    /// a quarter slower after the replicationFactor 1 run of the same bench than on their own, with the gigabytes that
    /// run wrote still on disk.
    func kill() {
        let all = processes.withLock { processes in
            defer { processes.removeAll() }
            return processes
        }
        for process in all.reversed() { process.killNow() }
        let written = dataDirectories.withLock { directories in
            defer { directories.removeAll() }
            return directories
        }
        for path in written { try? FileManager.default.removeItem(atPath: path) }
    }

    func closeClient() async {
        await client.shutdown()
    }

    private func launch(_ name: String, _ arguments: [String]) throws -> ChildProcess {
        let process = try ChildProcess(name: name, executable: executable, arguments: arguments)
        processes.withLock { $0.append(process) }
        return process
    }

    /// Polls `/readyz` until 200: the gateway has topology and every partition a leader.
    private func waitUntilReady(_ gateway: ChildProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = "no answer"
        while ContinuousClock.now < deadline {
            guard gateway.isRunning else { throw BenchFailure("the gateway exited:\n\(gateway.standardError)") }
            do {
                let response = try await client.execute(
                    InternalRequest(method: .get, path: "/readyz"), to: gatewayAddress, timeout: .seconds(5))
                if response.status.code == 200 { return }
                last = "\(response.status.code): \(String(buffer: response.body))"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure("the gateway was not ready within 60 s (last /readyz: \(last))")
    }
}

// MARK: - nginx

/// nginx in the foreground (`daemon off`) with its own prefix; stopped by SIGTERM to the master, whose workers are
/// then killed by PID should any outlive it.
final class NginxProcess: Sendable {
    private let process: Process
    let pid: Int32
    let prefix: String

    init(executable: String, prefix: String) throws {
        self.prefix = prefix
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // -e: the error log before the configuration is read (the compiled-in path is not writable for non-root).
        process.arguments = [
            "-p", prefix, "-c", prefix + "/nginx.conf", "-e", prefix + "/error.log", "-g", "daemon off;",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
    }

    func waitUntilListening(ports: [Int]) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !ports.allSatisfy(PublishBench.accepts(port:)) {
            guard process.isRunning else { throw BenchFailure("nginx exited at startup:\n\(errorLog)") }
            guard ContinuousClock.now < deadline else {
                throw BenchFailure("nginx did not listen on \(ports) within 30 s:\n\(errorLog)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    var errorLog: String { (try? String(contentsOfFile: prefix + "/error.log", encoding: .utf8)) ?? "" }

    /// SIGTERM to the master (nginx's fast shutdown, which stops its workers), SIGKILL after 10 s; synchronous, for
    /// `defer`, and over in milliseconds.
    func stop() {
        let workers = children()
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        for worker in workers where Self.isNginx(worker) { kill(worker, SIGKILL) }
    }

    /// The PIDs whose parent is the master.
    private func children() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // After "comm)": state, then the parent PID.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    private static func isNginx(_ pid: Int32) -> Bool {
        ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").hasPrefix("nginx")
    }
}

// MARK: - Load tools

/// Runs a tool to completion with its output in a file, killed if it overruns `timeout`.
enum ToolProcess {
    static func run(_ executable: String, _ arguments: [String], timeout: Duration, in directory: String) async throws
        -> String
    {
        let outputPath = directory + "/tool-\(UUID().uuidString).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        guard let output = FileHandle(forWritingAtPath: outputPath) else {
            throw BenchFailure("cannot write \(outputPath)")
        }
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            let pid = process.processIdentifier
            let watchdog = Thread {
                let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
                while process.isRunning {
                    if Date() >= deadline {
                        kill(pid, SIGKILL)
                        return
                    }
                    usleep(50_000)
                }
            }
            watchdog.start()
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let name = (executable as NSString).lastPathComponent
        guard status == 0 else { throw BenchFailure("\(name) exited with status \(status):\n\(text)") }
        return text
    }
}

/// `wrk` over HTTP/1.1: one thread (the server needs the other core), 64 connections, a Lua script for the requests.
struct WrkRun {
    let requestsPerSecond: Double
    let requests: Double
    let failures: Double
    /// Latency percentiles, in seconds.
    let p50: Double?
    let p99: Double?

    /// Responses per second that were 2xx, answered in time and over an intact connection.
    var successRate: Double { requests > 0 ? requestsPerSecond * max(0, requests - failures) / requests : 0 }

    static func run(_ wrk: String, script: String, url: String, seconds: Int, in directory: String) async throws
        -> WrkRun
    {
        let output = try await ToolProcess.run(
            wrk,
            [
                "-t1", "-c\(PublishBench.connections)", "-d\(seconds)s", "--timeout", "5s", "--latency", "-s", script,
                url,
            ], timeout: .seconds(Int64(seconds) + 30), in: directory)
        let run = try parse(output)
        if run.failures > 0 {
            print(
                "publish bench: \(Int(run.failures)) of \(Int(run.requests)) wrk requests failed; rates count successes"
            )
        }
        return run
    }

    static func parse(_ output: String) throws -> WrkRun {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func value(after prefix: String) -> Double? {
            lines.first { $0.hasPrefix(prefix) }.flatMap {
                Double($0.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces))
            }
        }
        guard let rate = value(after: "Requests/sec:"),
            let total = lines.first(where: { $0.contains(" requests in ") }).flatMap({
                Double($0.split(separator: " ")[0])
            })
        else { throw BenchFailure("unexpected wrk output:\n\(output)") }
        var failures = value(after: "Non-2xx or 3xx responses:") ?? 0
        if let errors = lines.first(where: { $0.hasPrefix("Socket errors:") }) {
            // "Socket errors: connect 0, read 0, write 0, timeout 0": read errors are connections closed by the
            // peer, and timeouts are requests never answered.
            let numbers = errors.split(whereSeparator: { !$0.isNumber }).compactMap { Double($0) }
            if numbers.count == 4 { failures += numbers[3] }
        }
        func percentile(_ label: String) -> Double? {
            guard let line = lines.first(where: { $0.hasPrefix(label + " ") }) else { return nil }
            return duration(String(line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)))
        }
        return WrkRun(
            requestsPerSecond: rate, requests: total, failures: failures, p50: percentile("50%"),
            p99: percentile("99%"))
    }

    /// wrk's "812.00us", "1.23ms", "2.01s", "1.50m".
    static func duration(_ text: String) -> Double? {
        for (unit, scale) in [("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(unit) {
            return Double(text.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }
}

/// `h2load` over h2c: one thread, 64 connections × `streams` concurrent streams, a second of warm-up, POSTs of a body
/// read from a file.
struct H2LoadRun {
    let requestsPerSecond: Double
    let done: Double
    let successes: Double

    var successRate: Double { done > 0 ? requestsPerSecond * successes / done : 0 }

    static func run(
        _ h2load: String, url: String, body: String, headers: [String], seconds: Int,
        streams: Int = PublishBench.h2Streams, in directory: String
    ) async throws -> H2LoadRun {
        var arguments = [
            "-t", "1", "-c", "\(PublishBench.connections)", "-m", "\(streams)", "-D", "\(seconds)",
            "--warm-up-time", "1", "-d", body,
        ]
        for header in headers { arguments += ["-H", header] }
        arguments.append(url)
        let output = try await ToolProcess.run(
            h2load, arguments, timeout: .seconds(Int64(seconds) + 30), in: directory)
        let run = try parse(output)
        if run.successes < run.done {
            print("publish bench: \(Int(run.done - run.successes)) of \(Int(run.done)) h2load requests were not 2xx")
        }
        return run
    }

    static func parse(_ output: String) throws -> H2LoadRun {
        let lines = output.split(separator: "\n").map(String.init)
        // "finished in 9.00s, 47509.33 req/s, 2.63MB/s"
        // "requests: 142528 total, 142528 started, 142528 done, 142528 succeeded, 0 failed, 0 errored, 0 timeout"
        // "status codes: 142528 2xx, 0 3xx, 0 4xx, 0 5xx"
        func count(_ word: String, in line: String?) -> Double? {
            guard let line else { return nil }
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "," })
            guard let index = tokens.firstIndex(where: { $0 == word }), index > tokens.startIndex else { return nil }
            return Double(tokens[tokens.index(before: index)])
        }
        let finished = lines.first { $0.hasPrefix("finished in ") }
        guard let rate = count("req/s", in: finished),
            let done = count("done", in: lines.first { $0.hasPrefix("requests: ") }),
            let successes = count("2xx", in: lines.first { $0.hasPrefix("status codes: ") })
        else { throw BenchFailure("unexpected h2load output:\n\(output)") }
        return H2LoadRun(requestsPerSecond: rate, done: done, successes: successes)
    }
}

// MARK: - Memory

/// Samples a process's VmRSS every 50 ms on a thread of its own and keeps the maximum.
final class RSSSampler: Sendable {
    private struct State {
        var maximum = 0.0
        var running = true
    }

    private let state = Mutex(State())
    private let finished = Mutex<[CheckedContinuation<Void, Never>]?>([])

    init(pid: Int32) {
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                if let sample = try? PublishBench.residentMiB(pid: pid) {
                    state.withLock { $0.maximum = max($0.maximum, sample) }
                }
                usleep(50_000)
            }
            let waiters = finished.withLock { waiters in
                defer { waiters = nil }
                return waiters ?? []
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "rss-sampler"
        thread.start()
    }

    func stop() { state.withLock { $0.running = false } }

    /// The largest sample, once the sampling thread has ended (after ``stop()``).
    func maximum() async -> Double {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        return state.withLock { $0.maximum }
    }
}
