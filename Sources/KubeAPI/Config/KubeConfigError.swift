/// Why no usable Kubernetes configuration could be loaded.
public struct KubeConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case notFound
        case unreadable
        case malformed
        case incomplete
        case unsupported
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Neither an in-cluster service account nor a kubeconfig file exists.
    static func notFound(_ message: String) -> Self { Self(.notFound, message) }
    /// A file the configuration names cannot be read.
    static func unreadable(_ message: String) -> Self { Self(.unreadable, message) }
    /// The kubeconfig is not valid YAML of the expected shape, or a `*-data` field is not base64.
    static func malformed(_ message: String) -> Self { Self(.malformed, message) }
    /// A context, cluster or user is missing, or a required field is empty.
    static func incomplete(_ message: String) -> Self { Self(.incomplete, message) }
    /// A feature of kubeconfig this client does not implement (exec plugins, auth providers).
    static func unsupported(_ message: String) -> Self { Self(.unsupported, message) }

    public var isNotFound: Bool { code == .notFound }
    public var isMalformed: Bool { code == .malformed }
    public var isIncomplete: Bool { code == .incomplete }
    public var isUnreadable: Bool { code == .unreadable }
    public var isUnsupported: Bool { code == .unsupported }

    public var description: String { "kubernetes configuration: \(message)" }
}
