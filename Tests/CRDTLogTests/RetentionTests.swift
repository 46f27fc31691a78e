import Testing
import Wire
@testable import CRDTLog

/// Retention: the rules that decide what is live, checkpoints (their payload, writing, applying
/// ahead of the head, refusing a wrong one) and compaction.
@Suite("Retention")
struct RetentionTests {
    let now = Fixtures.t0 + 3_600_000

    func candidate(_ seq: UInt64, _ kind: String, _ key: String = "", millis: UInt64? = nil, payload: [UInt8] = []) -> RetentionRules.Candidate {
        .init(seq: seq, id: Blake2b.hash256([UInt8(truncatingIfNeeded: seq)]), kind: kind, key: key,
              hlcMillis: millis ?? Fixtures.t0 + seq, payload: payload)
    }

    func breaker(_ provider: String, _ state: BreakerState, resetsAt: String? = nil) -> [UInt8] {
        PayloadCoding.encode(BreakerPayload(provider: provider, model: "m", state: state, reason: nil, resetsAt: resetsAt, host: "h"))
    }

    func benchmark(recordedAt: String? = nil) -> [UInt8] {
        PayloadCoding.encode(BenchmarkPayload(provider: "p", model: "m", metric: "latency", value: 1, recordedAt: recordedAt, host: "h"))
    }

    /// Pages `author`'s entries from `a` into `b` as a sync session does (checkpoint first on the first read).
    func sync(_ author: AuthorID, from a: LogStore, to b: LogStore, limit: Int = 7) async throws -> IngestReport {
        var after = await b.versionVector().heads[author]?.seq ?? 0
        var first = true
        var total = IngestReport()
        while true {
            let es = try await a.entries(author: author, afterSeq: after, limit: limit, checkpointFirst: first)
            first = false
            if es.isEmpty { break }
            let r = try await b.ingest(es, now: now)
            total.stored += r.stored; total.rejected += r.rejected; total.duplicates += r.duplicates
            if es.count < limit { break }
            after = es.last!.seq
        }
        return total
    }

    /// `count` memory writes over `keys` keys at `s`, one checkpoint check after each.
    func write(_ s: LogStore, count: Int, keys: Int, every: UInt64, from: Int = 0) async throws {
        for i in from..<(from + count) {
            try await s.append(kind: EntryKind.memory, key: "key-\(i % keys)", payload: Fixtures.memory("c", "value \(i) of key \(i % keys)"),
                               now: Fixtures.t0 + UInt64(i) * 10)
            _ = try await s.checkpointIfDue(rules: RetentionRules(checkpointEvery: every, quietMillis: 0), now: now)
        }
    }

    // MARK: Payload

    @Test func aCheckpointPayloadRoundTripsAndRejectsWhatIsOutOfRange() throws {
        let cp = Checkpoint(seq: 100, keepFrom: 90, listed: [3, 4, 80], listedHash: Blake2b.hash256([1]))
        #expect(try Checkpoint(seq: 100, payload: cp.payload) == cp)
        #expect(cp.keeps(3) && cp.keeps(80) && cp.keeps(90) && cp.keeps(99) && cp.keeps(100))
        #expect(!cp.keeps(5) && !cp.keeps(89) && !cp.keeps(1))
        #expect(cp.keptCount(after: 0) == 13)
        #expect(cp.keptCount(after: 4) == 11)
        #expect(cp.keptCount(after: 95) == 4)
        #expect(cp.keepsAny(in: 5..<80) == false)
        #expect(cp.keepsAny(in: 5..<81) == true)
        #expect(cp.keepsAny(in: 81..<91) == true)
        // keep_from above the checkpoint's seq; listed seqs not rising; at or past keep_from; trailing bytes.
        #expect(throws: EntryRejection.self) { try Checkpoint(seq: 10, payload: Checkpoint(seq: 100, keepFrom: 11, listed: [], listedHash: .zero).payload) }
        var w = ByteWriter(); w.u8(1); w.u64(50); w.varint(2); w.varint(5); w.varint(0); w.raw(Bytes32.zero)
        #expect(throws: EntryRejection.self) { try Checkpoint(seq: 60, payload: w.bytes) }
        var w2 = ByteWriter(); w2.u8(1); w2.u64(50); w2.varint(1); w2.varint(50); w2.raw(Bytes32.zero)
        #expect(throws: EntryRejection.self) { try Checkpoint(seq: 60, payload: w2.bytes) }
        #expect(throws: EntryRejection.self) { try Checkpoint(seq: 100, payload: cp.payload + [0]) }
        // Keeping more than the limit (a range of 4 million and one).
        #expect(throws: EntryRejection.self) { try Checkpoint(seq: 4_000_002, payload: Checkpoint(seq: 4_000_002, keepFrom: 1, listed: [], listedHash: .zero).payload) }
        // A later format is not applied (nil), and not refused.
        #expect(try Checkpoint(seq: 100, payload: [2, 0, 0]) == nil)
    }

