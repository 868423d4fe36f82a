import Foundation
import Logging

/// Process-wide logging for the subcommands: one bootstrap, stderr, level from `HADRON_LOG_LEVEL`.
enum CommandLogging {
    private static let bootstrapped: Void = {
        LoggingSystem.bootstrap { label in
            var handler = StandardErrorLogHandler(label: label)
            handler.logLevel = HadronEnvironment.value(forFlag: "log-level").flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
    }()

    static func logger(label: String) -> Logger {
        _ = bootstrapped
        return Logger(label: label)
    }

    /// Prints a ready line to standard output and flushes it at once: tests and supervisors wait for it.
    static func announce(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
    }
}
