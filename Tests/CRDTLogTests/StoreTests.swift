import Foundation
import Testing
import Wire
@testable import CRDTLog

@Suite("Store")
struct StoreTests {
    let now = Fixtures.t0 + 60_000

    @Test func appendIsDurableAcrossReopen() async throws {
        let dir = Fixtures.tempDir()
        let kp = Fixtures.keyPair(1)
        var ids: [EntryID] = []
        do {
            let s = try LogStore(path: dir + "/node.db", identity: kp)
            for i in 0..<5 {
                ids.append(try await s.append(kind: EntryKind.memory, key: "k\(i)", payload: Fixtures.memory("c", "text \(i)"), now: now).id)
            }
            await s.close()
        }
        let s = try LogStore(path: dir + "/node.db", identity: kp)
        #expect(await s.head(of: kp.publicKey)?.seq == 5)
        #expect(await s.head(of: kp.publicKey)?.head == ids.last)
        let next = try await s.append(kind: EntryKind.memory, key: "k5", payload: Fixtures.memory("c", "more"), now: now)
        #expect(next.seq == 6 && next.prev == ids.last)
        let entries = try await s.entries(author: kp.publicKey, afterSeq: 0, limit: 100)
        #expect(entries.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(try await s.verify().isClean)
    }

    @Test func checkpointsRunOffTheWritePathAndTheWALStaysBounded() async throws {
        let dir = Fixtures.tempDir()
        let kp = Fixtures.keyPair(1)
        let s = try LogStore(path: dir + "/node.db", identity: kp)
        // ~30 MB of WAL frames without checkpoints (each write: the entry, its views, the index).
        for i in 0..<1500 {
            _ = try await s.append(kind: EntryKind.memory, key: "k\(i)",
                                   payload: Fixtures.memory("c", String(repeating: "note \(i) about a provider ", count: 30)), now: now)
        }
        await s.drainCheckpoints()
        let counts = await s.walCheckpoints
        #expect(counts.completed > 0, "no checkpoint ran on the second connection")
        let wal = try FileManager.default.attributesOfItem(atPath: dir + "/node.db-wal")[.size] as? Int ?? -1
        // Bounded by the writer's own checkpoint past 512 pages (2 MiB) plus one commit (each
        // under 64 KiB here).
        let bound = Int(LogStore.walWriterCheckpointPages) * 4096 + (64 << 10)
        #expect(wal >= 0 && wal <= bound, "WAL of \(wal) bytes, bound \(bound)")
        await s.close()
        let reopened = try LogStore(path: dir + "/node.db", identity: kp)
        #expect(await reopened.head(of: kp.publicKey)?.seq == 1500)
        await reopened.close()
    }

    @Test func aWriteComesBackWithTheSummaryThatIncludesItAndVersionsOrderSummaries() async throws {
        let kp = Fixtures.keyPair(1)
        let s = try Fixtures.store(identity: kp)
        let empty = await s.summary()
        #expect(empty.entries == 0)
        let w = try await s.appendSummarized(kind: EntryKind.memory, key: "a", payload: Fixtures.memory("c", "x"), now: now)
        #expect(w.summary.entries == 1)
        #expect(w.summary.digest == (await s.versionVector()).digest)
        #expect(w.summary.version > empty.version)
        // Reading changes nothing: the same summary, the same version.
        #expect(await s.summary() == w.summary)
        // A peer's entries make a newer summary; a batch with nothing new does not.
        let theirs = Fixtures.chain(Fixtures.keyPair(2), count: 3)
        _ = try await s.ingest(theirs, now: now)
        let after = await s.summary()
        #expect(after.entries == 4 && after.version > w.summary.version && after.digest != w.summary.digest)
        _ = try await s.ingest(theirs, now: now)
        #expect(await s.summary() == after)
    }

    @Test func localTimestampsStayMonotonicWhenTheWallClockGoesBack() async throws {
        let kp = Fixtures.keyPair(1)
        let s = try Fixtures.store(identity: kp)
        let a = try await s.append(kind: "memory", key: "a", payload: Fixtures.memory("c", "x"), now: now)
        let b = try await s.append(kind: "memory", key: "b", payload: Fixtures.memory("c", "y"), now: now - 10_000)
        #expect(b.hlc > a.hlc)
    }

    @Test func ingestStoresVerifiedEntriesAndRejectsForgeries() async throws {
        let s = try Fixtures.store()
        let chain = Fixtures.chain(Fixtures.keyPair(2), count: 10)
        var encoded = chain.map(\.encoded)
        var forged = encoded[3]
        forged[forged.count - 1] ^= 1  // payload byte: hash mismatch
        var badSig = chain[0].encoded
        badSig[150] ^= 0x40          // inside the signature
        encoded.append(forged); encoded.append(badSig); encoded.append([1, 2, 3])
        let r = try await s.ingest(encoded: encoded, now: now)
        #expect(r.stored.count == 10)
        #expect(r.rejected.map(\.label).sorted() == ["bad_signature", "malformed", "payload_hash_mismatch"])
        #expect(r.invalidCount == 3)
        #expect(await s.entryCount() == 10)
        #expect(try await s.verify().isClean)
    }

