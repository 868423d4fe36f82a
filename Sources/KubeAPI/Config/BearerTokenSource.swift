import Foundation
import Synchronization

/// Where the bearer token of each request comes from.
///
/// A projected service-account token rotates (the kubelet swaps the file about hourly), so a token
/// read from a file is re-read whenever the file changes — checked with one `stat` per request —
/// and at least once a minute, as client-go does.
public final class BearerTokenSource: Sendable {
    private enum Origin: Sendable {
        case fixed(String)
        case file(String)
    }

    private struct Cached: Sendable {
        var token: String
        var fingerprint: [Int]
        var readAt: ContinuousClock.Instant
    }

    private let origin: Origin
    private let cache = Mutex<Cached?>(nil)

    public static func fixed(_ token: String) -> BearerTokenSource { BearerTokenSource(origin: .fixed(token)) }
    public static func file(_ path: String) -> BearerTokenSource { BearerTokenSource(origin: .file(path)) }

    private init(origin: Origin) {
        self.origin = origin
    }

    /// The path the token is read from, if it comes from a file.
    public var path: String? {
        if case .file(let path) = origin { return path }
        return nil
    }

    /// The current token.
    public func token() throws -> String {
        switch origin {
        case .fixed(let token):
            return token
        case .file(let path):
            let fingerprint = Self.fingerprint(path)
            let now = ContinuousClock.now
            if let cached = cache.withLock({ $0 }), cached.fingerprint == fingerprint,
                now - cached.readAt < .seconds(60)
            {
                return cached.token
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KubeConfigError.unreadable("cannot read token file \(path)")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            cache.withLock { $0 = Cached(token: token, fingerprint: fingerprint, readAt: now) }
            return token
        }
    }

    private static func fingerprint(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }
}
