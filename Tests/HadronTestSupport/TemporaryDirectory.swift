import Foundation

/// A unique path under the system temporary directory (not created: code under test may insist on creating it),
/// removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "hadron") {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func create() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
