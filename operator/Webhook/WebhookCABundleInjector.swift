import Foundation
public import KubeAPI

/// Writes the webhook's CA into `webhooks[*].clientConfig.caBundle` of the ValidatingWebhookConfiguration the
/// Helm chart installs.
///
/// A JSON patch (RFC 6902), not server-side apply. `webhooks` is a list keyed by `name`, and whoever applies an
/// item of it co-owns the item itself: an apply of `{name, clientConfig: {caBundle}}` would keep that webhook
/// alive after the chart drops or renames it (leaving a half item that fails validation and breaks the next
/// `helm upgrade`), and would conflict with — or, forced, take over — a `caBundle` the chart sets itself. The
/// patch is recorded as an `Update` by `hadron-operator` owning only the `caBundle` leaves it changed; an
/// Update never blocks another manager's later write. Each `add` is guarded by a `test` of the item's name at
/// that index, so a list reordered since the read fails the whole patch instead of writing the wrong item;
/// the next round reads again. The configuration itself is never created here: it is the chart's.
public struct WebhookCABundleInjector: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Every webhook already carried the bundle; nothing was written.
        case unchanged
        /// The bundle was written into this many webhooks.
        case patched(Int)
        /// There is no such configuration (the chart is not installed, or disables the webhook).
        case missing
    }

    public let client: KubeClient
    public let configurationName: String

    public init(client: KubeClient, configurationName: String) {
        self.client = client
        self.configurationName = configurationName
    }

    public func inject(caBundlePEM: String) async throws -> Outcome {
        let descriptor = ValidatingWebhookConfiguration.descriptor
        let configuration: JSONValue
        do {
            configuration = try await client.getObject(descriptor, name: configurationName, namespace: nil)
        } catch let error as KubeAPIError where error.isNotFound {
            return .missing
        }
        let operations = Self.patch(configuration, caBundle: Data(caBundlePEM.utf8).base64EncodedString())
        guard !operations.isEmpty else { return .unchanged }
        _ = try await client.send(
            method: "PATCH", path: descriptor.objectPath(name: configurationName, namespace: nil),
            query: [("fieldManager", ClusterNames.fieldManager)], body: JSONValue.array(operations).serialized(),
            contentType: "application/json-patch+json")
        return .patched(operations.count / 2)
    }

    /// The JSON patch operations that set `caBundle` on every webhook that lacks this exact bundle.
    static func patch(_ configuration: JSONValue, caBundle: String) -> [JSONValue] {
        var operations: [JSONValue] = []
        for (index, webhook) in (configuration["webhooks"]?.arrayValue ?? []).enumerated() {
            guard webhook[path: ["clientConfig", "caBundle"]]?.stringValue != caBundle,
                let name = webhook["name"]?.stringValue, webhook["clientConfig"]?.objectValue != nil
            else { continue }
            operations.append(["op": "test", "path": .string("/webhooks/\(index)/name"), "value": .string(name)])
            operations.append([
                "op": "add", "path": .string("/webhooks/\(index)/clientConfig/caBundle"), "value": .string(caBundle),
            ])
        }
        return operations
    }
}
