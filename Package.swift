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
    ],
    targets: [
        // Libraries: no HTTP server, no Kubernetes (DESIGN.md §2).
        .target(
            name: "CloudEvents",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),
        .target(
            name: "HadronCore",
            dependencies: ["CloudEvents", "CCRC32C"],
            swiftSettings: strict
        ),
        .target(
            name: "SegmentLog",
            dependencies: ["HadronCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The one executable; the tier is the subcommand.
        .executableTarget(
            name: "hadron",
            dependencies: [
                "CloudEvents", "HadronCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "HadronBench",
            dependencies: [
                "CloudEvents", "HadronCore", "SegmentLog",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Benchmarks/HadronBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CloudEventsTests",
            dependencies: ["CloudEvents", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        .testTarget(name: "HadronCoreTests", dependencies: ["HadronCore", "CloudEvents"], swiftSettings: strict),
        .testTarget(
            name: "SegmentLogTests",
            dependencies: ["SegmentLog", "HadronCore", "CloudEvents"],
            swiftSettings: strict
        ),
    ]
)
