public import Foundation
import Yams

/// A kubeconfig file (or several, merged as kubectl does) and the identity its current context names.
public struct Kubeconfig: Sendable {
    struct NamedCluster: Decodable, Sendable {
        var name: String
        var cluster: Cluster
    }

    struct Cluster: Decodable, Sendable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct NamedUser: Decodable, Sendable {
        var name: String
        var user: User?
    }

    struct User: Decodable, Sendable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var exec: JSONValue?
        var authProvider: JSONValue?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    struct NamedContext: Decodable, Sendable {
        var name: String
        var context: Context
    }

    struct Context: Decodable, Sendable {
        var cluster: String
        var user: String?
        var namespace: String?
    }

    struct File: Decodable, Sendable {
        var currentContext: String?
        var clusters: [NamedCluster]?
        var users: [NamedUser]?
        var contexts: [NamedContext]?

        enum CodingKeys: String, CodingKey {
            case clusters, users, contexts
            case currentContext = "current-context"
        }
    }

    /// A cluster, user or context together with the directory of the file that defined it: relative
    /// paths in a kubeconfig are relative to that file.
    struct Located<Value: Sendable>: Sendable {
        var value: Value
        var directory: String
    }

    var currentContext: String?
    var clusters: [String: Located<Cluster>] = [:]
    var users: [String: Located<User>] = [:]
    var contexts: [String: Context] = [:]

    /// Loads `$KUBECONFIG` (a colon-separated list; the first file to define a name wins, as with
    /// kubectl), or else `~/.kube/config`.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Kubeconfig {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let paths = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
            guard !existing.isEmpty else {
                throw KubeConfigError.notFound("KUBECONFIG names no existing file: \(list)")
            }
            return try load(paths: existing)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let path = home + "/.kube/config"
        guard FileManager.default.fileExists(atPath: path) else {
            throw KubeConfigError.notFound(
                "no in-cluster service account, KUBECONFIG is not set and \(path) does not exist"
            )
        }
        return try load(paths: [path])
    }

    /// Loads and merges the given kubeconfig files.
    public static func load(paths: [String]) throws -> Kubeconfig {
        var merged = Kubeconfig()
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KubeConfigError.unreadable("cannot read kubeconfig \(path)")
            }
            let directory = (path as NSString).deletingLastPathComponent
            try merged.merge(parsing: String(decoding: data, as: UTF8.self), directory: directory, origin: path)
        }
        return merged
    }

    /// Parses kubeconfig YAML text; relative paths resolve against `directory`.
    public static func parse(_ yaml: String, directory: String) throws -> Kubeconfig {
        var config = Kubeconfig()
        try config.merge(parsing: yaml, directory: directory, origin: "kubeconfig")
        return config
    }

    private mutating func merge(parsing yaml: String, directory: String, origin: String) throws {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch {
            throw KubeConfigError.malformed("\(origin) is not a valid kubeconfig: \(error)")
        }
        if currentContext == nil, let current = file.currentContext, !current.isEmpty { currentContext = current }
        for entry in file.clusters ?? [] where clusters[entry.name] == nil {
            clusters[entry.name] = Located(value: entry.cluster, directory: directory)
        }
        for entry in file.users ?? [] where users[entry.name] == nil {
            users[entry.name] = Located(value: entry.user ?? User(), directory: directory)
        }
        for entry in file.contexts ?? [] where contexts[entry.name] == nil {
            contexts[entry.name] = entry.context
        }
    }

    /// The configuration for a context (by default the current one).
    public func configuration(context name: String? = nil) throws -> KubeConfiguration {
        guard let contextName = name ?? currentContext else {
            throw KubeConfigError.incomplete("kubeconfig has no current-context")
        }
        guard let context = contexts[contextName] else {
            throw KubeConfigError.incomplete("kubeconfig has no context named \"\(contextName)\"")
        }
        guard let cluster = clusters[context.cluster] else {
            throw KubeConfigError.incomplete(
                "context \"\(contextName)\" names cluster \"\(context.cluster)\", which kubeconfig does not define"
            )
        }
        guard let server = cluster.value.server, !server.isEmpty else {
            throw KubeConfigError.incomplete("cluster \"\(context.cluster)\" has no server")
        }
        var tls = TLSSettings(insecureSkipVerify: cluster.value.insecureSkipTLSVerify ?? false)
        tls.certificateAuthorityPEM = try Self.material(
            data: cluster.value.certificateAuthorityData,
            file: cluster.value.certificateAuthority,
            directory: cluster.directory,
            what: "certificate-authority of cluster \"\(context.cluster)\""
        )

        var token: BearerTokenSource?
        if let userName = context.user, !userName.isEmpty {
            guard let located = users[userName] else {
                throw KubeConfigError.incomplete(
                    "context \"\(contextName)\" names user \"\(userName)\", which kubeconfig does not define"
                )
            }
            let user = located.value
            if user.exec != nil {
                throw KubeConfigError.unsupported("user \"\(userName)\" uses an exec credential plugin")
            }
            if user.authProvider != nil {
                throw KubeConfigError.unsupported("user \"\(userName)\" uses an auth-provider")
            }
            tls.clientCertificatePEM = try Self.material(
                data: user.clientCertificateData,
                file: user.clientCertificate,
                directory: located.directory,
                what: "client-certificate of user \"\(userName)\""
            )
            tls.clientKeyPEM = try Self.material(
                data: user.clientKeyData,
                file: user.clientKey,
                directory: located.directory,
                what: "client-key of user \"\(userName)\""
            )
            if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
                throw KubeConfigError.incomplete(
                    "user \"\(userName)\" has a client certificate without a key, or a key without a certificate"
                )
            }
            if let value = user.token, !value.isEmpty {
                token = .fixed(value)
            } else if let file = user.tokenFile, !file.isEmpty {
                let source = BearerTokenSource.file(Self.resolve(file, in: located.directory))
                _ = try source.token()
                token = source
            }
        }
        return KubeConfiguration(
            server: server,
            tls: tls,
            token: token,
            namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        )
    }

    private static func resolve(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst(1) }
        return directory + "/" + path
    }

    /// PEM bytes from a `*-data` field (base64, preferred, as kubectl does) or from a file.
    private static func material(data: String?, file: String?, directory: String, what: String) throws -> [UInt8]? {
        if let data, !data.isEmpty {
            let compact = data.filter { !$0.isWhitespace }
            guard let decoded = Data(base64Encoded: compact) else {
                throw KubeConfigError.malformed("\(what) data is not valid base64")
            }
            return Array(decoded)
        }
        if let file, !file.isEmpty {
            let path = resolve(file, in: directory)
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw KubeConfigError.unreadable("cannot read \(what) file \(path)")
            }
            return Array(contents)
        }
        return nil
    }
}
