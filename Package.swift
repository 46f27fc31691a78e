// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "gossip-node",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gossip-node", targets: ["gossip-node"]),
        .executable(name: "gossip-bench", targets: ["gossip-bench"]),
        .library(name: "GossipNode", targets: ["GossipNode"]),
        .library(name: "GossipCore", targets: ["GossipCore"]),
        .library(name: "GossipClient", targets: ["GossipClient"]),
        .library(name: "CRDTLog", targets: ["CRDTLog"]),
        .library(name: "Wire", targets: ["Wire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // No default traits: "FullFoundation" would link all of Foundation and ICU (~8 MiB resident per node).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium", path: "Modules/CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]),
        .systemLibrary(
            name: "CSQLite", path: "Modules/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // Points Swift concurrency's global executor at the node's event loops (see EventLoopExecutor).
        .target(name: "CExecutorHook"),
        .target(name: "Wire", dependencies: ["CSodium"], swiftSettings: strictSettings),
        .target(name: "CRDTLog", dependencies: ["Wire", "CSQLite"], swiftSettings: strictSettings),
        // The protocol cores (membership, replication, sync plan, quotas): sans-IO, no NIO, no
        // Foundation, no clock. The compiler keeps them pure.
        .target(name: "GossipCore", dependencies: ["Wire", "CRDTLog"], swiftSettings: strictSettings),
        // The blocking client of the local API and the command line's text helpers (no NIO).
        .target(name: "GossipClient", dependencies: ["GossipCore", "CRDTLog"], swiftSettings: strictSettings),
        .target(
            name: "GossipNode",
            dependencies: [
                "GossipCore", "GossipClient", "CRDTLog", "Wire", "CExecutorHook",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "gossip-node",
            dependencies: ["GossipNode", "GossipClient", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "gossip-bench", dependencies: ["CRDTLog", "Wire", "CSQLite", "CSodium"],
            swiftSettings: strictSettings),
        .testTarget(name: "WireTests", dependencies: ["Wire"], swiftSettings: strictSettings),
        .testTarget(name: "CRDTLogTests", dependencies: ["CRDTLog", "Wire"], swiftSettings: strictSettings),
        .testTarget(name: "GossipNodeTests", dependencies: ["GossipNode", "GossipCore", "GossipClient", "CRDTLog", "Wire"], swiftSettings: strictSettings),
    ]
)
