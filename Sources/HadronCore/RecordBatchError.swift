/// Why bytes are not a valid record batch: which rule, where.
///
/// Storage answers a producer or a follower with the ``description``, and recovery uses ``code`` to tell a torn
/// write (``Code/truncated``, ``Code/checksumMismatch``) from a bug. The code is open-ended, so new codes never
/// break a caller's `switch`.
public struct RecordBatchError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case tooShort, badMagic, badLength, countMismatch, truncated, checksumMismatch, malformedRecord
            case unsupportedAttributes
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Fewer bytes than a header (61).
        public static let tooShort = Code(.tooShort)
        /// The magic byte is not 2: not a batch of this format, or not the start of a batch.
        public static let badMagic = Code(.badMagic)
        /// `batchLength` is smaller than the rest of the header, so it cannot be a batch.
        public static let badLength = Code(.badLength)
        /// `recordCount` is not `lastOffsetDelta + 1`, or not positive, or the records do not add up to it.
        public static let countMismatch = Code(.countMismatch)
        /// The buffer ends before `12 + batchLength` bytes: typically a torn write at the end of a segment.
        public static let truncated = Code(.truncated)
        /// The CRC-32C of bytes [21, end) differs from the header's: the bytes were damaged.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A record inside the batch does not follow the record layout.
        public static let malformedRecord = Code(.malformedRecord)
        /// The batch's `attributes` field has bits this version does not understand.
        public static let unsupportedAttributes = Code(.unsupportedAttributes)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What was wrong, in words, with the offending values.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "invalid record batch (\(code)): \(message)" }
}
