import Foundation
import Glibc
import HadronCore
import SegmentLog
import Testing

/// A child process appends with `durability: always` and prints every acknowledged offset range; the test kills
/// it with SIGKILL at a random moment, reopens the log and checks that every acknowledged batch is there, intact,
/// and that the log holds nothing but whole batches.
@Suite("PartitionLog crash")
struct CrashTests {
    struct Ack: Hashable {
        let first: Int64
        let last: Int64
        let crc: UInt32
    }

    /// The child executable sits next to the test bundle in the build products directory.
    static func childExecutable() -> String? { BuiltExecutable.path(named: "SegmentLogCrashChild") }

    /// Reads lines from `descriptor` until `count` lines have arrived, the pipe closes, or `deadline` passes.
    ///
    /// It never blocks its thread: the test runs for minutes on Swift's cooperative pool (two threads here), and a
    /// blocking `poll` held one of them the whole time, starving every test running beside it in the process (the
    /// watch tests' 30-second waits timed out under `make test`). Between checks of the pipe it sleeps a millisecond.
    final class LineReader {
        let descriptor: Int32
        var buffer: [UInt8] = []
        var closed = false

        init(descriptor: Int32) { self.descriptor = descriptor }

        func nextLine(deadline: ContinuousClock.Instant) async -> String? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self)
                    buffer.removeSubrange(...newline)
                    return line
                }
                if closed { return nil }
                guard ContinuousClock.now < deadline else { return nil }
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 0) > 0 else {
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                var chunk = [UInt8](repeating: 0, count: 4_096)
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count <= 0 { closed = true } else { buffer += chunk[..<count] }
            }
        }
    }

    @Test("every batch acknowledged under durability always survives SIGKILL at a random moment")
    func killedWhileAppending() async throws {
        let executable = try #require(Self.childExecutable(), "SegmentLogCrashChild was not built next to the tests")
        let directory = TemporaryDirectory("segmentlog-crash")
        defer { directory.remove() }
        var random = SeededGenerator(seed: 2_024)
        var acknowledged: [Ack] = []
        let clock = ContinuousClock()
        let started = clock.now
        for round in 0..<20 {
            let roundDeadline = clock.now + .seconds(30)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [directory.path, String(round + 1)]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let reader = LineReader(descriptor: pipe.fileHandleForReading.fileDescriptor)
            let ready = await reader.nextLine(deadline: roundDeadline)
            try #require(
                ready?.hasPrefix("READY") == true,
                "round \(round): the child did not start: \(String(describing: ready))")
            // Kill after a random number of acknowledgements (0 = right after open), then a random extra delay.
            let acksBeforeKill = Int.random(in: 0...40, using: &random)
            var seen = 0
            while seen < acksBeforeKill, let line = await reader.nextLine(deadline: roundDeadline) {
                if let ack = Self.parse(line) { acknowledged.append(ack) }
                seen += 1
            }
            let delay = Int.random(in: 0...3_000, using: &random)
            try await Task.sleep(for: .microseconds(delay))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Lines already in the pipe were printed after their fdatasync: they count as acknowledged too.
            while let line = await reader.nextLine(deadline: roundDeadline) {
                if let ack = Self.parse(line) { acknowledged.append(ack) }
            }
            try pipe.fileHandleForReading.close()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the child exited by itself")
            #expect(clock.now < roundDeadline, "round \(round) took too long")

            let log = try await PartitionLog.open(directory: directory.path, logger: quietLogger)
            try Self.verify(log, acknowledged: acknowledged, round: round)
            // Dropped, not closed: the next child recovers from a crash again.
        }
        #expect(acknowledged.count >= 20, "the children acknowledged only \(acknowledged.count) batches")
        #expect(clock.now - started < .seconds(120))
    }

    static func parse(_ line: String) -> Ack? {
        let fields = line.split(separator: " ")
        guard fields.count == 4, fields[0] == "ACK", let first = Int64(fields[1]), let last = Int64(fields[2]),
            let crc = UInt32(fields[3])
        else { return nil }
        return Ack(first: first, last: last, crc: crc)
    }

    static func verify(_ log: PartitionLog, acknowledged: [Ack], round: Int) throws {
        let bytes = try readAll(log)
        let headers = try TestBatch.headers(bytes)  // verifies every CRC: whole batches only
        var expected: Int64 = 0
        for header in headers {
            #expect(header.baseOffset == expected, "round \(round): offsets do not follow on at \(expected)")
            expected = header.lastOffset + 1
        }
        #expect(expected == log.logEndOffset, "round \(round): the log end is not the end of the last whole batch")
        let byOffset = Dictionary(uniqueKeysWithValues: headers.map { ($0.baseOffset, $0) })
        for ack in acknowledged {
            let header = byOffset[ack.first]
            #expect(
                header?.lastOffset == ack.last,
                "round \(round): acknowledged batch \(ack.first)...\(ack.last) is missing")
            #expect(header?.crc == ack.crc, "round \(round): acknowledged batch at \(ack.first) has different contents")
        }
    }
}
