import CRDTLog
import Testing
import Wire
@testable import GossipCore

/// The sync-session machine, rule by rule: two machines exchanging frames in memory, each with
/// a store of real signed entries (no sockets, no time).
@Suite("Sync session")
struct SyncSessionTests {
    /// An in-memory store and one side's machine.
    struct Side {
        var entries: [Bytes32: [Entry]] = [:]
        var quarantined: Set<Bytes32> = []
        var machine: SyncSession
        var registry = SessionRegistry()
        var inboxCount = 0
        var sent: [Message] = []
        var received = 0

        init(peer: Bytes32, entries: [Entry] = [], id: UInt64 = 1) {
            for e in entries { self.entries[e.author, default: []].append(e) }
            machine = SyncSession(id: id, peer: peer, greeting: [.hello(versions: WireLimits.protocolVersions, agent: "test", address: "10.0.0.9:7420")],
                                  frameBytes: 4_096, readLimit: 8)
            _ = registry.open(peer: peer, now: 0)
        }

        var vector: VersionVector {
            var heads: [Bytes32: AuthorHead] = [:]
            for (a, es) in entries { if let last = es.last { heads[a] = AuthorHead(seq: last.seq, head: last.id, hlc: last.hlc) } }
            return VersionVector(heads: heads, quarantined: quarantined)
        }

        /// Runs the sending half until it waits; returns false once finished.
        mutating func pump(promised: [VersionVectorHead] = []) -> Bool {
            while true {
                switch machine.next() {
                case .frame(let m): sent.append(m)
                case .announceVector: machine.vectorAnnounced(SyncPlan.messages(vector, promised: promised))
                case .plan(let theirs, let q): machine.planned(SyncPlan.toSend(mine: vector, theirs: theirs, theirQuarantined: q), registry: &registry)
                case .read(let a, let after, let limit, _):
                    machine.entriesRead((entries[a] ?? []).filter { $0.seq > after }.prefix(limit).map { (seq: $0.seq, encoded: $0.encoded) })
                case .readForkProofs: machine.forkProofsRead([])
                case .finalFrame: return false  // the final frame is the transport's; nothing more to deliver
                case .wait: return true
                case .finished: return false
                }
            }
        }

        /// Takes the peer's messages.
        mutating func take(_ messages: [Message]) throws {
            for m in messages {
                for effect in try machine.receive(m, registry: &registry) {
                    switch effect {
                    case .ingest(let batch):
                        var n = 0
                        for bytes in batch {
                            let e = try Entry(encoded: bytes)
                            let head = entries[e.author]?.last?.seq ?? 0
                            if e.seq == head + 1 { entries[e.author, default: []].append(e); n += 1 }
                        }
                        received += n
                        machine.stored(n, now: 0, registry: &registry)
                    case .commitAll: machine.committedAll()
                    default: break
                    }
                }
            }
        }
    }

    /// Runs both sides to the end; the frames each sent.
    @discardableResult
    static func run(_ a: inout Side, _ b: inout Side, promisedToA: [VersionVectorHead] = []) throws -> (a: [Message], b: [Message]) {
        var aRunning = true, bRunning = true
        var rounds = 0
        while aRunning || bRunning {
            rounds += 1
            #expect(rounds < 10_000, "the session does not end")
            if rounds >= 10_000 { break }
            if aRunning { aRunning = a.pump(promised: promisedToA) }
            if bRunning { bRunning = b.pump() }
            let toB = a.sent, toA = b.sent
            try b.take(Array(toB[b.inboxCount...]))
            b.inboxCount = toB.count
            try a.take(Array(toA[a.inboxCount...]))
            a.inboxCount = toA.count
        }
        return (a.sent, b.sent)
    }

    static func chain(_ k: SigningKeyPair, count: Int, payload: Int = 100) -> [Entry] {
        var out: [Entry] = []
        var prev = EntryID.zero
        for i in 0..<count {
            let e = try! Entry.sign(keyPair: k, seq: UInt64(i + 1), prev: prev, hlc: HLCTimestamp(millis: 1_767_225_600_000 + UInt64(i)),
                                    kind: "memory", key: "k\(i)", payload: [UInt8](repeating: UInt8(ascii: "x"), count: payload))
            out.append(e)
            prev = e.id
        }
        return out
    }