    @Test func outOfOrderEntriesAreHeldAndReleased() async throws {
        let s = try Fixtures.store()
        let chain = Fixtures.chain(Fixtures.keyPair(2), count: 6)
        var r = try await s.ingest(Array(chain[3...]), now: now)
        #expect(r.stored.isEmpty && r.held == 3)
        #expect(await s.heldEntries().waiting[Fixtures.keyPair(2).publicKey] == 4)
        r = try await s.ingest([chain[1], chain[2]], now: now)
        #expect(r.stored.isEmpty && r.held == 2)
        r = try await s.ingest([chain[0]], now: now)
        #expect(r.stored.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(await s.heldEntries().count == 0)
    }

    @Test func futureEntriesAreRefusedUntilTheClockCatchesUp() async throws {
        let s = try Fixtures.store()
        let far = Fixtures.chain(Fixtures.keyPair(2), count: 1, startMillis: now + LogLimits.maxClockSkewMillis + 1000)
        var r = try await s.ingest(far, now: now)
        #expect(r.stored.isEmpty)
        #expect(r.rejected.first?.isTransient == true)
        #expect(r.invalidCount == 0)
        r = try await s.ingest(far, now: now + 2000)
        #expect(r.stored.count == 1)
    }

    @Test func nonMonotonicTimestampsAreRejected() async throws {
        let kp = Fixtures.keyPair(2)
        let first = Fixtures.chain(kp, count: 1, startMillis: Fixtures.t0 + 10)[0]
        let second = try Entry.sign(keyPair: kp, seq: 2, prev: first.id, hlc: HLCTimestamp(millis: Fixtures.t0), kind: "memory",
                                    key: "x", payload: Fixtures.memory("c", "x"))
        let s = try Fixtures.store()
        let r = try await s.ingest([first, second], now: now)
        #expect(r.stored.count == 1 && r.rejected == [.clockNotMonotonic])
    }

