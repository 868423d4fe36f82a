import Foundation
import HadronHTTP
import HadronTestSupport
import Logging
import Testing

/// Starts `hadron` subcommands as real processes on loopback ports they choose (port 0) and stops them by PID.
final class LocalCluster: Sendable {
    static let executable = BuiltExecutable.path(named: "hadron")
    let directory = TemporaryDirectory("hadron-e2e")
    let client = InternalClient(logger: Logger(label: "e2e"))

    init() throws { try directory.create() }

    deinit { directory.remove() }

    func resources(_ yaml: String) throws -> String {
        let path = directory.path + "/resources-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func start(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        let executable = try #require(Self.executable, "the hadron executable was not built next to the tests")
        return try ChildProcess(name: name, executable: executable, arguments: arguments, environment: environment)
    }

    func controller(streams yaml: String) async throws -> (ChildProcess, String) {
        let process = try start("controller", ["controller", "-f", try resources(yaml), "--listen", "127.0.0.1:0"])
        return (process, try await process.listeningAddress(role: "controller"))
    }
}

/// Repeats `body` until it returns a value or `timeout` passes: waiting on a condition, never on a fixed delay.
func eventually<T>(
    timeout: Duration = .seconds(30), _ what: String, _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if let value = try await body() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ChildProcess.Failure(description: "timed out waiting for \(what); last error: \(String(describing: lastError))")
}