    let alice = SigningKeyPair.generate(), bob = SigningKeyPair.generate(), carol = SigningKeyPair.generate()

    @Test func eachSideGetsWhatItLacksAndBothEnd() throws {
        var a = Side(peer: bob.publicKey, entries: Self.chain(alice, count: 30))
        var b = Side(peer: alice.publicKey, entries: Self.chain(carol, count: 7))
        try Self.run(&a, &b)
        #expect(a.vector.digest == b.vector.digest)
        #expect(a.received == 7 && b.received == 30)
        #expect(a.machine.isFinished && b.machine.isFinished)
    }

    @Test func entriesTravelInFramesWithinTheByteBudgetAndSeveralAuthorsShareAFrame() throws {
        let many = (0..<20).flatMap { _ in Self.chain(SigningKeyPair.generate(), count: 1) }
        var a = Side(peer: bob.publicKey, entries: Self.chain(alice, count: 60) + many)
        var b = Side(peer: alice.publicKey)
        let (sentByA, _) = try Self.run(&a, &b)
        let frames = sentByA.compactMap { if case .entries(let es) = $0 { es } else { nil } }
        #expect(frames.allSatisfy { $0.reduce(0) { $0 + $1.count + 8 } <= 4_096 })
        #expect(frames.contains { batch in Set(batch.map { Array($0[1..<33]) }).count > 1 })
        #expect(b.received == 80)
        // Greeting first, then the vector, entries, syncDone.
        guard case .hello? = sentByA.first else { Issue.record("no hello first"); return }
        #expect(sentByA.firstIndex { if case .versionVector = $0 { true } else { false } }! < sentByA.firstIndex { if case .entries = $0 { true } else { false } }!)
    }

    @Test func aForkAtTheHeadSendsOurEntryAtThatSeq() throws {
        let base = Self.chain(alice, count: 3)
        let other = try Entry.sign(keyPair: alice, seq: 3, prev: base[1].id, hlc: HLCTimestamp(millis: 1_767_225_700_000), kind: "memory", key: "other", payload: [])
        var a = Side(peer: bob.publicKey, entries: base)
        var b = Side(peer: alice.publicKey, entries: Array(base.prefix(2)) + [other])
        let (sentByA, sentByB) = try Self.run(&a, &b)
        func seqs(_ ms: [Message]) -> [UInt64] { ms.flatMap { m -> [UInt64] in if case .entries(let es) = m { es.compactMap { try? Entry(encoded: $0).seq } } else { [] } } }
        #expect(seqs(sentByA) == [3] && seqs(sentByB) == [3])
    }

    @Test func promisedHeadsAreAnnouncedAsHeld() throws {
        // Another session's peer announced alice at seq 50: this side announces it too, and its peer sends none of alice's.
        let chain = Self.chain(alice, count: 50)
        var a = Side(peer: bob.publicKey)
        var b = Side(peer: alice.publicKey, entries: chain)
        let promised = [VersionVectorHead(author: alice.publicKey, seq: 50, head: chain.last!.id)]
        try Self.run(&a, &b, promisedToA: promised)
        #expect(a.received == 0)
    }

    @Test func anAuthorStreamingToThePeerInAnotherSessionIsNotSentTwice() throws {
        var a = Side(peer: bob.publicKey, entries: Self.chain(alice, count: 10) + Self.chain(carol, count: 5))
        // A second session to the same peer already claimed alice.
        guard case .success(let other) = a.registry.open(peer: bob.publicKey, now: 0) else { Issue.record("not admitted"); return }
        let claimed = a.registry.claim(author: alice.publicKey, for: other)
        #expect(claimed)
        var b = Side(peer: alice.publicKey)
        try Self.run(&a, &b)
        #expect(b.received == 5)
        #expect(b.entries[alice.publicKey] == nil)
    }

