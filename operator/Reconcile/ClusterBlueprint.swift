public import KubeAPI

/// The objects a HadronCluster declares (DESIGN.md §1, §5), as pure data: what the operator applies
/// for it, computed from the CR alone (plus the few facts the server fixes, such as a StatefulSet's
/// immutable volume claim templates).
public struct ClusterBlueprint: Sendable {
    /// Why an object the spec asks for is not what gets applied.
    public struct Deviation: Sendable, Equatable {
        public var reason: String
        public var message: String
    }

    public let cluster: HadronCluster
    public let namespace: String
    public let name: String
    public let image: String?
    /// The volume claim size and class the storage StatefulSet already has: the API server forbids
    /// changing claim templates, so a change of `spec.storage.volumeSize` is reported, not applied.
    public let existingVolume: (size: String, storageClassName: String?)?
    /// Where storage pods send ISR reports: the operator's Service (`--operator-url`).
    public let operatorURL: String?

    public init(
        cluster: HadronCluster, defaultImage: String?, existingVolume: (size: String, storageClassName: String?)?,
        operatorURL: String? = nil
    ) {
        self.operatorURL = operatorURL
        self.cluster = cluster
        self.namespace = cluster.metadata.namespace ?? ""
        self.name = cluster.metadata.name ?? ""
        self.image = cluster.spec?.image ?? defaultImage
        self.existingVolume = existingVolume
    }

    var storageReplicas: Int { cluster.spec?.storage?.replicas ?? 3 }
    var gatewayReplicas: Int { cluster.spec?.gateway?.replicas ?? 2 }
    var volumeSize: String { cluster.spec?.storage?.volumeSize ?? "10Gi" }

    /// Spec fields that cannot take effect, each with what to do about it.
    public var deviations: [Deviation] {
        var result: [Deviation] = []
        if image == nil {
            result.append(
                Deviation(
                    reason: "ImageMissing",
                    message: "spec.image is not set and the operator has no default image: set spec.image"))
        }
        if let existingVolume,
            existingVolume.size != volumeSize
                || existingVolume.storageClassName != cluster.spec?.storage?.storageClassName
        {
            result.append(
                Deviation(
                    reason: "VolumeChangeNotApplied",
                    message:
                        "the storage volumes are \(existingVolume.size) of class \(existingVolume.storageClassName ?? "(default)"); "
                        + "a StatefulSet's volume claim templates cannot change: resize the PersistentVolumeClaims "
                        + "themselves, or set spec.storage back"))
        }
        return result
    }

    /// Every object, in the order they are applied (identities and access before the workloads
    /// that use them). Without an image only the objects that need none.
    public func objects() throws -> [DesiredObject] {
        var objects: [DesiredObject] = []
        for component in ["storage", "gateway"] {
            objects.append(try DesiredObject(serviceAccount(component)))
            objects.append(try DesiredObject(role(component)))
            objects.append(try DesiredObject(roleBinding(component)))
        }
        objects.append(try DesiredObject(storageHeadlessService()))
        objects.append(try DesiredObject(gatewayService()))
        objects.append(try DesiredObject(disruptionBudget("storage")))
        objects.append(try DesiredObject(disruptionBudget("gateway")))
        if let image {
            objects.append(try DesiredObject(storageStatefulSet(image: image)))
            objects.append(try DesiredObject(gatewayDeployment(image: image)))
        }
        if let ingress = ingress() { objects.append(try DesiredObject(ingress)) }
        return objects
    }

    // MARK: Objects

    func metadata(_ objectName: String, component: String) -> ObjectMeta {
        ObjectMeta(
            name: objectName, namespace: namespace, labels: ClusterNames.labels(cluster: name, component: component),
            ownerReferences: [
                ClusterNames.ownerReference(descriptor: HadronCluster.descriptor, metadata: cluster.metadata)
            ])
    }

    func componentName(_ component: String) -> String {
        component == "storage" ? ClusterNames.storage(name) : ClusterNames.gateway(name)
    }

    func serviceAccount(_ component: String) -> ServiceAccount {
        ServiceAccount(metadata: metadata(componentName(component), component: component))
    }

