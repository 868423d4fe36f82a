import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

@Suite struct KubeconfigTests {
    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static func yaml(server: String, cluster: String, user: String, namespace: String = "hadron") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: test
        contexts:
        - name: test
          context: {cluster: c1, user: u1, namespace: \(namespace)}
        - name: other
          context: {cluster: c1, user: missing}
        clusters:
        - name: c1
          cluster:
            server: \(server)
        \(cluster)
        users:
        - name: u1
          user:
        \(user)
        """
    }

    /// Runs a GET against the double with the configuration loaded from `yaml`, proving it works.
    static func connects(_ double: KubeAPIDouble, yaml: String, directory: URL) async throws -> RecordedRequest
        .Authentication?
    {
        let path = directory.appendingPathComponent("config").path
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        let configuration = try Kubeconfig.load(environment: ["KUBECONFIG": path]).configuration()
        #expect(configuration.namespace == "hadron")
        let client = KubeClient(configuration: configuration, logger: testLogger())
        _ = try await client.list(ConfigMap.self)
        return double.requests.last?.authentication
    }

    @Test func bearerTokenAndCertificateAuthorityData() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let yaml = Self.yaml(
                server: double.url,
                cluster: "    certificate-authority-data: \(Self.base64(double.pki.certificateAuthorityPEM))",
                user: "    token: \(double.token)")
            #expect(try await Self.connects(double, yaml: yaml, directory: directory) == .bearerToken(double.token))
        }
    }

    @Test func tokenFileAndCertificateAuthorityFileRelativeToTheKubeconfig() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try double.token.write(to: directory.appendingPathComponent("token"), atomically: false, encoding: .utf8)
            try double.pki.certificateAuthorityPEM.write(
                to: directory.appendingPathComponent("ca.crt"), atomically: false, encoding: .utf8)
            let yaml = Self.yaml(
                server: double.url, cluster: "    certificate-authority: ca.crt", user: "    tokenFile: token")
            #expect(try await Self.connects(double, yaml: yaml, directory: directory) == .bearerToken(double.token))
        }
    }

    @Test func clientCertificateAndKeyAsData() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let yaml = Self.yaml(
                server: double.url,
                cluster: "    certificate-authority-data: \(Self.base64(double.pki.certificateAuthorityPEM))",
                user: """
                        client-certificate-data: \(Self.base64(double.pki.clientCertificatePEM))
                        client-key-data: \(Self.base64(double.pki.clientKeyPEM))
                    """)
            #expect(
                try await Self.connects(double, yaml: yaml, directory: directory)
                    == .clientCertificate(commonName: double.pki.clientCommonName))
        }
    }

    @Test func clientCertificateAndKeyAsFiles() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let yaml = Self.yaml(
                server: double.url,
                cluster: "    certificate-authority: \(double.pki.certificateAuthorityPath)",
                user: """
                        client-certificate: \(double.pki.clientCertificatePath)
                        client-key: \(double.pki.clientKeyPath)
                    """)
            #expect(
                try await Self.connects(double, yaml: yaml, directory: directory)
                    == .clientCertificate(commonName: double.pki.clientCommonName))
        }
    }

    @Test func insecureSkipTLSVerifyTrustsAnyServer() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let yaml = Self.yaml(
                server: double.url, cluster: "    insecure-skip-tls-verify: true", user: "    token: \(double.token)")
            #expect(try await Self.connects(double, yaml: yaml, directory: directory) == .bearerToken(double.token))
        }
    }

    @Test func withoutTheCAAServerCertificateIsRejected() async throws {
        try await withDouble { double in
            let config = try Kubeconfig.parse(
                Self.yaml(server: double.url, cluster: "", user: "    token: \(double.token)"), directory: "/"
            )
            .configuration()
            let client = KubeClient(configuration: config, logger: testLogger())
            await #expect(throws: TransportError.self) { try await client.list(ConfigMap.self) }
        }
    }

    @Test func clearErrorsForMissingOrBrokenConfigs() throws {
        #expect(throws: KubeConfigError.self) {
            try Kubeconfig.load(environment: ["KUBECONFIG": "/nonexistent/config"])
        }
        do {
            _ = try Kubeconfig.load(environment: ["HOME": "/nonexistent-home"])
            Issue.record("expected notFound")
        } catch let error as KubeConfigError {
            #expect(error.isNotFound)
        }
        do {
            _ = try Kubeconfig.parse("clusters: [not: {valid", directory: "/")
            Issue.record("expected malformed")
        } catch let error as KubeConfigError {
            #expect(error.isMalformed)
        }
        let good = Self.yaml(server: "https://127.0.0.1:1", cluster: "", user: "    token: t")
        do {
            _ = try Kubeconfig.parse(good, directory: "/").configuration(context: "other")
            Issue.record("expected incomplete")
        } catch let error as KubeConfigError {
            #expect(error.isIncomplete)
            #expect(error.message.contains("missing"))
        }
        do {
            _ = try Kubeconfig.parse(good, directory: "/").configuration(context: "absent")
            Issue.record("expected incomplete")
        } catch let error as KubeConfigError {
            #expect(error.isIncomplete)
        }
        let badData = Self.yaml(
            server: "https://x", cluster: "    certificate-authority-data: '***'", user: "    token: t")
        do {
            _ = try Kubeconfig.parse(badData, directory: "/").configuration()
            Issue.record("expected malformed")
        } catch let error as KubeConfigError {
            #expect(error.isMalformed)
        }
        let missingFile = Self.yaml(
            server: "https://x", cluster: "    certificate-authority: /nonexistent/ca.crt", user: "    token: t")
        do {
            _ = try Kubeconfig.parse(missingFile, directory: "/").configuration()
            Issue.record("expected unreadable")
        } catch let error as KubeConfigError {
            #expect(error.isUnreadable)
        }
        let exec = Self.yaml(server: "https://x", cluster: "", user: "    exec: {command: aws}")
        do {
            _ = try Kubeconfig.parse(exec, directory: "/").configuration()
            Issue.record("expected unsupported")
        } catch let error as KubeConfigError {
            #expect(error.isUnsupported)
        }
        let halfCertificate = Self.yaml(
            server: "https://x", cluster: "", user: "    client-certificate-data: \(Self.base64("x"))")
        do {
            _ = try Kubeconfig.parse(halfCertificate, directory: "/").configuration()
            Issue.record("expected incomplete")
        } catch let error as KubeConfigError {
            #expect(error.isIncomplete)
        }
    }

    @Test func mergesKubeconfigListFirstDefinitionWins() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("a").path
        let second = directory.appendingPathComponent("b").path
        try """
        current-context: ctx
        clusters:
        - name: c
          cluster: {server: "https://first:6443"}
        """.write(toFile: first, atomically: false, encoding: .utf8)
        try """
        current-context: ignored
        clusters:
        - name: c
          cluster: {server: "https://second:6443"}
        contexts:
        - name: ctx
          context: {cluster: c}
        """.write(toFile: second, atomically: false, encoding: .utf8)
        let configuration = try Kubeconfig.load(environment: ["KUBECONFIG": "\(first):\(second)"]).configuration()
        #expect(configuration.server == "https://first:6443")
        #expect(configuration.namespace == "default")
        #expect(configuration.token == nil)
    }

    @Test func inClusterReadsTheServiceAccountAndReReadsARotatedToken() async throws {
        try await withDouble { double in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let tokenPath = directory.appendingPathComponent("token").path
            try "stale-token".write(toFile: tokenPath, atomically: false, encoding: .utf8)
            try double.pki.certificateAuthorityPEM.write(
                to: directory.appendingPathComponent("ca.crt"), atomically: false, encoding: .utf8)
            try "hadron-system\n".write(
                to: directory.appendingPathComponent("namespace"), atomically: false, encoding: .utf8)
            let environment = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(double.port)]
            let configuration = try KubeConfiguration.load(
                environment: environment, serviceAccountDirectory: directory.path)
            #expect(configuration.server == double.url)
            #expect(configuration.namespace == "hadron-system")
            let client = KubeClient(configuration: configuration, logger: testLogger())
            do {
                _ = try await client.list(ConfigMap.self)
                Issue.record("a stale token must be refused")
            } catch let error as KubeAPIError {
                #expect(error.isUnauthorized)
            }
            // The kubelet rotates the token by replacing the file (atomically: the client may read it meanwhile).
            try double.token.write(toFile: tokenPath, atomically: true, encoding: .utf8)
            _ = try await client.list(ConfigMap.self)
            #expect(double.requests.last?.authentication == .bearerToken(double.token))
            #expect(throws: KubeConfigError.self) {
                try KubeConfiguration.inCluster(environment: [:], serviceAccountDirectory: directory.path)
            }
        }
    }
}
