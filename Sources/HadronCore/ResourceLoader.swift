import Yams

/// Reads Hadron resources from YAML (several documents per file), as `hadron dev -f` and `hadron controller -f` do.
public enum ResourceLoader {
    public static func load(yaml: String) throws(ResourceError) -> [HadronResource] {
        var resources: [HadronResource] = []
        do {
            for node in try Yams.compose_all(yaml: yaml) {
                let document = try YAMLDecoder().decode(Document.self, from: node)
                resources.append(try document.resource())
            }
        } catch let error as ResourceError {
            throw error
        } catch let error as DecodingError {
            throw ResourceError("invalid resource: \(describe(error))")
        } catch {
            throw ResourceError("invalid YAML: \(error)")
        }
        var seen = Set<String>()
        for case .stream(let stream) in resources where !seen.insert(stream.name).inserted {
            throw ResourceError("Stream \(stream.name) is declared twice")
        }
        return resources
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "field \(path.isEmpty ? "(document)" : path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private struct Document: Decodable {
        struct Metadata: Decodable { var name: String }
        struct Spec: Decodable {
            struct Retention: Decodable { var maxAge: String?; var maxBytes: String? }
            struct Selector: Decodable { var matchLabels: [String: String]? }
            struct Storage: Decodable { var replicas: Int? }
            var cluster: String?
            var partitions: Int?
            var replicationFactor: Int?
            var minInSyncReplicas: Int?
            var fsync: String?
            var retention: Retention?
            var selector: Selector?
            var storage: Storage?
            var uncleanLeaderElection: Flag?

            init() {}
        }
        /// A field that must be a YAML boolean. Anything else decodes too, so that the error can name the resource
        /// and the field instead of a decoder's coding path.
        enum Flag: Decodable {
            case value(Bool)
            case invalid(String)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Bool.self) {
                    self = .value(value)
                } else {
                    self = .invalid((try? container.decode(String.self)).map { "\"\($0)\"" } ?? "a non-scalar value")
                }
            }

            func value(field: String, of resource: String) throws(ResourceError) -> Bool {
                switch self {
                case .value(let value): return value
                case .invalid(let text): throw ResourceError("\(resource): \(field) must be true or false, got \(text)")
                }
            }
        }
        var apiVersion: String
        var kind: String
        var metadata: Metadata
        var spec: Spec?

        func resource() throws(ResourceError) -> HadronResource {
            guard apiVersion == HadronResource.apiVersion else {
                throw ResourceError("\(kind) \(metadata.name): apiVersion must be \(HadronResource.apiVersion)")
            }
            let spec = spec ?? Spec()
            switch kind {
            case "HadronCluster":
                do { try DNSName.validateLabel(metadata.name) } catch {
                    throw ResourceError("HadronCluster name \"\(metadata.name)\": \(error.message)")
                }
                return .cluster(ClusterResource(name: metadata.name, storageReplicas: spec.storage?.replicas ?? 3))
            case "Stream":
                guard let partitions = spec.partitions else {
                    throw ResourceError("Stream \(metadata.name): spec.partitions is required")
                }
                var durability: Durability?
                if let fsync = spec.fsync {
                    guard let value = Durability(rawValue: fsync) else {
                        throw ResourceError("Stream \(metadata.name): spec.fsync must be \"always\" or \"replicated\"")
                    }
                    durability = value
                }
                let retention = RetentionSpec(
                    maxAgeMilliseconds: try spec.retention?.maxAge.map { (text) throws(ResourceError) in
                        try Quantities.milliseconds(text, field: "spec.retention.maxAge")
                    },
                    maxBytes: try spec.retention?.maxBytes.map { (text) throws(ResourceError) in
                        try Quantities.bytes(text, field: "spec.retention.maxBytes")
                    })
                let stream = StreamResource(
                    name: metadata.name, cluster: spec.cluster, partitions: partitions,
                    replicationFactor: spec.replicationFactor ?? 1, minInSyncReplicas: spec.minInSyncReplicas,
                    durability: durability, retention: retention, nodeSelector: spec.selector?.matchLabels ?? [:],
                    uncleanLeaderElection: try spec.uncleanLeaderElection?.value(
                        field: "spec.uncleanLeaderElection", of: "Stream \(metadata.name)") ?? false)
                try stream.validate()
                return .stream(stream)
            default:
                throw ResourceError(
                    "kind \(kind) (\(metadata.name)) is not supported here; this version runs HadronCluster and Stream")
            }
        }
    }
}

/// Kubernetes-style quantities and Go-style durations, as resource specs write them.
public enum Quantities {
    /// `168h`, `30m`, `1h30m`, `10s`, `500ms`: a Go duration, in milliseconds.
    public static func milliseconds(_ text: String, field: String) throws(ResourceError) -> Int64 {
        let units: [(String, Int64)] = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        var rest = Substring(text)
        var total: Int64 = 0
        guard !rest.isEmpty else { throw ResourceError("\(field): empty duration") }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard let value = Int64(digits) else {
                throw ResourceError("\(field): \"\(text)\" is not a duration like 168h, 30m, 10s or 500ms")
            }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else {
                throw ResourceError("\(field): \"\(text)\" needs a unit (h, m, s or ms)")
            }
            rest = rest.dropFirst(unit.count)
            total += value * factor
        }
        return total
    }

    /// `10Gi`, `500Mi`, `1G`, `4096`: a Kubernetes quantity of bytes.
    public static func bytes(_ text: String, field: String) throws(ResourceError) -> Int64 {
        let suffixes: [(String, Int64)] = [
            ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40), ("k", 1000), ("K", 1000),
            ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ]
        let number = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(number.count)
        guard let value = Int64(number), suffix.isEmpty || suffixes.contains(where: { $0.0 == suffix }) else {
            throw ResourceError("\(field): \"\(text)\" is not a quantity like 10Gi, 500Mi or 1G")
        }
        return value * (suffixes.first { $0.0 == suffix }?.1 ?? 1)
    }
}