    /// Least privilege: both tiers watch the CRs of their namespace and read their own cluster;
    /// neither writes anything (leadership and ISR changes go through the operator).
    func role(_ component: String) -> Role {
        let watched =
            component == "storage"
            ? ["streams", "subscriptions", "exchanges", "endpoints", "pipelines"]
            : ["streams", "subscriptions", "exchanges", "endpoints", "authgrants"]
        return Role(
            metadata: metadata(componentName(component), component: component),
            rules: [
                PolicyRule(apiGroups: ["hadron.dev"], resources: watched, verbs: ["get", "list", "watch"]),
                PolicyRule(
                    apiGroups: ["hadron.dev"], resources: ["hadronclusters"], resourceNames: [name], verbs: ["get"]),
            ])
    }

    func roleBinding(_ component: String) -> RoleBinding {
        RoleBinding(
            metadata: metadata(componentName(component), component: component),
            roleRef: .init(name: componentName(component)),
            subjects: [.init(name: componentName(component), namespace: namespace)])
    }

    func storageHeadlessService() -> KubeService {
        KubeService(
            metadata: metadata(ClusterNames.storageHeadless(name), component: "storage"),
            spec: ServiceSpec(
                selector: ClusterNames.selector(cluster: name, component: "storage"),
                ports: [
                    ServicePort(
                        name: "internal", port: ClusterNames.storagePort, targetPort: "internal", protocol: "TCP")
                ],
                clusterIP: "None",
                // Peers resolve each other before they are ready: a follower catching up is not ready yet.
                publishNotReadyAddresses: true))
    }

    func gatewayService() -> KubeService {
        KubeService(
            metadata: metadata(ClusterNames.gateway(name), component: "gateway"),
            spec: ServiceSpec(
                type: "ClusterIP",
                selector: ClusterNames.selector(cluster: name, component: "gateway"),
                ports: [ServicePort(name: "http", port: ClusterNames.gatewayPort, targetPort: "http", protocol: "TCP")])
        )
    }

    /// One voluntary disruption at a time: with the default replication (3, min ISR 2) a drain never
    /// takes a partition below its minimum in-sync replicas.
    func disruptionBudget(_ component: String) -> PodDisruptionBudget {
        PodDisruptionBudget(
            metadata: metadata(componentName(component), component: component),
            spec: .init(
                maxUnavailable: 1,
                selector: LabelSelectorSpec(matchLabels: ClusterNames.selector(cluster: name, component: component))))
    }

