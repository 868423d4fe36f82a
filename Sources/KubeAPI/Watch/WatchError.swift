/// A watch stream the client could not make sense of.
public struct WatchError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case lineTooLong
        case malformedEvent
        case truncated
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func lineTooLong(_ count: Int) -> WatchError {
        WatchError(.lineTooLong, "watch event longer than \(count) bytes without a newline")
    }

    static func malformedEvent(_ detail: String) -> WatchError {
        WatchError(.malformedEvent, "malformed watch event: \(detail)")
    }

    static func truncated() -> WatchError {
        WatchError(.truncated, "watch stream ended in the middle of an event")
    }

    public var description: String { message }
}
