/// A failure below HTTP: connection, TLS, timeout, or a libcurl misuse.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case curl(Int)
        case timedOut
        case setup
    }

    private let code: Code
    public let message: String

    private init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    static func curl(code: Int, message: String) -> TransportError {
        // CURLE_OPERATION_TIMEDOUT is 28.
        TransportError(code: code == 28 ? .timedOut : .curl(code), message: message)
    }

    static func setup(_ message: String) -> TransportError {
        TransportError(code: .setup, message: message)
    }

    /// The exchange hit its time limit.
    public var isTimeout: Bool {
        if case .timedOut = code { return true }
        return false
    }

    /// The libcurl error number (`CURLcode`), when libcurl reported the failure.
    public var curlCode: Int? {
        switch code {
        case .curl(let value): return value
        case .timedOut: return 28
        case .setup: return nil
        }
    }

    public var description: String { "transport: \(message)" }
}