    @Test func unknownKindsAreStoredCountedAndIgnoredByViews() async throws {
        let kp = Fixtures.keyPair(2)
        let s = try Fixtures.store()
        let e = Fixtures.chain(kp, count: 1, kind: "future.kind-v9", payload: { _ in Array(#"{"whatever":[1,2]}"#.utf8) })
        let r = try await s.ingest(e, now: now)
        #expect(r.stored.count == 1)
        #expect(await s.versionVector().heads[kp.publicKey]?.seq == 1)
        #expect(try await s.memories(MemoryQuery()).isEmpty)
        #expect(try await s.entries(author: kp.publicKey, afterSeq: 0, limit: 10).first?.encoded == e[0].encoded)
    }

    @Test func blockedAuthorsAreNeverStoredAndArePurgedOnOpen() async throws {
        let dir = Fixtures.tempDir()
        let bad = Fixtures.keyPair(6)
        let chain = Fixtures.chain(bad, count: 3)
        do {
            let s = try LogStore(path: dir + "/node.db", identity: nil)
            #expect(try await s.ingest(chain, now: now).stored.count == 3)
            await s.close()
        }
        let s = try LogStore(path: dir + "/node.db", identity: nil, configuration: .init(blocked: [bad.publicKey]))
        #expect(await s.entryCount() == 0)
        #expect(try await s.memories(MemoryQuery()).isEmpty)
        let r = try await s.ingest(chain, now: now)
        #expect(r.stored.isEmpty && r.rejected.allSatisfy { $0 == .blocked })
        #expect(try await s.verify().isClean)
    }

    @Test(arguments: [false, true])
    func forkIsDetectedWhicheverCopyArrivesFirst(reversed: Bool) async throws {
        let kp = Fixtures.keyPair(4)
        let common = Fixtures.chain(kp, count: 3)
        let a = Fixtures.chain(kp, count: 2, startSeq: 4, prev: common[2].id, startMillis: Fixtures.t0 + 100,
                               payload: { i in Fixtures.memory("c", "branch a \(i)") })
        let b = Fixtures.chain(kp, count: 2, startSeq: 4, prev: common[2].id, startMillis: Fixtures.t0 + 100,
                               payload: { i in Fixtures.memory("c", "branch b \(i)") })
        let s = try Fixtures.store()
        _ = try await s.ingest(common, now: now)
        let (first, second) = reversed ? (b, a) : (a, b)
        let r1 = try await s.ingest(first, now: now)
        #expect(r1.stored.count == 2)
        let r2 = try await s.ingest(second, now: now)
        #expect(r2.forks.count == 1)
        #expect(await s.quarantinedAuthors() == [kp.publicKey])
        #expect(await s.forkPointsByAuthor() == [kp.publicKey: 4])
        // Everything before the fork point stays: served, and in the views (branch a's writes to
        // k0 and k1 no longer show; the common entries' do again).
        #expect(await s.versionVector().heads[kp.publicKey]?.seq == 3)
        #expect(try await s.entries(author: kp.publicKey, afterSeq: 0, limit: 10).map(\.seq) == [1, 2, 3])
        #expect(try await s.memories(MemoryQuery()).map(\.content).sorted() == ["entry number 0", "entry number 1", "entry number 2"])
        #expect(try await s.forkProofs().count == 1)
        // Nothing more from it is accepted.
        let more = try await s.ingest(Fixtures.chain(kp, count: 1, startSeq: 6, prev: first[1].id, startMillis: Fixtures.t0 + 500), now: now)
        #expect(more.rejected == [.quarantined])
        #expect(try await s.verify().isClean)
    }

    @Test func forkProofTravelsToAnotherStore() async throws {
        let kp = Fixtures.keyPair(4)
        let a = Fixtures.chain(kp, count: 1, payload: { _ in Fixtures.memory("c", "a") })
        let b = Fixtures.chain(kp, count: 1, payload: { _ in Fixtures.memory("c", "b") })
        let s1 = try Fixtures.store()
        _ = try await s1.ingest(a, now: now)
        let proof = try #require(try await s1.ingest(b, now: now).forks.first)
        let s2 = try Fixtures.store()
        _ = try await s2.ingest(b, now: now)
        let received = try ForkProof(first: proof.second.signedHeader, second: proof.first.signedHeader)
        #expect(received == proof)
        #expect(try await s2.ingest(proof: received, now: now))
        #expect(await s2.digest() == s1.digest())
        // A "proof" of two consecutive honest entries proves nothing.
        let honest = Fixtures.chain(Fixtures.keyPair(5), count: 2)
        #expect(throws: EntryRejection.self) { try ForkProof(first: honest[0].signedHeader, second: honest[1].signedHeader) }
    }

    @Test func peersAreSavedAndForgottenInOneBatchAndSurviveAReopen() async throws {
        let dir = Fixtures.tempDir()
        let a = Fixtures.keyPair(2).publicKey, b = Fixtures.keyPair(3).publicKey
        let s = try LogStore(path: dir + "/node.db", identity: Fixtures.keyPair(1))
        try await s.updatePeers([a: RememberedPeer(author: a, address: "10.0.0.2:7420", lastSeenMillis: 500, incarnation: 4),
                                 b: RememberedPeer(author: b, address: "10.0.0.3:7420", lastSeenMillis: 100, incarnation: 1)])
        // A later batch moves a, never lowers what was seen, and forgets b.
        try await s.updatePeers([a: RememberedPeer(author: a, address: "10.0.0.9:7420", lastSeenMillis: 200, incarnation: 2), b: nil])
        await s.close()
        let reopened = try LogStore(path: dir + "/node.db", identity: nil)
        let peers = try await reopened.rememberedPeers()
        #expect(peers == [RememberedPeer(author: a, address: "10.0.0.9:7420", lastSeenMillis: 500, incarnation: 4)])
        await reopened.close()
    }

    @Test func verifyFindsTamperedRowsAndViews() async throws {
        let dir = Fixtures.tempDir()
        let s = try LogStore(path: dir + "/node.db", identity: Fixtures.keyPair(1))
        for i in 0..<20 { try await s.append(kind: "memory", key: "k\(i)", payload: Fixtures.memory("c", "text \(i)"), now: now) }
        #expect(try await s.verify().isClean)
        await s.close()
        let db = try SQLiteDatabase(path: dir + "/node.db")
        try db.execute("UPDATE memories SET content = 'poison' WHERE key = 'k3'")
        try db.execute("UPDATE entries SET payload = X'7b7d' WHERE seq = 7")
        db.close()
        let reopened = try LogStore(path: dir + "/node.db", identity: nil)
        let report = try await reopened.verify()
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.contains("#7") })
        #expect(report.problems.contains { $0.contains("view memories") })
    }

    @Test func digestOfEmptyStoresAgreesAndChangesWithEntries() async throws {
        let s1 = try Fixtures.store(), s2 = try Fixtures.store()
        #expect(await s1.digest() == s2.digest())
        _ = try await s1.ingest(Fixtures.chain(Fixtures.keyPair(2), count: 1), now: now)
        #expect(await s1.digest() != s2.digest())
    }
}
