/// Why the gateway itself could not start or keep going (as opposed to a request that failed, which is a
/// `ProblemDetails` answer). Open-ended: new codes never break a caller's `switch`.
public struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, controllerUnreachable, invalidTopology, notListening
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A flag or setting that cannot work (unreadable certificate, a limit of zero, a bad URL).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The controller refused or dropped the topology watch.
        public static let controllerUnreachable = Code(.controllerUnreachable)
        /// The controller sent a topology that does not decode.
        public static let invalidTopology = Code(.invalidTopology)
        /// The server stopped (or failed to bind) before it listened.
        public static let notListening = Code(.notListening)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
