import ArgumentParser
import ClusterTopology
import Foundation
import HadronHTTP
import KubeAPI
import Logging

/// The flags of a data-plane process that follows a cluster in Kubernetes instead of a local controller
/// (`hadron storage --kubernetes`, `hadron gateway --kubernetes`, DESIGN.md §8). The operator's pod templates set
/// `POD_NAME`, `NAMESPACE` and `HADRON_CLUSTER`, so in a cluster only `--kubernetes` is given.
struct KubernetesOptions: ParsableArguments {
    @Flag(help: "Follow the cluster's Stream resources in Kubernetes instead of a local controller (HADRON_KUBERNETES).")
    var kubernetes: Bool = HadronEnvironment.value(forFlag: "kubernetes").map { ["1", "true", "yes"].contains($0) } ?? false

    @Option(help: "Kubeconfig file; default: in-cluster, else $KUBECONFIG, else ~/.kube/config (HADRON_KUBECONFIG).")
    var kubeconfig: String = HadronEnvironment.value(forFlag: "kubeconfig", default: "")

    @Option(help: "The HadronCluster this process belongs to (HADRON_CLUSTER).")
    var cluster: String = HadronEnvironment.value(forFlag: "cluster", default: "")

    @Option(help: "The cluster's namespace; default $NAMESPACE, else the kubeconfig context's (HADRON_NAMESPACE).")
    var namespace: String = HadronEnvironment.value(forFlag: "namespace", default: "")

    @Option(
        name: .customLong("resolve"), parsing: .singleValue,
        help: "Dial NAME at HOST:PORT instead of resolving it, repeatable (NAME=HOST:PORT; HADRON_RESOLVE, comma-separated).")
    var resolve: [String] = HadronEnvironment.value(forFlag: "resolve").map { $0.split(separator: ",").map(String.init) } ?? []

    func validate() throws {
        do { _ = try AddressOverrides(resolve) } catch { throw ValidationError(error.message) }
        guard kubernetes else { return }
        guard !cluster.isEmpty else {
            throw ValidationError("--kubernetes needs --cluster (or HADRON_CLUSTER): the HadronCluster to follow")
        }
    }

    var addressOverrides: AddressOverrides { (try? AddressOverrides(resolve)) ?? AddressOverrides() }

    /// The client and namespace to watch with.
    func connect(logger: Logger) throws -> (client: KubeClient, namespace: String) {
        let environment = ProcessInfo.processInfo.environment
        let configuration: KubeConfiguration
        if !kubeconfig.isEmpty {
            configuration = try Kubeconfig.load(paths: [kubeconfig]).configuration()
        } else {
            configuration = try KubeConfiguration.load(environment: environment)
        }
        let namespace =
            !namespace.isEmpty ? namespace : (environment["NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.namespace)
        return (KubeClient(configuration: configuration, logger: logger), namespace)
    }

    /// The watch of the cluster's Streams.
    func topologyWatch(logger: Logger) throws -> ClusterTopologyWatch {
        let (client, namespace) = try connect(logger: logger)
        logger.info("Following the cluster's Streams", metadata: ["cluster": "\(cluster)", "namespace": "\(namespace)"])
        return ClusterTopologyWatch(client: client, cluster: cluster, namespace: namespace, logger: logger)
    }
}
