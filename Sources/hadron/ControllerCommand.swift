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

    func validate() throws {
        guard !file.isEmpty else { throw ValidationError("-f/--file (or HADRON_FILE) is required") }
        guard ServerAddress(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
    }

    func run() async throws {
        let logger = CommandLogging.logger(label: "hadron.controller")
        let streams = try ResourceFile.streams(at: file)
        let address = ServerAddress(listen)!
        let server = LocalControllerServer(
            controller: LocalController(streams: streams), host: address.host, port: address.port, logger: logger
        ) { bound in
            CommandLogging.announce("hadron controller listening on http://\(bound)")
        }
        try await ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
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
