import Foundation
import HadronTestSupport
import KubeAPI
import KubeAPITestDouble
import Logging

/// Where deploy/ and the test fixtures are, from this file's place in the repository.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let chart = root.appendingPathComponent("deploy/helm/hadron")
    static let crds = chart.appendingPathComponent("crds")
    static let examples = root.appendingPathComponent("deploy/examples")
    static let renderer = root.appendingPathComponent("Tests/HelmTemplate")
    static let openAPIFixture = root.appendingPathComponent(
        "Tests/DeployTests/Fixtures/kubernetes-1.28-openapi-v3.json")
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
}

/// A finished command: its exit status and output.
struct ToolResult: Sendable {
    var status: Int32
    var output: String
    var errorOutput: String

    var combined: String { output + errorOutput }
}

/// Runs external tools (go, kubectl) to completion on a thread of their own, never on the
/// cooperative pool; a missing tool fails the test with what installs it.
enum Tool {
    static func locate(_ name: String, installedBy package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ToolFailure(
            description: "\(name) is not installed: `make test` installs it (Debian package \(package))")
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws
        -> ToolResult
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = arguments
                    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "hadron-tool-\(UUID().uuidString).err")
                    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
                    defer { try? FileManager.default.removeItem(at: errorFile) }
                    let output = Pipe()
                    process.standardOutput = output
                    process.standardError = try FileHandle(forWritingTo: errorFile)
                    process.standardInput = FileHandle.nullDevice
                    try process.run()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    let errors = (try? Data(contentsOf: errorFile)) ?? Data()
                    continuation.resume(
                        returning: ToolResult(
                            status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
                            errorOutput: String(decoding: errors, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// `helm template` without helm: the Go renderer in Tests/HelmTemplate (text/template + sprig +
/// Helm's functions), built once per test process with Debian's Go in GOPATH mode.
actor HelmTemplate {
    static let shared = HelmTemplate()

    private var binary: String?
    let workspace = TemporaryDirectory("hadron-helm-template")

    func executable() async throws -> String {
        if let binary { return binary }
        let go = try Tool.locate("go", installedBy: "golang-go")
        try workspace.create()
        let output = workspace.file("helm-template")
        let result = try await Tool.run(
            go, ["build", "-o", output, Repository.renderer.appendingPathComponent("main.go").path],
            environment: [
                "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": workspace.file("gocache"),
                "GOFLAGS": "", "GOENV": "off", "CGO_ENABLED": "0",
            ])
        guard result.status == 0 else {
            throw ToolFailure(
                description: "building the chart renderer failed (needs golang-go, "
                    + "golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v2-dev):\n\(result.combined)")
        }
        binary = output
        return output
    }

    /// The chart rendered with `values` (YAML text, coalesced over values.yaml) as release `name`
    /// in `namespace`: the manifests as text, and each document parsed.
    func render(values: String = "", name: String = "hadron", namespace: String = "hadron-system") async throws
        -> (text: String, objects: [JSONValue])
    {
        let binary = try await executable()
        var arguments = ["--name", name, "--namespace", namespace]
        if !values.isEmpty {
            let file = workspace.file("values-\(UUID().uuidString).yaml")
            try values.write(toFile: file, atomically: false, encoding: .utf8)
            arguments += ["-f", file]
        }
        let result = try await Tool.run(binary, arguments + [Repository.chart.path])
        guard result.status == 0 else {
            throw ToolFailure(description: "rendering the chart failed:\n\(result.combined)")
        }
        return (result.output, try YAMLDocuments.parse(result.output))
    }
}

/// kubectl pointed at a double through a kubeconfig of its own.
struct Kubectl {
    let executable: String
    let kubeconfig: String
    let home: TemporaryDirectory

    init(double: KubeAPIDouble, namespace: String) throws {
        executable = Self.newestClient(try Tool.locate("kubectl", installedBy: "kubectl"))
        home = TemporaryDirectory("hadron-kubectl")
        try home.create()
        kubeconfig = home.file("kubeconfig")
        try double.writeKubeconfig(to: kubeconfig, namespace: namespace)
    }

    /// The Google Cloud SDK's `kubectl` is a dispatcher that runs one of the clients beside it
    /// (`kubectl.1.29`, `kubectl.1.32`, …) chosen by the server's `/version`. For the double's
    /// v1.28 it would pick a client that reads OpenAPI v2 as protobuf, which the double does not
    /// serve; the tests run the newest client there instead, which reads OpenAPI v3 (JSON).
    /// Any other kubectl is used as it is.
    static func newestClient(_ path: String) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let directory = resolved.deletingLastPathComponent()
        let clients = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("kubectl.1.") }
            .compactMap { name in Int(name.dropFirst("kubectl.1.".count)).map { (minor: $0, name: name) } }
        guard let newest = clients.max(by: { $0.minor < $1.minor }) else { return path }
        return directory.appendingPathComponent(newest.name).path
    }

    func run(_ arguments: [String]) async throws -> ToolResult {
        // A HOME of its own: kubectl caches discovery under ~/.kube/cache, which must not leak between doubles.
        // HADRON_KUBECTL_VERBOSITY=8 shows every request kubectl makes (in the failure message).
        let verbosity = ProcessInfo.processInfo.environment["HADRON_KUBECTL_VERBOSITY"].map { ["-v=\($0)"] } ?? []
        return try await Tool.run(
            executable, arguments + verbosity, environment: ["KUBECONFIG": kubeconfig, "HOME": home.path])
    }

    func remove() { home.remove() }
}

/// Starts a double, runs `body`, stops the double whatever happens.
func withDouble<T>(settings: DoubleSettings = DoubleSettings(), _ body: (KubeAPIDouble) async throws -> T)
    async throws -> T
{
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

/// The double's settings for chart tests: the v1.28 OpenAPI schemas of the built-in kinds and,
/// when asked, the chart's CRDs enforced on custom resources.
func chartDoubleSettings(enforcingCRDs: Bool) throws -> DoubleSettings {
    var settings = DoubleSettings()
    settings.openAPIComponents = try OpenAPIFixture.components()
    if enforcingCRDs { settings.customResourceSchemas = try CustomResourceSchemas.load(directory: Repository.crds) }
    return settings
}

/// Kubernetes v1.28's OpenAPI v3 schemas of the kinds the chart renders (see Fixtures/make-openapi-fixture.py).
enum OpenAPIFixture {
    static func documents() throws -> [String: JSONValue] {
        let value = try JSONValue(parsing: Array(try Data(contentsOf: Repository.openAPIFixture)))
        return value.objectValue ?? [:]
    }

    /// `components.schemas` of each group version, keyed `api/v1`, `apis/apps/v1`, ….
    static func components() throws -> [String: JSONValue] {
        try documents().compactMapValues { $0[path: ["components", "schemas"]] }
    }

    /// The schema of `apiVersion`/`kind`, with its group version's schemas to resolve references.
    static func schema(apiVersion: String, kind: String, in components: [String: JSONValue]) -> StructuralSchema? {
        let key = apiVersion.contains("/") ? "apis/\(apiVersion)" : "api/\(apiVersion)"
        guard let schemas = components[key]?.objectValue else { return nil }
        let (group, version) =
            apiVersion.contains("/")
            ? (String(apiVersion.split(separator: "/")[0]), String(apiVersion.split(separator: "/")[1]))
            : ("", apiVersion)
        for (_, schema) in schemas {
            let kinds = schema["x-kubernetes-group-version-kind"]?.arrayValue ?? []
            if kinds.contains(where: {
                $0["group"]?.stringValue == group && $0["version"]?.stringValue == version
                    && $0["kind"]?.stringValue == kind
            }) {
                return StructuralSchema(schema, components: schemas)
            }
        }
        return nil
    }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "deploy-tests")
    logger.logLevel = .critical
    return logger
}

extension JSONValue {
    /// `kind.group/name` as kubectl prints an object it applied (`deployment.apps/hadron-operator`).
    var kubectlName: String {
        let kind = (self["kind"]?.stringValue ?? "").lowercased()
        let apiVersion = self["apiVersion"]?.stringValue ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
        let name = self[path: ["metadata", "name"]]?.stringValue ?? ""
        return group.isEmpty ? "\(kind)/\(name)" : "\(kind).\(group)/\(name)"
    }
}
