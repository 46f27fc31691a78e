import Foundation
import Testing
import Wire
@testable import CRDTLog
@testable import GossipNode

/// The digest and count a node keeps of its log (what its pings carry) follow the store, also
/// when writes reach the store and the node in different orders.
@Suite("Node: the log's summary")
struct NodeSummaryTests {
    static func node() throws -> Node {
        let dir = try SocketRestoreTests.tempDir()
        return try SocketRestoreTests.node(dir: dir, identity: .generate(), bind: "127.0.0.14", seeds: [], grace: 0)
    }

    @Test func anOlderSummaryNeverReplacesANewerOne() async throws {
        let n = try Self.node()
        _ = try await n.write(kind: EntryKind.memory, key: "a", payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "one")))
        let first = await n.store.summary()
        _ = try await n.write(kind: EntryKind.memory, key: "b", payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "two")))
        let second = await n.store.summary()
        #expect(second.version > first.version)
        // The write of "a" came back from the store first but reaches the node last.
        await n.adopt(first)
        #expect(await n.entryCount == 2)
        #expect(await n.digest == second.digest)
    }

    @Test func concurrentWritesLeaveTheNodesDigestAndCountOnTheStores() async throws {
        let n = try Self.node()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask {
                    _ = try await n.write(kind: EntryKind.memory, key: "k\(i)",
                                          payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "note \(i)")))
                }
            }
            try await group.waitForAll()
        }
        #expect(await n.entryCount == 64)
        #expect(await n.digest == (await n.store.digest()))
    }
}
