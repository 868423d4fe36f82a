import HadronHTTP
import Hummingbird

/// Query parameters and path segments, validated with a 400 that names the one at fault.
enum RequestParameters {
    /// The integer query parameter `name`, `defaultValue` when absent, within `range`.
    static func integer(
        _ name: String, in request: Request, default defaultValue: Int64, range: ClosedRange<Int64>
    ) throws(ProblemDetails) -> Int64 {
        guard let text = request.uri.queryParameters[Substring(name)] else { return defaultValue }
        guard let value = Int64(text), range.contains(value) else {
            throw ProblemDetails(
                .badRequest,
                "query parameter \(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(text)\""
            )
        }
        return value
    }

    /// A partition number from the path.
    static func partition(_ segment: Substring) throws(ProblemDetails) -> Int {
        guard let value = Int(segment), value >= 0 else {
            throw ProblemDetails(
                .badRequest, "path segment partition must be a non-negative integer, got \"\(segment)\"")
        }
        return value
    }

    /// A consumer-group name from the path: it becomes part of storage paths and file names, so it is kept to
    /// letters, digits, `.`, `_` and `-`.
    static func group(_ segment: Substring) throws(ProblemDetails) -> String {
        let valid =
            !segment.isEmpty && segment.utf8.count <= 253
            && segment.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D
            }
        guard valid else {
            throw ProblemDetails(
                .badRequest,
                "path segment group must be 1 to 253 letters, digits, '.', '_' or '-', got \"\(segment)\"")
        }
        return String(segment)
    }

    /// Whether the client asked for server-sent events.
    static func wantsEventStream(_ request: Request) -> Bool {
        guard let accept = request.headers[.accept] else { return false }
        return accept.lowercased().contains("text/event-stream")
    }
}
