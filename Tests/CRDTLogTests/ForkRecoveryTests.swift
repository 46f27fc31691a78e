import Testing
import Wire
@testable import CRDTLog

/// Honest forks: history before the fork point stays, fork points only move lower, and a forked
/// identity moves to a successor announced by both keys, which trust and blocks follow.
@Suite("Fork recovery")
struct ForkRecoveryTests {
    let now = Fixtures.t0 + 60_000

    /// An entry of `kp` at `seq` after `prev` with its own payload (a branch of another copy).
    func other(_ kp: SigningKeyPair, seq: UInt64, prev: EntryID, millis: UInt64, _ text: String) -> Entry {
        try! Entry.sign(keyPair: kp, seq: seq, prev: prev, hlc: HLCTimestamp(millis: millis), kind: EntryKind.memory,
                        key: "other-\(seq)", payload: Fixtures.memory("c", text))
    }

    /// `successor`'s announcement (seq 1) continuing `predecessor` at (seq, head).
    func announcement(_ successor: SigningKeyPair, of predecessor: SigningKeyPair, seq: UInt64 = 0, head: EntryID = .zero,
                      millis: UInt64 = Fixtures.t0 + 1000, entrySeq: UInt64 = 1) -> Entry {
        let payload = Succession.payload(successor: successor.publicKey, predecessor: predecessor, seq: seq, head: head, host: "laptop")
        let prev = entrySeq == 1 ? EntryID.zero : Fixtures.chain(successor, count: 1)[0].id
        return try! Entry.sign(keyPair: successor, seq: entrySeq, prev: prev, hlc: HLCTimestamp(millis: millis),
                               kind: EntryKind.successor, key: "", payload: payload)
    }

    @Test func aLowerProofMovesTheForkPointDownAndAHigherOneChangesNothing() async throws {
        let kp = Fixtures.keyPair(20)
        let mine = Fixtures.chain(kp, count: 6)
        let s = try Fixtures.store()
        _ = try await s.ingest(mine, now: now)
        // Another copy wrote a different seq 5 (after the same 4): fork point 5.
        let r = try await s.ingest([other(kp, seq: 5, prev: mine[3].id, millis: Fixtures.t0 + 10, "copy's 5")], now: now)
        #expect(r.forks.count == 1)
        #expect(await s.forkPointsByAuthor()[kp.publicKey] == 5)
        #expect(try await s.memories(MemoryQuery()).count == 4)
        // A proof that the branches already differ at 3: fork point 3, two memories left.
        let lower = try ForkProof(mine[2].header, other(kp, seq: 3, prev: mine[1].id, millis: Fixtures.t0 + 10, "copy's 3").header)
        #expect(try await s.ingest(proof: lower, now: now))
        #expect(await s.forkPointsByAuthor()[kp.publicKey] == 3)
        #expect(await s.versionVector().heads[kp.publicKey]?.seq == 2)
        #expect(try await s.memories(MemoryQuery()).map(\.key).sorted() == ["k0", "k1"])
        // The first proof again: nothing new.
        let higher = try #require(r.forks.first)
        #expect(try await !s.ingest(proof: higher, now: now))
        #expect(await s.forkPointsByAuthor()[kp.publicKey] == 3)
        // Entries below the fork point are still accepted from a peer that has them; none at or past it.
        let fresh = try Fixtures.store()
        _ = try await fresh.ingest(proof: lower, now: now)
        let back = try await fresh.ingest(mine, now: now)
        #expect(back.stored.map(\.seq) == [1, 2])
        #expect(back.rejected.filter { $0 == .quarantined }.count == 4)
        #expect(await fresh.digest() == s.digest())
        #expect(try await s.verify().isClean)
        #expect(try await fresh.verify().isClean)
    }

    @Test func aForkPointSurvivesAReopen() async throws {
        let dir = Fixtures.tempDir()
        let kp = Fixtures.keyPair(21)
        let mine = Fixtures.chain(kp, count: 4)
        var s = try LogStore(path: dir + "/node.db", identity: nil)
        _ = try await s.ingest(mine, now: now)
        _ = try await s.ingest([other(kp, seq: 3, prev: mine[1].id, millis: Fixtures.t0 + 10, "copy")], now: now)
        let digest = await s.digest()
        await s.close()
        s = try LogStore(path: dir + "/node.db", identity: nil)
        #expect(await s.forkPointsByAuthor() == [kp.publicKey: 3])
        #expect(await s.digest() == digest)
        #expect(try await s.entries(author: kp.publicKey, afterSeq: 0, limit: 10).map(\.seq) == [1, 2])
        #expect(try await s.verify().isClean)
    }