    @Test func vectorsOverTheLimitFailTheSession() throws {
        var s = SyncSession(id: 1, peer: bob.publicKey, greeting: [], maxVectorAuthors: 10)
        var r = SessionRegistry()
        let heads = (0..<8).map { VersionVectorHead(author: Bytes32(w0: UInt64($0), w1: 0, w2: 0, w3: 0), seq: 1, head: .zero) }
        _ = try s.receive(.versionVectorPart(heads: heads), registry: &r)
        #expect(throws: SyncSession.Failure.vectorTooLarge) { try s.receive(.versionVector(heads: heads, quarantined: []), registry: &r) }
        #expect(throws: SyncSession.Failure.noCommonVersion) { try s.receive(.hello(versions: 9...9, agent: "", address: ""), registry: &r) }
    }

    @Test func theFinalFrameWaitsForThePeersDoneAndTheCommits() throws {
        var s = SyncSession(id: 1, peer: bob.publicKey, greeting: [])
        var r = SessionRegistry()
        #expect(s.next() == .announceVector)
        s.vectorAnnounced([.versionVector(heads: [], quarantined: [])])
        #expect(s.next() == .frame(.versionVector(heads: [], quarantined: [])))
        #expect(s.next() == .wait)
        _ = try s.receive(.versionVector(heads: [], quarantined: []), registry: &r)
        guard case .plan = s.next() else { Issue.record("no plan"); return }
        s.planned([], registry: &r)
        #expect(s.next() == .readForkProofs(theirQuarantined: []))
        s.forkProofsRead([])
        #expect(s.next() == .frame(.syncDone))
        #expect(s.next() == .wait)
        #expect(try s.receive(.syncDone, registry: &r) == [.commitAll])
        #expect(s.next() == .wait)  // not committed yet
        s.committedAll()
        #expect(s.next() == .finalFrame)
        #expect(s.next() == .finished)
        #expect(throws: Never.self) { try s.peerFinished() }
    }

    @Test func aPeerThatEndsBeforeItsDoneFailsTheSession() {
        let s = SyncSession(id: 1, peer: bob.publicKey, greeting: [])
        #expect(throws: SyncSession.Failure.closedEarly) { try s.peerFinished() }
    }
}

