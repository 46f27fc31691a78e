// swift-tools-version: 6.2
// libFuzzer targets for every decoder and the protocol cores. Built only by scripts/fuzz, with
// `--sanitize=fuzzer --sanitize=address`, so the main build never pays for it.
import PackageDescription

let package = Package(
    name: "gossip-fuzz",
    dependencies: [.package(name: "gossip-node", path: "..")],
    targets: [
        .executableTarget(
            name: "gossip-fuzz",
            dependencies: [.product(name: "Wire", package: "gossip-node"), .product(name: "CRDTLog", package: "gossip-node"),
                           .product(name: "GossipCore", package: "gossip-node")]),
    ]
)