    // MARK: Rules

    @Test func theLatestWriteOfAKeyStaysAndARetractionStaysToo() {
        let rules = RetentionRules()
        let live = rules.live([
            candidate(1, EntryKind.memory, "a"), candidate(2, EntryKind.memory, "b"), candidate(3, EntryKind.memory, "a"),
            candidate(4, EntryKind.memoryRetraction, "b"), candidate(5, EntryKind.checkpoint),
            candidate(6, "some.future-kind"), candidate(7, EntryKind.successor),
        ], nowMillis: now)
        #expect(live.map(\.seq) == [3, 4, 6, 7])
    }

    @Test func aBreakerEventStaysWhileLatestOrNotExpiredAndABenchmarkForItsWindow() {
        let rules = RetentionRules(benchmarkWindowMillis: 60_000)
        let future = RFC3339.format(millis: Int64(now + 60_000))
        let past = RFC3339.format(millis: Int64(now - 1))
        let live = rules.live([
            candidate(1, EntryKind.breaker, payload: breaker("p", .open, resetsAt: past)),    // expired, superseded by 3
            candidate(2, EntryKind.breaker, payload: breaker("p", .open, resetsAt: future)),  // not expired yet
            candidate(3, EntryKind.breaker, payload: breaker("p", .closed)),                  // latest
            candidate(4, EntryKind.breaker, payload: breaker("q", .open, resetsAt: past)),    // latest of q
            candidate(5, EntryKind.benchmark, millis: now - 120_000, payload: benchmark()),   // older than the window
            candidate(6, EntryKind.benchmark, millis: now - 1_000, payload: benchmark()),
            // Claims an old time: read as the view reads it (the older of claim and stamp).
            candidate(7, EntryKind.benchmark, millis: now, payload: benchmark(recordedAt: RFC3339.format(millis: Int64(now - 600_000)))),
        ], nowMillis: now)
        #expect(live.map(\.seq) == [2, 3, 4, 6])
    }

    @Test func aCheckpointThatCannotListEverythingKeepsTheRestWhole() throws {
        // Live seqs 128 apart take 2 bytes each: 34,000 of them do not fit in 64 KiB.
        let live = (1...34_000).map { candidate(UInt64($0) * 128, EntryKind.memory, "k\($0)") }
        let cp = try #require(RetentionRules.checkpoint(seq: 34_000 * 128 + 1, live: live))
        #expect(cp.payload.count <= LogLimits.maxPayloadBytes)
        #expect(cp.listed.count > 30_000 && cp.listed.count < 34_000)
        #expect(cp.keepFrom == live[cp.listed.count].seq)
        #expect(live.allSatisfy { cp.keeps($0.seq) })
        #expect(try Checkpoint(seq: cp.seq, payload: cp.payload) == cp)
        // Sparser still, the kept range would pass the limit: no checkpoint.
        let sparse = (1...30_000).map { candidate(UInt64($0) * 20_000, EntryKind.memory, "k\($0)") }
        #expect(RetentionRules.checkpoint(seq: 30_000 * 20_000 + 1, live: sparse) == nil)
    }

