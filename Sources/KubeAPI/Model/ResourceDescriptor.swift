/// Where a kind lives in the API: enough to build every URL the client sends for it.
public struct ResourceDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// API group; empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    /// The resource name in URLs (`leases`, `statefulsets`, `streams`).
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// `v1` or `group/version`, as in an object's `apiVersion`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `leases.coordination.k8s.io`, as the API server names resources in messages.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The collection path (`/apis/GROUP/VERSION[/namespaces/NS]/PLURAL`).
    public func collectionPath(namespace: String?) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/\(namespace.percentEncodedPathSegment)" }
        return path + "/" + plural
    }

    /// The path of one object, optionally of one of its subresources (`status`).
    public func objectPath(name: String, namespace: String?, subresource: String? = nil) -> String {
        var path = collectionPath(namespace: namespace) + "/" + name.percentEncodedPathSegment
        if let subresource { path += "/" + subresource }
        return path
    }

    public var description: String { qualifiedName }
}

extension String {
    /// Percent-encodes everything but RFC 3986 unreserved characters.
    var percentEncodedPathSegment: String { percentEncoded(keeping: { _ in false }) }

    /// Percent-encodes a query component value.
    var percentEncodedQueryValue: String { percentEncoded(keeping: { _ in false }) }

    private func percentEncoded(keeping extra: (UInt8) -> Bool) -> String {
        var result = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                if extra(byte) {
                    result.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let hex = Array("0123456789ABCDEF".unicodeScalars)
                    result.unicodeScalars.append("%")
                    result.unicodeScalars.append(hex[Int(byte >> 4)])
                    result.unicodeScalars.append(hex[Int(byte & 0x0F)])
                }
            }
        }
        return result
    }
}
