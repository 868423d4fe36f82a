/// Why a resource name, node id or name pattern was refused.
///
/// The ``description`` reaches users through the admission webhook and the command line, so it names the value,
/// the rule and the position at fault. The code is open-ended: new codes never break a caller's `switch`.
public struct NameError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case empty, tooLong, invalidCharacter, invalidStart, invalidEnd, emptySegment, misplacedWildcard
            case partialWildcard
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let empty = Code(.empty)
        /// Longer than 63 (label) or 253 (subdomain) characters.
        public static let tooLong = Code(.tooLong)
        /// A character the rule does not allow (upper case, `_`, a space, …).
        public static let invalidCharacter = Code(.invalidCharacter)
        /// A label starts with something other than a letter or digit.
        public static let invalidStart = Code(.invalidStart)
        /// A label ends with something other than a letter or digit.
        public static let invalidEnd = Code(.invalidEnd)
        /// Two dots in a row, or a dot at either end.
        public static let emptySegment = Code(.emptySegment)
        /// `>` anywhere but the last segment.
        public static let misplacedWildcard = Code(.misplacedWildcard)
        /// `*` or `>` inside a segment (`ab*`) rather than being the whole segment.
        public static let partialWildcard = Code(.partialWildcard)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