    @Test func aLookComesEveryNEntriesOrOnceQuietAndACheckpointOnlyWhenSomethingIsDead() async throws {
        let r = RetentionRules(checkpointEvery: 10, quietMillis: 30_000)
        #expect(!r.shouldLook(since: 0, newSinceLook: 0, lookedAt: nil, lastWriteMillis: 0, nowMillis: 1_000_000))
        #expect(r.shouldLook(since: 10, newSinceLook: 10, lookedAt: nil, lastWriteMillis: 999_999, nowMillis: 1_000_000))
        #expect(!r.shouldLook(since: 15, newSinceLook: 5, lookedAt: 999_000, lastWriteMillis: 999_999, nowMillis: 1_000_000))
        #expect(r.shouldLook(since: 3, newSinceLook: 3, lookedAt: nil, lastWriteMillis: 900_000, nowMillis: 1_000_000))
        #expect(!r.shouldLook(since: 3, newSinceLook: 0, lookedAt: 990_000, lastWriteMillis: 900_000, nowMillis: 1_000_000))
        #expect(r.shouldLook(since: 3, newSinceLook: 0, lookedAt: 990_000, lastWriteMillis: 900_000,
                             nowMillis: 990_000 + RetentionRules.expiryLookMillis))
        #expect(!RetentionRules(checkpointEvery: 0).shouldLook(since: 100, newSinceLook: 100, lookedAt: nil, lastWriteMillis: 0, nowMillis: 1_000_000))
        // Distinct keys: nothing is dead, so no checkpoint, however many entries.
        let s = try Fixtures.store(identity: Fixtures.keyPair(44))
        for i in 0..<25 {
            try await s.append(kind: EntryKind.memory, key: "distinct-\(i)", payload: Fixtures.memory("c", "v\(i)"), now: Fixtures.t0 + UInt64(i))
        }
        #expect(try await s.checkpointIfDue(rules: r, now: now) == nil)
        // One rewrite: the next look (quiet, after the new write) writes one.
        try await s.append(kind: EntryKind.memory, key: "distinct-0", payload: Fixtures.memory("c", "again"), now: Fixtures.t0 + 100)
        let cp = try #require(try await s.checkpointIfDue(rules: r, now: now))
        #expect(cp.kind == EntryKind.checkpoint && cp.seq == 27)
        #expect(try await s.checkpointIfDue(rules: r, now: now + 1) == nil)
    }

    // MARK: Store

    @Test func checkpointsAndCompactionKeepWhatViewsShowAndAFreshNodeReceivesOnlyThat() async throws {
        let kp = Fixtures.keyPair(40)
        let s = try Fixtures.store(identity: kp)
        try await write(s, count: 200, keys: 10, every: 50)
        let memoriesBefore = try await s.memories(MemoryQuery(limit: 100)).map { "\($0.key)=\($0.content)" }.sorted()
        #expect(await s.versionVector().heads[kp.publicKey]?.seq == 204)  // 200 writes and 4 checkpoints (one each 50 entries)
        let deleted = try await s.compactAll()
        let status = try await s.retentionStatus()
        // Left: the 10 keys' latest writes, the writes after the last checkpoint, the checkpoint.
        #expect(deleted == 204 - Int(status.storedEntries))
        #expect(status.storedEntries == 11)  // the 10 keys' latest writes and the checkpoint
        #expect(status.deadEntries == 0)
        // A new database hands freed pages back to the file system.
        #expect(try await s.autoVacuumMode() == 2)
        #expect(status.freeBytes == 0, "free pages kept: \(status.freeBytes) bytes")
        #expect(try await s.memories(MemoryQuery(limit: 100)).map { "\($0.key)=\($0.content)" }.sorted() == memoriesBefore)
        #expect(try await s.verify().isClean)
        // A fresh node gets the checkpoint first, then only what it keeps.
        let fresh = try Fixtures.store()
        let r = try await sync(kp.publicKey, from: s, to: fresh)
        #expect(r.rejected.isEmpty)
        #expect(UInt64(r.stored.count) == status.storedEntries)
        #expect(await fresh.digest() == s.digest())
        #expect(try await fresh.memories(MemoryQuery(limit: 100)).map { "\($0.key)=\($0.content)" }.sorted() == memoriesBefore)
        #expect(try await fresh.verify().isClean)
        #expect(try await fresh.retentionStatus().storedEntries == status.storedEntries)
    }

    @Test func aNodeOfflineAcrossTwoCheckpointsCatchesUpAndCompactsTheSame() async throws {
        let kp = Fixtures.keyPair(41)
        let s = try Fixtures.store(identity: kp)
        let peer = try Fixtures.store()
        try await write(s, count: 30, keys: 8, every: 1_000)
        _ = try await sync(kp.publicKey, from: s, to: peer)
        #expect(await peer.digest() == s.digest())
        // Offline: two checkpoints (and a retraction) later.
        try await write(s, count: 60, keys: 8, every: 25, from: 30)
        try await s.append(kind: EntryKind.memoryRetraction, key: "key-3", payload: Array("{}".utf8), now: Fixtures.t0 + 5_000)
        #expect(try await s.retentionStatus().checkpointsWritten >= 2)
        _ = try await s.compactAll()
        let r = try await sync(kp.publicKey, from: s, to: peer)
        #expect(r.rejected.isEmpty)
        #expect(await peer.digest() == s.digest())
        #expect(try await peer.memories(MemoryQuery(limit: 100)).map(\.key).sorted() == s.memories(MemoryQuery(limit: 100)).map(\.key).sorted())
        #expect(try await !peer.memories(MemoryQuery(limit: 100)).contains { $0.key == "key-3" })
        #expect(try await peer.verify().isClean)
        _ = try await peer.compactAll()
        #expect(try await peer.retentionStatus().storedEntries == s.retentionStatus().storedEntries)
        #expect(try await peer.verify().isClean)
    }

    @Test func aCheckpointSurvivesAReopenAndAPendingOneToo() async throws {
        let dir = Fixtures.tempDir()
        let kp = Fixtures.keyPair(42)
        let s = try Fixtures.store(identity: kp)
        try await write(s, count: 40, keys: 4, every: 20)
        var peer: LogStore? = try LogStore(path: dir + "/p.db", identity: nil, configuration: .init(durableCommits: false))
        // Only the checkpoint and part of what it keeps arrive, then the node restarts.
        let all = try await s.entries(author: kp.publicKey, afterSeq: 0, limit: 100, checkpointFirst: true)
        _ = try await peer!.ingest(Array(all.prefix(3)), now: now)
        #expect(await peer!.versionVector().heads[kp.publicKey] == nil)
        await peer!.close(); peer = nil
        let reopened = try LogStore(path: dir + "/p.db", identity: nil, configuration: .init(durableCommits: false))
        _ = try await reopened.ingest(Array(all.dropFirst(3)), now: now)
        #expect(await reopened.digest() == s.digest())
        #expect(try await reopened.verify().isClean)
    }

    @Test func mergingTheSearchIndexShrinksItAndKeepsEveryAnswer() async throws {
        let s = try Fixtures.store(identity: Fixtures.keyPair(45))
        try await write(s, count: 1_200, keys: 100, every: 300)
        _ = try await s.compactAll()
        let before = try await s.memories(MemoryQuery(text: "value key", limit: 100)).map(\.key).sorted()
        func indexPages() async throws -> Int64 { try await s.searchIndexRows() }
        let pagesBefore = try await indexPages()
        try await s.optimizeSearchIndex()
        #expect(try await indexPages() < pagesBefore)
        #expect(try await s.memories(MemoryQuery(text: "value key", limit: 100)).map(\.key).sorted() == before)
        #expect(before.count == 100)
        #expect(try await s.verify().isClean)
    }

    @Test func rewritesGrowTheSearchIndexUntilItNeedsAMergeAndTheMergeTakesItBack() async throws {
        // No slack: an index of 100 memories grows past twice its merged size within a few
        // thousand rewrites (the default slack, 64 rows, is for indexes of thousands). `capped`
        // takes the same writes but merges no index larger than twice the merged one.
        let s = try Fixtures.store(identity: Fixtures.keyPair(46), configuration: .init(durableCommits: false, searchIndexSlackRows: 0))
        try await write(s, count: 200, keys: 100, every: 0)
        try await s.optimizeSearchIndex()
        let merged = try await s.searchIndexRows()
        #expect(try await !s.searchIndexNeedsMerge())
        let capped = try Fixtures.store(identity: Fixtures.keyPair(46),
                                        configuration: .init(durableCommits: false, searchIndexSlackRows: 0, searchIndexBusyMergeMaxRows: merged * 2))
        try await write(capped, count: 200, keys: 100, every: 0)
        try await capped.optimizeSearchIndex()
        #expect(try await capped.searchIndexRows() == merged)
        // Rewrites of the same 100 keys: the index keeps the old rows' tokens as delete markers.
        var written = 200
        while try await !s.searchIndexNeedsMerge(), written < 20_000 {
            try await write(s, count: 100, keys: 100, every: 0, from: written)
            try await write(capped, count: 100, keys: 100, every: 0, from: written)
            written += 100
        }
        let grown = try await s.searchIndexRows()
        #expect(grown > merged * LogStore.searchIndexGrowthFactor)
        #expect(try await s.searchIndexSegments() > 1)
        #expect(try await capped.searchIndexRows() == grown)
        #expect(try await !capped.searchIndexNeedsMerge())

        try await s.optimizeSearchIndex()
        #expect(try await s.searchIndexSegments() == 1)
        #expect(try await s.searchIndexRows() <= merged + 2)
        #expect(try await !s.searchIndexNeedsMerge())
        // Every key found, each with its latest content.
        let now = try await s.memories(MemoryQuery(text: "value key", limit: 100))
        #expect(now.count == 100)
        #expect(Set(now.map(\.content)) == Set((written - 100..<written).map { "value \($0) of key \($0 % 100)" }))
        #expect(try await s.verify().isClean)
    }

    @Test func theFirstLookAtTheSearchIndexAfterOpeningTakesItsSizeAsItIs() async throws {
        let dir = Fixtures.tempDir()
        let config = StoreConfiguration(durableCommits: false, searchIndexSlackRows: 0)
        var s: LogStore? = try LogStore(path: dir + "/n.db", identity: Fixtures.keyPair(47), configuration: config)
        try await write(s!, count: 3_000, keys: 50, every: 0)
        let rows = try await s!.searchIndexRows()
        await s!.close(); s = nil
        // Not merged since it was written: larger than twice a merged index of 50 memories.
        let reopened = try LogStore(path: dir + "/n.db", identity: Fixtures.keyPair(47), configuration: config)
        #expect(try await !reopened.searchIndexNeedsMerge())
        #expect(try await !reopened.searchIndexNeedsMerge())
        try await reopened.optimizeSearchIndex()
        #expect(try await reopened.searchIndexRows() * LogStore.searchIndexGrowthFactor < rows)
    }

    // MARK: Hostile input

    @Test func aCheckpointWhoseListedIDsDoNotMatchIsRefusedAndAWithheldEntryLeavesItPending() async throws {
        let kp = Fixtures.keyPair(43)
        let chain = Fixtures.chain(kp, count: 10, key: { "k\($0 % 3)" })
        // A checkpoint at 11 that keeps 8, 9, 10 (the latest of each key), under a wrong hash.
        let wrong = Checkpoint(seq: 11, keepFrom: 11, listed: [8, 9, 10], listedHash: Checkpoint.hash(ids: [chain[7].id, chain[8].id, chain[0].id]))
        let bad = try Entry.sign(keyPair: kp, seq: 11, prev: chain[9].id, hlc: HLCTimestamp(millis: Fixtures.t0 + 100),
                                 kind: EntryKind.checkpoint, key: "", payload: wrong.payload)
        let s = try Fixtures.store()
        let r = try await s.ingest([bad] + Array(chain[7...]), now: now)
        #expect(r.rejected.contains { if case .badCheckpoint = $0 { true } else { false } })
        #expect(r.stored.isEmpty)
        #expect(await s.versionVector().heads[kp.publicKey] == nil)
        // The right one, with an entry it keeps withheld: nothing applied, digests still differ.
        let right = Checkpoint(seq: 11, keepFrom: 11, listed: [8, 9, 10], listedHash: Checkpoint.hash(ids: [chain[7].id, chain[8].id, chain[9].id]))
        let good = try Entry.sign(keyPair: kp, seq: 11, prev: chain[9].id, hlc: HLCTimestamp(millis: Fixtures.t0 + 100),
                                  kind: EntryKind.checkpoint, key: "", payload: right.payload)
        let r2 = try await s.ingest([good, chain[7], chain[9]] + Array(chain[0...2]), now: now)
        #expect(r2.stored.isEmpty)
        #expect(await s.versionVector().heads[kp.publicKey] == nil)
        // The withheld one arrives: applied, the dead ones were never stored.
        let r3 = try await s.ingest([chain[8]], now: now)
        #expect(r3.stored.map(\.seq) == [8, 9, 10, 11])
        #expect(try await s.retentionStatus().storedEntries == 4)
        #expect(try await s.verify().isClean)
        #expect(try await s.memories(MemoryQuery(limit: 10)).count == 3)
    }
}