    @Test func aSuccessorIsAnnouncedBySignaturesOfBothKeysAndReSignsTheForkedWrites() async throws {
        let dir = Fixtures.tempDir()
        let old = Fixtures.keyPair(22), new = Fixtures.keyPair(23)
        var s = try LogStore(path: dir + "/node.db", identity: old)
        var written: [Entry] = []
        for i in 1...5 { written.append(try await s.append(kind: EntryKind.memory, key: "m\(i)", payload: Fixtures.memory("c", "mine \(i)"), now: Fixtures.t0 + UInt64(i))) }
        // A restored backup elsewhere wrote its own seq 5: this node's identity forked at 5.
        _ = try await s.ingest([other(old, seq: 5, prev: written[3].id, millis: Fixtures.t0 + 50, "backup's 5")], now: now)
        #expect(await s.ownIdentityForked)
        await #expect(throws: StoreError.self) { try await s.append(kind: EntryKind.memory, key: "x", payload: Fixtures.memory("c", "x"), now: now) }
        await s.close()

        s = try LogStore(path: dir + "/node.db", identity: new)
        let signed = try await s.succeed(from: old, host: "laptop", now: now)
        #expect(signed.map(\.seq) == [1, 2])
        let succession = try Succession(entry: signed[0])
        #expect(succession.predecessor == old.publicKey && succession.successor == new.publicKey)
        #expect(succession.predecessorSeq == 5 && succession.predecessorHead == written[4].id)
        #expect(s.ownSuccession == succession)
        // m1-m4 stay under the old key (before the fork); m5 comes back under the new one.
        let memories = try await s.memories(MemoryQuery())
        #expect(Set(memories.filter { $0.author == old.publicKey }.map(\.key)) == ["m1", "m2", "m3", "m4"])
        #expect(memories.filter { $0.author == new.publicKey }.map(\.content) == ["mine 5"])
        // Again (a restart): nothing more.
        #expect(try await s.succeed(from: old, host: "laptop", now: now + 1).isEmpty)

        // The fork point moves lower (the branches already differed at 3): m3 and m4 are re-signed.
        let lower = other(old, seq: 3, prev: written[1].id, millis: Fixtures.t0 + 40, "backup's 3")
        _ = try await s.ingest([lower], now: now + 2)
        #expect(await s.forkPointsByAuthor()[old.publicKey] == 3)
        let more = try await s.continuePredecessor(now: now + 3)
        #expect(Set(more.map(\.key)) == ["m3", "m4"])
        let after = try await s.memories(MemoryQuery(limit: 100))
        #expect(Set(after.filter { $0.author == new.publicKey }.map(\.key)) == ["m3", "m4", "m5"])
        #expect(Set(after.filter { $0.author == old.publicKey }.map(\.key)) == ["m1", "m2"])
        #expect(try await s.continuePredecessor(now: now + 4).isEmpty)
        #expect(try await s.verify().isClean)

        // Another node takes the announcement and the re-signed entries as they are.
        let peer = try Fixtures.store()
        _ = try await peer.ingest(try await s.entries(author: new.publicKey, afterSeq: 0, limit: 10), now: now + 5)
        #expect(await peer.head(of: new.publicKey)?.seq == 4)
        #expect(peer.trustPolicy.succession(of: new.publicKey) == succession)
    }

    /// The vector in docs/protocol.md "Forks and successor identities".
    @Test func successorSignatureVector() throws {
        let predecessor = try SigningKeyPair(seed: [UInt8](repeating: 1, count: 32))
        let successor = try SigningKeyPair(seed: [UInt8](repeating: 2, count: 32))
        #expect(successor.publicKey.hex == "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394")
        let head = try #require(Bytes32([UInt8](repeating: 0xab, count: 32)))
        let signed = Succession.signingBytes(successor: successor.publicKey, predecessor: predecessor.publicKey, seq: 7, head: head)
        #expect(Hex.encode(signed) == "676f737369702d6e6f64652f737563636573736f722f7631008139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3948a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000007abababababababababababababababababababababababababababababababab")
        #expect(Hex.encode(predecessor.sign(signed)) == "2f2663eca429d1a3e123584f65b7af99e2e48a82c493c3eefcd4b6489c19edae237ddfaae290e41d054db4736a54284176de2bf0f1e0af6a02c4d6385d4bcd06")
        let e = announcement(successor, of: predecessor, seq: 7, head: head)
        #expect(try Succession(entry: e).signature == predecessor.sign(signed))
    }

