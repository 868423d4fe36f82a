import ArgumentParser
import Foundation
import HadronControl
import HadronCore
import HadronHTTP
import Logging
import ServiceLifecycle

/// `hadron controller -f resources.yaml --listen HOST:PORT`: the local control plane as its own process.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the local controller: serves topology to storage nodes and gateways (no Kubernetes).")

    @Option(name: .shortAndLong, help: "YAML file with Stream (and optional HadronCluster) resources.")
    var file: String = HadronEnvironment.value(forFlag: "file", default: "")

    @Option(help: "Address to listen on (HOST:PORT; port 0 picks a free port).")
    var listen: String = HadronEnvironment.value(forFlag: "listen", default: "127.0.0.1:9000")

    @OptionGroup var liveness: LivenessOptions

    func validate() throws {
        guard !file.isEmpty else { throw ValidationError("-f/--file (or HADRON_FILE) is required") }
        guard ServerAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        _ = try liveness.timeout()
    }

    func run() async throws {
        let logger = CommandLogging.logger(label: "hadron.controller")
        let streams = try ResourceFile.streams(at: file)
        let address = ServerAddress(listen)!
        let server = LocalControllerServer(
            controller: LocalController(streams: streams, livenessTimeout: try liveness.timeout(), logger: logger),
            host: address.host, port: address.port, logger: logger
        ) { bound in
            CommandLogging.announce("hadron controller listening on http://\(bound)")
        }
        try await ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}

/// How long the controller waits for a storage node's heartbeat before it counts the node as failed: not ready, its
/// partitions' leadership elected away, its replicas out of the ISRs (DESIGN.md §6). Shorter fails over sooner but
/// mistakes a pause for a failure sooner; tests use a fraction of a second.
struct LivenessOptions: ParsableArguments {
    @Option(
        name: .customLong("liveness-timeout"),
        help: "Seconds without a heartbeat before a storage node counts as failed; default 3 (HADRON_LIVENESS_TIMEOUT)."
    )
    var livenessTimeout: Double?

    func timeout() throws -> Duration {
        guard let text = livenessTimeout.map({ String($0) }) ?? HadronEnvironment.value(forFlag: "liveness-timeout")
        else { return .seconds(3) }
        guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
            throw ValidationError("--liveness-timeout must be a positive number of seconds, got \(text)")
        }
        return .seconds(seconds)
    }
}

/// Reads a resources file for the local control plane, with errors that name the file.
enum ResourceFile {
    static func streams(at path: String) throws -> [StreamResource] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        do {
            return try ResourceLoader.load(yaml: String(decoding: data, as: UTF8.self)).compactMap {
                if case .stream(let stream) = $0 { return stream }
                return nil
            }
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}
