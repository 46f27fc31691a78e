import Testing
import Wire
@testable import CRDTLog

/// Writes accepted during the start-up check: durable, in order, signed once the check lifts.
@Suite("Outbox")
struct OutboxTests {
    @Test func pendingWritesSurviveAReopenAndAreSignedInOrder() async throws {
        let dir = Fixtures.tempDir()
        let me = Fixtures.keyPair(9)
        var s = try LogStore(path: dir + "/node.db", identity: me, configuration: .init(durableCommits: true))
        _ = try await s.append(kind: "memory", key: "before", payload: Fixtures.memory("c", "signed before"), now: Fixtures.t0)
        #expect(await s.hasSignedBefore)
        await s.setWriteFence("checking")
        for i in 0..<5 { _ = try await s.enqueue(kind: "memory", key: "k\(i)", payload: Fixtures.memory("c", "pending \(i)"), now: Fixtures.t0 + UInt64(i)) }
        #expect(await s.entryCount() == 1)  // nothing signed yet
        await s.close()
        // A kill: the outbox is on disk.
        s = try LogStore(path: dir + "/node.db", identity: me, configuration: .init(durableCommits: true))
        #expect(try await s.pendingWrites().map(\.key) == ["k0", "k1", "k2", "k3", "k4"])
        let signed = try await s.signPending(now: Fixtures.t0 + 100)
        #expect(signed.map(\.seq) == [2, 3, 4, 5, 6])
        #expect(signed.map(\.key) == ["k0", "k1", "k2", "k3", "k4"])
        #expect(try await s.pendingWrites().isEmpty)
        #expect(try await s.verify().problems.isEmpty)
    }

    @Test func aFreshIdentityHasNeverSigned() async throws {
        let s = try Fixtures.store(identity: Fixtures.keyPair(10))
        #expect(await !s.hasSignedBefore)
        await #expect(throws: StoreError.self) { try await s.enqueue(kind: "Bad Kind", key: "k", payload: [], now: 0) }
    }
}
