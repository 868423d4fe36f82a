import Foundation
public import HTTPTypes
public import Hummingbird

/// An RFC 9457 problem, the body of every error Hadron answers: `detail` names the attribute, field or limit at
/// fault, and `members` carries the machine-readable extras the API promises (`firstOffset`, `epoch`, …).
public struct ProblemDetails: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var detail: String
    public var members: [String: ProblemValue]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, _ detail: String, members: [String: ProblemValue] = [:], headers: HTTPFields = [:]
    ) {
        self.status = status
        self.detail = detail
        self.members = members
        self.headers = headers
    }

    public static let contentType = "application/problem+json"

    /// The JSON body.
    public var body: [UInt8] {
        var object: [String: Any] = [
            "type": "about:blank", "title": status.reasonPhrase, "status": status.code, "detail": detail,
        ]
        for (name, value) in members { object[name] = value.jsonObject }
        return (try? [UInt8](JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))) ?? []
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = Self.contentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Reads a problem body received from a peer (for example a storage node's 421 with its `epoch`).
    public static func member(_ name: String, in body: ByteBuffer) -> ProblemValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let value = object[name]
        else { return nil }
        return ProblemValue(jsonObject: value)
    }

    /// The `detail` of a problem body received from a peer.
    public static func detail(in body: ByteBuffer) -> String? {
        if case .string(let detail) = member("detail", in: body) { return detail }
        return nil
    }
}

/// A value of an extra problem member.
public enum ProblemValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case array([ProblemValue])
    case object([String: ProblemValue])
    case null

    var jsonObject: Any {
        switch self {
        case .string(let text): text
        case .integer(let number): number
        case .array(let values): values.map(\.jsonObject)
        case .object(let members): members.mapValues(\.jsonObject)
        case .null: NSNull()
        }
    }

    init?(jsonObject: Any) {
        switch jsonObject {
        case let text as String: self = .string(text)
        case let number as NSNumber: self = .integer(number.int64Value)
        case let values as [Any]: self = .array(values.compactMap(ProblemValue.init(jsonObject:)))
        case let members as [String: Any]: self = .object(members.compactMapValues(ProblemValue.init(jsonObject:)))
        case is NSNull: self = .null
        default: return nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }
}
