import Testing
import Wire
@testable import CRDTLog

/// A peer's batch ends its transaction early while a client's request waits, hands the rest
/// back, and the rest lands the same as if the batch had gone in whole.
@Suite("Client demand")
struct ClientDemandTests {
    let author = Fixtures.keyPair(4)
    let now = Fixtures.t0 + 60_000

    func batch(_ n: Int) -> [Result<Entry, EntryRejection>] {
        Fixtures.chain(author, count: n).map { .success($0) }
    }

    @Test func withNoClientWaitingABatchCommitsWhole() async throws {
        let store = try Fixtures.store()
        let report = try await store.ingest(checked: batch(200), now: now, yieldingToClients: true)
        #expect(report.stored.count == 200)
        #expect(report.unplaced.isEmpty)
    }

    @Test func aWaitingClientEndsTheTransactionAtTheNextLookAndTheRestFollows() async throws {
        let whole = try Fixtures.store()
        _ = try await whole.ingest(checked: batch(200), now: now)
        let store = try Fixtures.store()
        store.clientDemand.begin()
        let first = try await store.ingest(checked: batch(200), now: now, yieldingToClients: true)
        #expect(first.stored.count == LogStore.yieldCheckEntries)
        #expect(first.unplaced.count == 200 - LogStore.yieldCheckEntries)
        #expect(first.unplaced.first?.seq == UInt64(LogStore.yieldCheckEntries + 1))
        // What was placed is committed: a client's read between the two calls sees it.
        #expect(await store.head(of: author.publicKey)?.seq == UInt64(LogStore.yieldCheckEntries))
        store.clientDemand.end()
        #expect(!store.clientDemand.isWaiting)
        let rest = try await store.ingest(checked: first.unplaced.map { .success($0) }, now: now, yieldingToClients: true)
        #expect(rest.stored.count == 200 - LogStore.yieldCheckEntries)
        #expect(rest.unplaced.isEmpty)
        #expect(await store.digest() == whole.digest())
        #expect(try await store.memories(MemoryQuery(text: "number", limit: 500)).count == 200)
    }

    @Test func withoutYieldingAWaitingClientDoesNotSplitTheBatch() async throws {
        let store = try Fixtures.store()
        store.clientDemand.begin()
        defer { store.clientDemand.end() }
        let report = try await store.ingest(checked: batch(100), now: now)
        #expect(report.stored.count == 100)
        #expect(report.unplaced.isEmpty)
    }
}
