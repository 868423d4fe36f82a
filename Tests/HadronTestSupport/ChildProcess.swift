import Foundation
import Glibc
import Synchronization

/// A real process started by a test: its standard output read line by line on a thread of its own (never on the
/// cooperative pool), waited on with deadlines, killed by PID, and always reaped — a test never leaks a server.
public final class ChildProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    private struct State {
        var lines: [String] = []
        var closed = false
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Waiters whose deadline passed before they were registered.
        var expired: Set<Int> = []
        var nextWaiter = 0
    }

    /// Output and waiters, in an object of their own: the reader thread holds this, not the ChildProcess, so
    /// dropping the ChildProcess runs its deinit (which kills the child) even while the child still runs.
    private final class Output: Sendable {
        let state = Mutex(State())
    }

    public let name: String
    public let pid: Int32
    private let process: Process
    private let stderrPath: String
    private let output = Output()

    /// Starts `executable` with `arguments`; standard error goes to a temporary file kept for diagnostics.
    public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let pipe = Pipe()
        process.standardOutput = pipe
        stderrPath = NSTemporaryDirectory() + "hadron-\(name)-\(UUID().uuidString).stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        let output = self.output
        let thread = Thread { Self.readLines(descriptor: descriptor, pipe: pipe, into: output) }
        thread.name = "child-\(name)"
        thread.start()
    }

    deinit {
        if process.isRunning {
            Glibc.kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    /// Every line printed so far.
    public var lines: [String] { output.state.withLock { $0.lines } }

    /// What the process wrote to standard error, for failure messages.
    public var standardError: String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    public var isRunning: Bool { process.isRunning }

    /// Waits until a line matching `predicate` has been printed; fails when the deadline passes or output ends.
    public func waitForLine(timeout: Duration = .seconds(60), where predicate: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var seen = 0
        while true {
            let (fresh, closed) = output.state.withLock { ($0.lines.dropFirst(seen), $0.closed) }
            if let line = fresh.first(where: predicate) { return line }
            seen += fresh.count
            if closed { throw Failure(description: "\(name) ended its output first; stderr:\n\(standardError)") }
            if ContinuousClock.now >= deadline {
                throw Failure(description: "\(name): no matching line within \(timeout); stderr:\n\(standardError)")
            }
            await waitForOutput(until: deadline)
        }
    }

    /// The `HOST:PORT` from the ready line `hadron <role> listening on http://HOST:PORT` (DESIGN.md §8).
    public func listeningAddress(role: String, timeout: Duration = .seconds(60)) async throws -> String {
        let prefix = "hadron \(role) listening on http://"
        let line = try await waitForLine(timeout: timeout) { $0.hasPrefix(prefix) }
        return String(line.dropFirst(prefix.count))
    }

    /// Sends `signal` (SIGKILL, SIGTERM, SIGSTOP, SIGCONT, …).
    public func send(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Waits for the process to exit; its exit status, or nil if it is still running at the deadline.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            await waitForOutput(until: min(deadline, ContinuousClock.now + .milliseconds(50)))
        }
        return process.terminationStatus
    }

    /// SIGKILL and reap, synchronously: for `defer`, where a test must not leave a process behind whatever happens.
    /// Reaping a killed process takes milliseconds.
    public func killNow() {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGKILL and reap.
    public func kill() async {
        send(SIGKILL)
        _ = await waitForExit()
    }

    private func waitForOutput(until deadline: ContinuousClock.Instant) async {
        let id = output.state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        // Wake on new output or at the deadline, whichever comes first.
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.resume(id)
        }
        await withCheckedContinuation { continuation in
            let resumeNow = output.state.withLock { state -> Bool in
                if state.closed || state.expired.remove(id) != nil { return true }
                state.waiters.append((id, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
        output.state.withLock { _ = $0.expired.remove(id) }
    }

    private func resume(_ id: Int) {
        let continuation = output.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                state.expired.insert(id)
                return nil
            }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume()
    }

    private static func readLines(descriptor: Int32, pipe: Pipe, into output: Output) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            let fresh: [String]
            if count <= 0 {
                fresh = buffer.isEmpty ? [] : [String(decoding: buffer, as: UTF8.self)]
            } else {
                buffer += chunk[..<count]
                var lines: [String] = []
                while let newline = buffer.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
                    buffer.removeSubrange(...newline)
                }
                fresh = lines
            }
            let waiters = output.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.lines += fresh
                if count <= 0 { state.closed = true }
                defer { state.waiters.removeAll() }
                return state.waiters.map(\.continuation)
            }
            for waiter in waiters { waiter.resume() }
            if count <= 0 { break }
        }
        try? pipe.fileHandleForReading.close()
    }
}
