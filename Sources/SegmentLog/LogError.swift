/// Why a partition log refused an operation, with the file, position or offset that explains it.
///
/// A struct around an open-ended code (the ServiceLifecycle pattern) so that new failure kinds never break a
/// caller's `switch`; storage maps codes to answers (``Code/offsetOutOfRange`` becomes 416 with
/// ``firstAvailableOffset``, ``Code/staleEpoch`` fences an old leader).
public struct LogError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case offsetOutOfRange, invalidBatch, staleEpoch, nonContiguous, corruptBatch, corruptCheckpoint
            case diskFull, permissionDenied, io, closed, invalidConfiguration, invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The offset is below the log start (deleted by retention) or past the log end.
        public static let offsetOutOfRange = Code(.offsetOutOfRange)
        /// An appended batch failed validation (header, length, CRC); nothing was written.
        public static let invalidBatch = Code(.invalidBatch)
        /// An append carried an epoch older than the log's latest: a deposed leader (fencing, DESIGN §6).
        public static let staleEpoch = Code(.staleEpoch)
        /// Follower batches do not start at the log end offset or do not follow each other.
        public static let nonContiguous = Code(.nonContiguous)
        /// Bytes on disk are not a valid batch where one must be: damage outside the recoverable tail.
        public static let corruptBatch = Code(.corruptBatch)
        /// A checkpoint file could not be parsed.
        public static let corruptCheckpoint = Code(.corruptCheckpoint)
        /// The file system is full (ENOSPC, EDQUOT); the log was rolled back to its last good state.
        public static let diskFull = Code(.diskFull)
        /// The process may not open, create or write a file of the log.
        public static let permissionDenied = Code(.permissionDenied)
        /// Any other system call failure.
        public static let io = Code(.io)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// A ``LogConfiguration`` value is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// An offset or other argument is out of its domain (a negative offset).
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What went wrong, in words, naming the file, position and offsets involved.
    public let message: String
    /// The file involved, when there is one.
    public let path: String?
    /// The byte position in ``path`` of the damage, for ``Code/corruptBatch``.
    public let position: Int64?
    /// For ``Code/offsetOutOfRange``: the first offset the log still holds (its log start offset).
    public let firstAvailableOffset: Int64?
    /// The `errno` of the failed system call, for I/O codes.
    public let errno: Int32?

    init(
        _ code: Code, _ message: String, path: String? = nil, position: Int64? = nil,
        firstAvailableOffset: Int64? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.position = position
        self.firstAvailableOffset = firstAvailableOffset
        self.errno = errno
    }

    public var description: String { "partition log error (\(code)): \(message)" }
}
