import CRDTLog
import Foundation
import GossipCore
import Testing
import Wire
@testable import GossipNode

/// Retention on real sockets: nodes checkpoint and compact while they replicate, and a node that
/// joins later receives the live set only.
@Suite("Retention cluster", .serialized)
struct RetentionClusterTests {
    static func retention(_ c: inout NodeConfiguration) {
        c.retention.checkpointEvery = 50
        c.retentionIntervalMillis = 100
    }

    @Test func nodesCompactWhileReplicatingAndALateNodeReceivesTheLiveSetOnly() async throws {
        let first = try await SocketClusterTests.start(0, seeds: [], configure: Self.retention)
        let seed = HostPort(host: "127.0.0.2", port: try #require(await first.node.boundPort))
        var nodes = [first]
        for i in 1..<3 { nodes.append(try await SocketClusterTests.start(i, seeds: [seed], configure: Self.retention)) }
        defer { for n in nodes { n.task.cancel() } }
        // 3 × 300 writes over 20 keys each: 60 memories live, 900 written.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, n) in nodes.enumerated() {
                group.addTask {
                    for w in 0..<300 {
                        let payload = PayloadCoding.encode(MemoryPayload(category: "test", content: "node \(i) write \(w)", host: "n\(i)"))
                        _ = try await n.node.write(kind: EntryKind.memory, key: "key-\(w % 20)", payload: payload)
                    }
                }
            }
            try await group.waitForAll()
        }
        func settled(_ ns: [SocketClusterTests.Running]) async -> Bool {
            var digests = Set<Bytes32>()
            for n in ns {
                // Settled also means no checkpoint of a node's own log is on its way (the last
                // writes may already call for one), so the counts below stay as read.
                guard let r = try? await n.node.store.retentionStatus(), r.deadEntries == 0, r.pendingCheckpoints == 0,
                      r.authorsCheckpointed == 3,
                      await !n.node.store.lookDue(rules: n.node.configuration.retention, now: n.node.now()) else { return false }
                digests.insert(await n.node.store.digest())
            }
            return digests.count == 1
        }
        #expect(await eventually(15) { await settled(nodes) }, "the three nodes did not converge and compact")
        let stored = try await nodes[0].node.store.retentionStatus().storedEntries
        // Per author: 20 live keys, what came after its last checkpoint, the checkpoint itself.
        #expect(stored <= 3 * (20 + 50 + 1), "stored \(stored)")
        let late = try await SocketClusterTests.start(3, seeds: [seed], configure: Self.retention)
        nodes.append(late)
        #expect(await eventually(15) { await settled(nodes) }, "the late node did not converge")
        let lateStatus = try await late.node.store.retentionStatus()
        #expect(lateStatus.storedEntries == stored)
        #expect(try await nodes[0].node.store.retentionStatus().storedEntries == stored, "a checkpoint came after the nodes had settled")
        #expect(lateStatus.compactedEntries == 0, "the late node should never have received a dead entry")
        let recall = { (n: SocketClusterTests.Running) in try await n.node.store.memories(MemoryQuery(limit: 100)).map { "\($0.author.hex)/\($0.key)=\($0.content)" }.sorted() }
        let expected = try await recall(nodes[0])
        #expect(expected.count == 60)
        for n in nodes { #expect(try await recall(n) == expected) }
        for n in nodes { #expect(try await n.node.store.verify().isClean) }
    }
}
