// swift-tools-version: 6.2
import PackageDescription

/// Swift 6 language mode with complete concurrency checking for every target we own.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Hadron",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CloudEvents", targets: ["CloudEvents"]),
        .executable(name: "hadron", targets: ["hadron"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // Libraries: no HTTP server, no Kubernetes (DESIGN.md §2).
        .target(
            name: "CloudEvents",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),
        .target(name: "CMalloc", path: "Sources/CMalloc"),
        .target(
            name: "HadronCore",
            dependencies: ["CloudEvents", "CCRC32C", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "SegmentLog",
            dependencies: ["HadronCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(name: "Placement", dependencies: ["HadronCore"], swiftSettings: strict),
        // HTTP plumbing the tiers share: HTTP/1.1 + h2c serving, the h2c client between tiers, problem+json.
        .target(
            name: "HadronHTTP",
            dependencies: [
                "HadronCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The storage tier (DESIGN.md §1): partition replicas, the internal append/fetch/group API, heartbeats.
        .target(
            name: "HadronStorage",
            dependencies: [
                "HadronCore", "SegmentLog", "HadronHTTP", "CloudEvents", "ClusterTopology",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "storage",
            swiftSettings: strict
        ),
        // The gateway tier (DESIGN.md §1, §3): the public HTTP API, batching towards the partition leaders.
        .target(
            name: "HadronGateway",
            dependencies: [
                "CloudEvents", "HadronCore", "HadronHTTP", "ClusterTopology",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            path: "gateway",
            swiftSettings: strict
        ),
        // The one executable; the tier is the subcommand.
        .executableTarget(
            name: "hadron",
            dependencies: [
                "CloudEvents", "HadronCore", "HadronOperator", "KubeAPI", "HadronControl", "HadronHTTP",
                "HadronStorage", "ClusterTopology",
                "HadronGateway", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "HadronBench",
            dependencies: [
                "CloudEvents", "HadronCore", "SegmentLog", "HadronHTTP", "HadronTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/HadronBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CloudEventsTests",
            dependencies: ["CloudEvents", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        // Real processes for end-to-end tests: spawn, wait for ready lines with deadlines, kill by PID.
        .target(
            name: "HadronTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/HadronTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "HadronEndToEndTests",
            dependencies: [
                "HadronTestSupport", "HadronHTTP", "HadronCore", "CloudEvents", "SegmentLog", "KubeAPI",
                "KubeAPITestDouble",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "HadronCore"], swiftSettings: strict),
        .testTarget(
            name: "HadronControlTests",
            dependencies: [
                "HadronControl", "HadronCore", "HadronHTTP", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HadronCoreTests", dependencies: ["HadronCore", "CloudEvents", "HadronTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SegmentLogTests",
            dependencies: ["SegmentLog", "HadronCore", "CloudEvents", "SegmentLogCrashChild", "HadronTestSupport"],
            swiftSettings: strict
        ),
        // The process the SegmentLog crash test SIGKILLs mid-append; built next to the test bundle.
        .executableTarget(
            name: "SegmentLogCrashChild",
            dependencies: ["SegmentLog", "HadronCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SegmentLogCrashChild",
            swiftSettings: strict
        ),
        // Kubernetes: libcurl transport, client, watch, Lease leader election (DESIGN.md §1).
        // libcurl is loaded with dlopen on first use (Sources/CCurl/include/CCurl.h says why); only its header is
        // needed to build (libcurl4-openssl-dev).
        .target(name: "CCurl", path: "Sources/CCurl", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "KubeAPI",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The data plane's view of a cluster in Kubernetes: Stream CRs as a Topology, the in-cluster DNS names.
        .target(
            name: "ClusterTopology",
            dependencies: ["KubeAPI", "HadronCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "HadronOperator",
            dependencies: [
                "KubeAPI", "HadronCore", "Placement", "ClusterTopology", "HadronHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // The admission webhook: HTTPS (TLS 1.2+, HTTP/1.1) and its self-issued certificate.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "operator",
            exclude: ["Local"],
            swiftSettings: strict
        ),
        // The local controller (`hadron controller`, `hadron dev`): the operator's decisions without Kubernetes.
        .target(
            name: "HadronControl",
            dependencies: [
                "HadronCore", "HadronHTTP", "Placement",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "operator/Local",
            swiftSettings: strict
        ),
        // A Kubernetes API server double for tests: TLS (client certificate or bearer token), HTTP/2.
        .target(
            name: "KubeAPITestDouble",
            dependencies: [
                "KubeAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/KubeAPITestDouble",
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubeAPITests",
            dependencies: ["KubeAPI", "KubeAPITestDouble", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HadronOperatorTests",
            dependencies: [
                "HadronOperator", "KubeAPI", "KubeAPITestDouble", "HadronCore", "Placement", "ClusterTopology",
                "HadronHTTP", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // deploy/: the Helm chart rendered and applied with kubectl against the double, the CRD schemas, the examples.
        .testTarget(
            name: "DeployTests",
            dependencies: [
                "KubeAPI", "KubeAPITestDouble", "HadronOperator", "HadronTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HadronStorageTests",
            dependencies: [
                "HadronStorage", "HadronCore", "HadronHTTP", "SegmentLog", "CloudEvents", "HadronTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HadronGatewayTests",
            dependencies: [
                "HadronTestSupport",
                "HadronGateway", "HadronCore", "HadronHTTP", "CloudEvents",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