    @Test func aForgedOrMisplacedAnnouncementIsRefused() throws {
        let old = Fixtures.keyPair(24), new = Fixtures.keyPair(25), thief = Fixtures.keyPair(26)
        #expect(throws: Never.self) { try EntryVerifier.check(entry: announcement(new, of: old)).get() }
        // Signed by a key that is not the predecessor's, though it names the predecessor.
        let payload = Succession.payload(successor: new.publicKey, predecessor: thief, seq: 0, head: .zero, host: nil)
        let named = Array(String(decoding: payload, as: UTF8.self)
            .replacing(thief.publicKey.hex, with: old.publicKey.hex).utf8)
        let forged = try Entry.sign(keyPair: new, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: Fixtures.t0), kind: EntryKind.successor,
                                    key: "", payload: named)
        guard case .failure(.badSuccession) = EntryVerifier.check(entry: forged) else { Issue.record("forged announcement accepted"); return }
        // Not the first entry of its author.
        guard case .failure(.badSuccession) = EntryVerifier.check(entry: announcement(new, of: old, entrySeq: 2)) else {
            Issue.record("an announcement at seq 2 accepted"); return
        }
        // Succeeding itself.
        guard case .failure(.badSuccession) = EntryVerifier.check(entry: announcement(old, of: old)) else {
            Issue.record("a self-succession accepted"); return
        }
    }

    @Test func trustFollowsTheFirstSuccessorsOfAForkedTrustedAuthorOnly() throws {
        // Fresh keys: `Fixtures.keyPair(n)` repeats every 8 values of n.
        let k = SigningKeyPair.generate()
        let successors = (0..<6).map { _ in SigningKeyPair.generate() }
        var p = TrustPolicy(trusted: [k.publicKey])
        for (i, s) in successors.enumerated() { p.add(try Succession(entry: announcement(s, of: k, millis: Fixtures.t0 + UInt64(i)))) }
        // While the predecessor has not forked, a successor is just a new author.
        #expect(!p.isTrusted(successors[0].publicKey))
        p.forked = [k.publicKey]
        #expect(successors.prefix(TrustPolicy.maxTrustedSuccessors).allSatisfy { p.isTrusted($0.publicKey) })
        #expect(!p.isTrusted(successors[4].publicKey) && !p.isTrusted(successors[5].publicKey))
        #expect(p.trustedAuthors == Set([k.publicKey] + successors.prefix(4).map(\.publicKey)))
        // A successor of a successor, once that one forked too.
        let grandchild = SigningKeyPair.generate()
        p.add(try Succession(entry: announcement(grandchild, of: successors[0], millis: Fixtures.t0 + 100)))
        #expect(!p.isTrusted(grandchild.publicKey))
        p.forked.insert(successors[0].publicKey)
        #expect(p.isTrusted(grandchild.publicKey))
    }

    @Test func blockingAnAuthorBlocksItsSuccessorsUnlessTrustedByName() async throws {
        let k = Fixtures.keyPair(41), honest = Fixtures.keyPair(42), thief = Fixtures.keyPair(43)
        var p = TrustPolicy(trusted: [honest.publicKey], blocked: [k.publicKey])
        p.add(try Succession(entry: announcement(honest, of: k)))
        p.add(try Succession(entry: announcement(thief, of: k, millis: Fixtures.t0 + 2000)))
        #expect(p.isBlocked(thief.publicKey))
        #expect(!p.isBlocked(honest.publicKey))
        // The store refuses to take the thief's announcement at all.
        let s = try Fixtures.store(configuration: .init(trusted: [honest.publicKey], blocked: [k.publicKey], durableCommits: false))
        let r = try await s.ingest([announcement(thief, of: k), announcement(honest, of: k)], now: now)
        #expect(r.stored.map(\.author) == [honest.publicKey])
        #expect(r.rejected == [.blocked])
    }
}
