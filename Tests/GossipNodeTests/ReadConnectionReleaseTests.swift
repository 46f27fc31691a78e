import CRDTLog
import Testing
import Wire
@testable import GossipNode

/// A batch big enough to send the API's reads to their own connection (``LogStore/readConnectionBatchEntries``)
/// schedules the node's memory release, which closes that connection again, whichever way the
/// batch came (a session, or a burst of pushes that no big session follows).
@Suite("Node: the read connection is closed after a catch-up")
struct ReadConnectionReleaseTests {
    @Test func aCatchUpSizedBatchSchedulesTheReleaseThatClosesTheReadConnection() async throws {
        let clock = MemberListSaveTests.ManualClock()
        let n = try MemberListSaveTests.node(clock: clock)
        let author = SigningKeyPair.generate(), peer = SigningKeyPair.generate().publicKey
        let chain = AdmissionTests.chain(author, count: LogStore.readConnectionBatchEntries + 4)
        // A push-sized batch: nothing to release.
        #expect(await n.ingest(chain.prefix(4).map(\.encoded), from: peer, viaSync: false)?.stored.count == 4)
        #expect(!n.store.readsUseOwnConnection)
        let before = await n.memoryReleaseAt
        // A catch-up-sized one: reads go to the read connection, and the release is due.
        #expect(await n.ingest(chain.dropFirst(4).map(\.encoded), from: peer, viaSync: false)?.stored.count == LogStore.readConnectionBatchEntries)
        #expect(n.store.readsUseOwnConnection)
        let due = try #require(await n.memoryReleaseAt)
        #expect(before == nil || due <= before!)
        _ = try await n.store.recall(MemoryQuery(limit: 5))
        #expect(n.store.readConnectionIsOpen)
        clock.advance(due - clock.now)
        await n.tick()
        #expect(!n.store.readsUseOwnConnection)
        #expect(!n.store.readConnectionIsOpen)
    }
}
