import Testing
import Wire
@testable import CRDTLog

extension LogStore {
    /// Runs `sql` in a write transaction on the store's own connection and `body` before that
    /// transaction ends (rolled back after): a peer's batch caught in the middle.
    func holdingWriteTransaction<T: Sendable>(_ sql: String, _ body: @Sendable (isolated LogStore) throws -> T) throws -> T {
        try db.execute("BEGIN IMMEDIATE")
        defer { try? db.execute("ROLLBACK") }
        try db.execute(sql)
        return try body(self)
    }

    /// Memories the store's own connection sees (inside its transaction, if one is open).
    func memoryRowsOnStoreConnection() throws -> Int64 {
        try db.query("SELECT count(*) FROM memories").first?.first?.int ?? -1
    }
}

/// During a catch-up the API's reads of the views go to a second, read-only connection: they
/// see what is committed, never what a transaction in progress has written, and need neither
/// the store's actor nor its write lock; the node's memory release closes it again.
@Suite("Read connection")
struct ReadConnectionTests {
    let me = Fixtures.keyPair(1)
    let now = Fixtures.t0 + 60_000

    @Test func aCatchUpBatchSendsReadsToTheReadConnectionUntilMemoryIsReleased() async throws {
        let store = try Fixtures.store(identity: me)
        let q = MemoryQuery(text: "number", limit: 1000)
        // A push-sized batch: reads stay on the store, no second connection.
        let peer = Fixtures.keyPair(2)
        let all = Fixtures.chain(peer, count: LogStore.readConnectionBatchEntries + 10)
        let small = Array(all.prefix(10)).map { Result<Entry, EntryRejection>.success($0) }
        _ = try await store.ingest(checked: small, now: now, yieldingToClients: true)
        #expect(!store.readsUseOwnConnection)
        #expect(try await store.recall(q).memories.count == 10)
        #expect(!store.readConnectionIsOpen)
        // A catch-up's batch: from then on reads go to the read connection, opened by the first.
        let big = Array(all.dropFirst(10)).map { Result<Entry, EntryRejection>.success($0) }
        #expect(big.count == LogStore.readConnectionBatchEntries)
        _ = try await store.ingest(checked: big, now: now, yieldingToClients: true)
        #expect(store.readsUseOwnConnection)
        #expect(!store.readConnectionIsOpen)
        #expect(try await store.recall(q).memories.count == all.count)
        #expect(store.readConnectionIsOpen)
        // The node's memory release after the catch-up closes it; reads go to the store again.
        await store.releaseMemory()
        #expect(!store.readsUseOwnConnection)
        #expect(!store.readConnectionIsOpen)
        #expect(try await store.recall(q).memories.count == all.count)
        #expect(!store.readConnectionIsOpen)
        #expect(LogStore.readConnections == 1)
    }

    @Test func aReadDuringAnOpenWriteTransactionSeesTheCommittedStateOnly() async throws {
        let store = try Fixtures.store(identity: me)
        for i in 1...3 {
            try await store.append(kind: EntryKind.memory, key: "k\(i)", payload: Fixtures.memory("lesson", "provider zulu drops requests \(i)"), now: now + UInt64(i))
        }
        let q = MemoryQuery(text: "zulu", limit: 10)
        let (inside, onStore) = try await store.holdingWriteTransaction("DELETE FROM memories") { s in
            // The store's connection holds the write lock and sees its own uncommitted delete;
            // the read connection answers at once, from the last commit.
            let read = try s.reader.read { db throws(StoreError) in try s.memories(q, db: db) }
            return (read.count, try s.memoryRowsOnStoreConnection())
        }
        #expect(onStore == 0)
        #expect(inside == 3)
        #expect(try await store.recall(q).memories.count == 3)
    }

    @Test func aWriteIsReadBackAtOnceOnTheReadConnection() async throws {
        let store = try Fixtures.store(identity: me, configuration: .init(durableCommits: true))
        store.reader.activate()
        for i in 1...20 {
            try await store.append(kind: EntryKind.memory, key: "w\(i)", payload: Fixtures.memory("lesson", "written word\(i)"), now: now + UInt64(i))
            let (found, _) = try await store.recall(MemoryQuery(text: "word\(i)", limit: 5))
            #expect(found.map(\.key) == ["w\(i)"])
            let breakers = try await store.readBreakers(nowMillis: Int64(now))
            #expect(breakers.isEmpty)
        }
        let all = try await store.recall(MemoryQuery(limit: 100))
        #expect(store.readConnectionIsOpen)
        #expect(all.memories.count == 20)
        #expect(all.pending.isEmpty)
    }

    @Test func theReadConnectionAndTheStoreAnswerTheSame() async throws {
        let store = try Fixtures.store(identity: me)
        store.reader.activate()
        for i in 1...30 {
            try await store.append(kind: EntryKind.memory, key: "s\(i % 7)", payload: Fixtures.memory("c\(i % 2)", "same answer \(i) alpha", tags: ["t\(i % 3)"]), now: now + UInt64(i))
        }
        let breaker = PayloadCoding.encode(BreakerPayload(provider: "p", model: "m", state: .open, reason: "down", host: "h"))
        try await store.append(kind: EntryKind.breaker, key: "p/m", payload: breaker, now: now + 100)
        for q in [MemoryQuery(text: "alpha", limit: 50), MemoryQuery(category: "c1", limit: 50), MemoryQuery(tag: "t2", limit: 50), MemoryQuery(limit: 3)] {
            let viaStore = try await store.memories(q).map(\.id)
            let viaReader = try await store.recall(q).memories.map(\.id)
            #expect(viaReader == viaStore)
            #expect(!viaReader.isEmpty)
        }
        let b1 = try await store.breakers(nowMillis: Int64(now) + 200).map(\.id)
        let b2 = try await store.readBreakers(nowMillis: Int64(now) + 200).map(\.id)
        #expect(b1 == b2 && b1.count == 1)
        #expect(store.readConnectionIsOpen)
    }

    @Test func afterCloseAReadFailsWithAStorageError() async throws {
        let store = try Fixtures.store(identity: me)
        store.reader.activate()
        await store.close()
        await #expect(throws: StoreError.self) { try await store.recall(MemoryQuery(limit: 5)) }
    }
}