/// The registry's rules: admission, catch-ups, promises, watchdogs.
@Suite("Session registry")
struct SessionRegistryTests {
    let p = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0), q = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)

    @Test func aCatchUpHoldsOthersOffOnlyWhileItProgresses() {
        var r = SessionRegistry()
        guard case .success(let a) = r.open(peer: p, now: 0) else { Issue.record("refused"); return }
        r.stored(1_500, total: 1_500, for: a, now: 1_000)
        #expect(r.admits(now: 2_000) == .busy)
        #expect(r.admits(now: 1_000 + r.limits.catchUpProgressMillis) == nil)  // stalled: nobody held off
        // Empty or forged entries are not progress: a session that stored nothing is no catch-up.
        var r2 = SessionRegistry()
        guard case .success(let b) = r2.open(peer: p, now: 0) else { return }
        r2.stored(0, total: 0, for: b, now: 10)
        #expect(r2.admits(now: 10) == nil)
    }

    @Test func sessionsAreCounted() {
        var limits = SessionRegistryLimits()
        limits.maxSessions = 2
        var r = SessionRegistry(limits: limits)
        _ = r.open(peer: p, now: 0)
        _ = r.open(peer: q, now: 0)
        #expect(r.open(peer: q, now: 0) == .failure(.sessionLimit))
    }

    @Test func aBrokenPromiseIsNotHonouredAgain() {
        var r = SessionRegistry()
        guard case .success(let a) = r.open(peer: p, now: 0) else { return }
        let head = VersionVectorHead(author: q, seq: 100, head: .zero)
        r.received(vector: [head], for: a)
        let promisedNow = r.promises(to: 0, now: 0)
        #expect(promisedNow == [head])
        let broken = r.checkPromises(of: a, have: [q: 40], now: 10)
        #expect(broken)
        r.close(a)
        guard case .success(let b) = r.open(peer: p, now: 20) else { return }
        r.received(vector: [head], for: b)
        let within = r.promises(to: 0, now: 20), after = r.promises(to: 0, now: 20 + r.limits.brokenPromiseMillis)
        #expect(within.isEmpty)  // the same peer, within the hour
        #expect(after == [head])
    }

    /// Opens a session with `p` and one with `q`.
    func twoSessions(_ r: inout SessionRegistry) -> (UInt64, UInt64)? {
        guard case .success(let a) = r.open(peer: p, now: 0), case .success(let b) = r.open(peer: q, now: 0) else {
            Issue.record("refused"); return nil
        }
        return (a, b)
    }

    /// Each side sends its vector when ready, so a session can hold its peer's vector before it
    /// announces its own (a joiner's two sessions, found by scripts/bench: both peers were told
    /// the joiner held everything, sent nothing, and the catch-up waited 2 s for the next sync).
    @Test func aSessionIsNeverPromisedItsOwnPeersHeads() {
        var r = SessionRegistry()
        guard let (a, b) = twoSessions(&r) else { return }
        let fromP = VersionVectorHead(author: p, seq: 100_000, head: .zero), fromQ = VersionVectorHead(author: q, seq: 7, head: .zero)
        r.announced(a)
        r.received(vector: [fromP], for: a)  // before a's own announcement went out
        let toA = r.promises(to: a, now: 0), toB = r.promises(to: b, now: 0)
        #expect(toA.isEmpty)
        #expect(toB == [fromP])
        r.received(vector: [fromQ], for: b)
        let toA2 = r.promises(to: a, now: 0), toB2 = r.promises(to: b, now: 0)
        #expect(toA2 == [fromQ])
        #expect(toB2 == [fromP])
    }

    /// A session that announced another session's promise as held owes its peer nothing up to
    /// it: that peer sent nothing for it and broke no promise. The peer that promised and did not
    /// deliver did.
    @Test func aPeerIsNotBlamedForWhatThisNodeAnnouncedOnAPromise() {
        var r = SessionRegistry()
        guard let (a, b) = twoSessions(&r) else { return }
        let author = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)
        r.received(vector: [VersionVectorHead(author: author, seq: 100, head: .zero)], for: a)
        let reliedOn = r.promises(to: b, now: 0)
        #expect(reliedOn.map(\.seq) == [100])  // b announces seq 100 as held
        r.received(vector: [VersionVectorHead(author: author, seq: 120, head: .zero)], for: b)
        // b's peer sent nothing up to 100; it owes 101...120, which arrived.
        let delivered = r.checkPromises(of: b, have: [author: 120], now: 5)
        #expect(!delivered)
        // Had they not arrived, b's peer broke its promise.
        let short = r.checkPromises(of: b, have: [author: 100], now: 5)
        #expect(short)
        // a's peer delivered nothing of what it announced: broken.
        let nothing = r.checkPromises(of: a, have: [author: 0], now: 5)
        #expect(nothing)
    }

    /// An author left out of the announcement (the node's own) is not relied on: the peer owes it.
    @Test func anAuthorLeftOutOfTheAnnouncementIsStillOwed() {
        var r = SessionRegistry()
        guard let (a, b) = twoSessions(&r) else { return }
        let own = Bytes32(w0: 9, w1: 0, w2: 0, w3: 0)
        r.received(vector: [VersionVectorHead(author: own, seq: 50, head: .zero)], for: a)
        let announced = r.promises(to: b, now: 0, except: own)
        #expect(announced.isEmpty)
        r.received(vector: [VersionVectorHead(author: own, seq: 50, head: .zero)], for: b)
        let broken = r.checkPromises(of: b, have: [own: 10], now: 5)
        #expect(broken)
    }

    @Test func theWatchdogNamesTheEarlierOfLifetimeAndStall() {
        var r = SessionRegistry()
        guard case .success(let a) = r.open(peer: p, now: 0) else { return }
        #expect(r.watchdog(of: a)?.reason == .stalled)
        #expect(r.watchdog(of: a)?.due == r.limits.stallMillis)
        r.frame(of: a, now: r.limits.maxLifetimeMillis)
        #expect(r.watchdog(of: a)?.reason == .lifetime)
    }
}
