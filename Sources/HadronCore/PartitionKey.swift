public import CloudEvents

/// The key an event is partitioned by: its `partitionkey` extension (the CloudEvents Partitioning extension).
///
/// Producers set the key in either binary mode (where every value is a string) or structured mode (where a key
/// may be a JSON number), and both must land on the same partition; so every type maps to its canonical string,
/// which for an Integer is its decimal text. An empty key means "no key" rather than "the empty key", because
/// an empty header is how many HTTP clients express an unset value.
public enum PartitionKey {
    /// The extension attribute's name.
    public static let attributeName = "partitionkey"

    /// The key text of `event`, or `nil` when it has none (absent or empty).
    public static func from(event: CloudEvent) -> String? {
        guard let value = event.extensions[attributeName] else { return nil }
        let key: String
        switch value {
        case .string(let string): key = string
        case .integer(let integer): key = String(integer)
        default: key = value.canonicalString
        }
        return key.isEmpty ? nil : key
    }
}
