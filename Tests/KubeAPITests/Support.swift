import Foundation
import KubeAPI
import KubeAPITestDouble
import Logging

/// Starts a double, runs `body`, stops the double whatever happens.
func withDouble<T>(
    settings: DoubleSettings = DoubleSettings(),
    _ body: (KubeAPIDouble) async throws -> T
) async throws -> T {
    let double = try await KubeAPIDouble.start(settings: settings)
    do {
        let result = try await body(double)
        await double.stop()
        return result
    } catch {
        await double.stop()
        throw error
    }
}

func testLogger(_ label: String = "kubeapi-test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel =
        ProcessInfo.processInfo.environment["KUBEAPI_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}

func client(_ double: KubeAPIDouble, namespace: String = "default") -> KubeClient {
    KubeClient(configuration: double.tokenConfiguration(namespace: namespace), logger: testLogger())
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. The polling
/// interval is short; the deadline is what bounds the test.
func eventually(
    within timeout: Duration = .seconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Collects items from an async sequence until `count` arrived or the deadline passed.
actor Collector<Element: Sendable> {
    private(set) var items: [Element] = []

    func append(_ item: Element) { items.append(item) }

    var count: Int { items.count }
}

func configMap(_ name: String, namespace: String = "default", labels: [String: String]? = nil, data: [String: String])
    -> ConfigMap
{
    ConfigMap(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels), data: data)
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hadron-kube-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
