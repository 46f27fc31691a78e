import CRDTLog
import Foundation
import Testing
import Wire
@testable import GossipNode

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Real NIO shells on real sockets: five nodes in one process on 127.0.0.2-6.
@Suite("Sockets", .serialized)
struct SocketClusterTests {
    static let networkKey = [UInt8](repeating: 0x42, count: 32)

    struct Running {
        let node: Node
        let task: Task<Void, any Error>
    }

    static func start(_ i: Int, seeds: [HostPort], networkKey: [UInt8] = networkKey) async throws -> Running {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-sock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let identity = SigningKeyPair.generate()
        let store = try LogStore(path: dir + "/node.db", identity: identity, configuration: .init(durableCommits: false))
        var c = NodeConfiguration()
        c.bind = HostPort(host: "127.0.0.\(2 + i)", port: 0)
        c.seeds = seeds
        c.swim = .fast
        c.replication = .fast
        c.restoreGraceMillis = 0
        let node = Node(identity: identity, networkKey: networkKey, store: store, configuration: c)
        let task = Task { try await node.run() }
        #expect(await eventually(5) { await node.isBound })
        return Running(node: node, task: task)
    }

    @Test func fiveNodesReplicateEntriesWrittenOnEach() async throws {
        let first = try await Self.start(0, seeds: [])
        let seed = HostPort(host: "127.0.0.2", port: try #require(await first.node.boundPort))
        var nodes = [first]
        for i in 1..<5 { nodes.append(try await Self.start(i, seeds: [seed])) }
        defer { for n in nodes { n.task.cancel() } }
        #expect(await eventually(10) {
            for n in nodes where await n.node.memberCounts().alive != 4 { return false }
            return true
        }, "membership did not settle")
        for (i, n) in nodes.enumerated() {
            let payload = PayloadCoding.encode(MemoryPayload(category: "test", content: "written on node \(i)", host: "n\(i)"))
            _ = try await n.node.write(kind: EntryKind.memory, key: "k", payload: payload)
        }
        let converged = await eventually(15) {
            var digests = Set<Bytes32>()
            for n in nodes {
                guard await n.node.store.entryCount() == 5 else { return false }
                digests.insert(await n.node.store.digest())
            }
            return digests.count == 1
        }
        #expect(converged, "five nodes did not converge")
        let recall = try await nodes[4].node.store.memories(MemoryQuery(text: "written node"))
        #expect(recall.count == 5)
    }

    @Test func nodeWithWrongNetworkKeyLearnsNothing() async throws {
        let a = try await Self.start(0, seeds: [])
        let seed = HostPort(host: "127.0.0.2", port: try #require(await a.node.boundPort))
        let b = try await Self.start(1, seeds: [seed])
        let intruder = try await Self.start(2, seeds: [seed], networkKey: [UInt8](repeating: 0x66, count: 32))
        defer { a.task.cancel(); b.task.cancel(); intruder.task.cancel() }
        _ = try await a.node.write(kind: EntryKind.memory, key: "secret", payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "secret")))
        #expect(await eventually(10) { await b.node.store.entryCount() == 1 })
        #expect(await intruder.node.store.entryCount() == 0)
        #expect(await a.node.members().allSatisfy { $0.id != intruder.node.identity.publicKey })
        #expect(await intruder.node.memberCounts().alive == 0)
        let dropped = await a.node.metrics.packetsDropped["unauthenticated", default: 0] + a.node.metrics.sessionsRejected["network_key_mismatch", default: 0]
        #expect(dropped > 0)
    }
}