    func storageStatefulSet(image: String) -> StatefulSet {
        let storage = ClusterNames.storage(name)
        var container = Container(
            name: "storage", image: image,
            args: [
                "storage", "--kubernetes", "--node-id", "$(POD_NAME)",
                "--listen", "0.0.0.0:\(ClusterNames.storagePort)",
                "--advertise", "$(POD_NAME).\(storage).$(NAMESPACE).svc:\(ClusterNames.storagePort)",
                "--data-dir", ClusterNames.dataDirectory,
            ] + (operatorURL.map { ["--operator-url", $0] } ?? []),
            env: podEnvironment(),
            ports: [.init(name: "internal", containerPort: ClusterNames.storagePort, protocol: "TCP")])
        container.command = ["hadron"]
        // Readiness is liveness here: a storage node takes part in placement as soon as it serves,
        // and placement must not wait for a readiness that waits for placement.
        container.readinessProbe = Self.httpProbe(path: "/healthz", port: "internal", period: 5, initialDelay: 0)
        container.livenessProbe = Self.httpProbe(path: "/healthz", port: "internal", period: 10, initialDelay: 10)
        container.resources = cluster.spec?.storage?.resources
        container.volumeMounts = [["name": "data", "mountPath": .string(ClusterNames.dataDirectory)]]
        let volume = existingVolume ?? (volumeSize, cluster.spec?.storage?.storageClassName)
        var claimSpec: JSONValue = [
            "accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": .string(volume.size)]],
        ]
        if let storageClassName = volume.storageClassName { claimSpec["storageClassName"] = .string(storageClassName) }
        var spec = StatefulSetSpec(
            replicas: storageReplicas, serviceName: ClusterNames.storageHeadless(name),
            selector: LabelSelectorSpec(matchLabels: ClusterNames.selector(cluster: name, component: "storage")),
            template: podTemplate(component: "storage", container: container),
            volumeClaimTemplates: [
                [
                    "metadata": [
                        "name": "data",
                        "labels": .object(
                            ClusterNames.labels(cluster: name, component: "storage").mapValues { .string($0) }),
                    ],
                    "spec": claimSpec,
                ]
            ])
        // Storage nodes are peers: start and replace them all at once, not one by one.
        spec.podManagementPolicy = "Parallel"
        return StatefulSet(metadata: metadata(storage, component: "storage"), spec: spec)
    }

    func gatewayDeployment(image: String) -> Deployment {
        var container = Container(
            name: "gateway", image: image,
            args: ["gateway", "--kubernetes", "--listen", "0.0.0.0:\(ClusterNames.gatewayPort)"],
            env: podEnvironment(),
            ports: [.init(name: "http", containerPort: ClusterNames.gatewayPort, protocol: "TCP")])
        container.command = ["hadron"]
        container.readinessProbe = Self.httpProbe(path: "/readyz", port: "http", period: 5, initialDelay: 0)
        container.livenessProbe = Self.httpProbe(path: "/healthz", port: "http", period: 10, initialDelay: 10)
        return Deployment(
            metadata: metadata(ClusterNames.gateway(name), component: "gateway"),
            spec: DeploymentSpec(
                replicas: gatewayReplicas,
                selector: LabelSelectorSpec(matchLabels: ClusterNames.selector(cluster: name, component: "gateway")),
                template: podTemplate(component: "gateway", container: container)))
    }

    func ingress() -> Ingress? {
        guard let ingress = cluster.spec?.gateway?.ingress else { return nil }
        var rule: JSONValue = [
            "http": [
                "paths": [
                    [
                        "path": "/", "pathType": "Prefix",
                        "backend": [
                            "service": ["name": .string(ClusterNames.gateway(name)), "port": ["name": "http"]]
                        ],
                    ]
                ]
            ]
        ]
        if let host = ingress.host { rule["host"] = .string(host) }
        var spec: JSONValue = ["rules": [rule]]
        if let secret = ingress.tlsSecret {
            var tls: JSONValue = ["secretName": .string(secret)]
            if let host = ingress.host { tls["hosts"] = [.string(host)] }
            spec["tls"] = [tls]
        }
        return Ingress(metadata: metadata(ClusterNames.gateway(name), component: "gateway"), spec: spec)
    }

    // MARK: Parts

    /// `POD_NAME` and `NAMESPACE` from the downward API; `HADRON_CLUSTER` names the cluster whose
    /// CRs the pod watches.
    func podEnvironment() -> [Container.EnvVar] {
        [
            .init(name: "POD_NAME", valueFrom: ["fieldRef": ["fieldPath": "metadata.name"]]),
            .init(name: "NAMESPACE", valueFrom: ["fieldRef": ["fieldPath": "metadata.namespace"]]),
            .init(name: "HADRON_CLUSTER", value: name),
        ]
    }

    func podTemplate(component: String, container: Container) -> PodTemplateSpec {
        var spec = PodSpec(containers: [container], serviceAccountName: componentName(component))
        // Spread replicas over nodes. Preferred, not required, so a one-node development cluster
        // still runs every replica; on a real cluster the scheduler keeps them apart.
        spec.affinity = [
            "podAntiAffinity": [
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    [
                        "weight": 100,
                        "podAffinityTerm": [
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": [
                                "matchLabels": .object(
                                    ClusterNames.selector(cluster: name, component: component).mapValues { .string($0) }
                                )
                            ],
                        ],
                    ]
                ]
            ]
        ]
        spec.securityContext = ["runAsNonRoot": true, "fsGroup": 65532]
        return PodTemplateSpec(
            metadata: ObjectMeta(labels: ClusterNames.labels(cluster: name, component: component)), spec: spec)
    }

    static func httpProbe(path: String, port: String, period: Int, initialDelay: Int) -> JSONValue {
        var probe: JSONValue = [
            "httpGet": ["path": .string(path), "port": .string(port)], "periodSeconds": .number(Double(period)),
        ]
        if initialDelay > 0 { probe["initialDelaySeconds"] = .number(Double(initialDelay)) }
        return probe
    }
}
