import Testing
import Wire
@testable import CRDTLog

/// The rules of ``ChainAuthentication``: one signature per run of an author's chain, links only
/// within one author at consecutive seqs, forgeries never vouched for, fall-back to each entry's
/// own signature below a tip that fails.
@Suite("Chain authentication")
struct ChainAuthenticationTests {
    let alice = Fixtures.keyPair(1)
    let bob = Fixtures.keyPair(2)

    /// `e` with one signature byte flipped: same fields, a signature that does not verify.
    func spoiled(_ e: Entry) -> Entry {
        var header = e.signedHeader
        header[header.count - 1] ^= 0x01
        return try! Entry(signedHeader: header, payload: e.payload)
    }

    func run(_ entries: [Entry]) -> (results: [Result<Entry, EntryRejection>], signatures: Int) {
        var auth = ChainAuthentication(entries.map { .success($0) })
        while !auth.pending.isEmpty { auth.record(auth.pendingEntries.map(EntryVerifier.check(entry:))) }
        return (auth.results, auth.signaturesChecked)
    }

    func accepted(_ r: [Result<Entry, EntryRejection>]) -> [Bool] {
        r.map { if case .success = $0 { true } else { false } }
    }

    @Test func aRunOfOneAuthorNeedsOneSignature() {
        let chain = Fixtures.chain(alice, count: 50)
        let (results, signatures) = run(chain.shuffled())
        #expect(accepted(results).allSatisfy { $0 })
        #expect(signatures == 1)
    }

    @Test func twoAuthorsInterleavedNeedOneSignatureEach() {
        let a = Fixtures.chain(alice, count: 30), b = Fixtures.chain(bob, count: 30)
        let (results, signatures) = run(zip(a, b).flatMap { [$0, $1] })
        #expect(accepted(results).allSatisfy { $0 })
        #expect(signatures == 2)
    }

    @Test func aBatchStartingMidChainIsAuthenticatedFromItsTip() {
        let chain = Fixtures.chain(alice, count: 40)
        let (results, signatures) = run(Array(chain[10...]))
        #expect(accepted(results).allSatisfy { $0 })
        #expect(signatures == 1)
    }

    @Test func anEntryTheAuthorVouchedForIsAcceptedWithItsSuccessorButNotAlone() {
        let head = Fixtures.chain(alice, count: 4)
        let bad = spoiled(Fixtures.chain(alice, count: 1, startSeq: 5, prev: head[3].id)[0])
        let tail = Fixtures.chain(alice, count: 5, startSeq: 6, prev: bad.id)
        let (together, _) = run(head + [bad] + tail)
        #expect(accepted(together).allSatisfy { $0 })
        let (alone, _) = run([bad])
        guard case .failure(.badSignature) = alone[0] else { Issue.record("a spoiled signature alone was accepted"); return }
    }

    @Test func aForgedEntryIsNeverVouchedFor() throws {
        // A member without Alice's key alters her entry 5 (another payload, her signature kept):
        // its id is not what her entry 6 names, so it is a tip of its own and fails.
        let chain = Fixtures.chain(alice, count: 10)
        let payload = Fixtures.memory("note", "entry number 9")
        var w = ByteWriter()
        w.raw(chain[4].unsignedHeader.dropLast(32))
        w.raw(Blake2b.hash256(payload[...]))
        w.raw(chain[4].signature)
        let forged = try Entry(signedHeader: w.bytes, payload: payload)
        #expect(forged.prev == chain[4].prev && forged.seq == 5 && forged.id != chain[4].id)
        var batch = chain
        batch[4] = forged
        let (results, _) = run(batch)
        #expect(accepted(results) == (0..<10).map { $0 != 4 })
        guard case .failure(.badSignature) = results[4] else { Issue.record("forged entry: \(results[4])"); return }
    }

    @Test func aLinkToAnotherAuthorsEntryVouchesForNothing() {
        // Alice signs an entry whose prev names a spoiled entry of Bob's: Bob's bytes stay unauthenticated.
        let bobs = spoiled(Fixtures.chain(bob, count: 1)[0])
        let alices = Fixtures.chain(alice, count: 1, startSeq: 2, prev: bobs.id)[0]
        let (results, _) = run([bobs, alices])
        #expect(accepted(results) == [false, true])
    }

    @Test func aLinkThatSkipsASeqVouchesForNothing() {
        // Alice's entry 7 names her spoiled entry 5 as prev: not the seq below, so not vouched for.
        let head = Fixtures.chain(alice, count: 4)
        let bad = spoiled(Fixtures.chain(alice, count: 1, startSeq: 5, prev: head[3].id)[0])
        let skipping = Fixtures.chain(alice, count: 1, startSeq: 7, prev: bad.id)[0]
        let (results, _) = run([bad, skipping])
        #expect(accepted(results) == [false, true])
    }

    @Test func belowATipThatFailsEveryEntryIsCheckedOnItsOwn() {
        let chain = Fixtures.chain(alice, count: 10)
        let forgedTip = spoiled(Fixtures.chain(alice, count: 1, startSeq: 11, prev: chain[9].id)[0])
        let (results, signatures) = run(chain + [forgedTip])
        #expect(accepted(results) == Array(repeating: true, count: 10) + [false])
        #expect(signatures == 11)
    }

    @Test func aRepeatedEntryGetsTheVerdictOfItsFirstCopy() {
        let chain = Fixtures.chain(alice, count: 5)
        let bad = spoiled(Fixtures.chain(bob, count: 1)[0])
        let (results, signatures) = run(chain + [chain[2], bad, bad])
        #expect(accepted(results) == [true, true, true, true, true, true, false, false])
        #expect(signatures == 2)
    }

    @Test func aVouchedForEntryStillGetsItsKindsChecks() {
        // A checkpoint whose payload claims the format and is malformed, below a valid entry.
        let head = Fixtures.chain(alice, count: 2)
        let checkpoint = Fixtures.chain(alice, count: 1, startSeq: 3, prev: head[1].id, kind: EntryKind.checkpoint,
                                        payload: { _ in [Checkpoint.format, 0xff] }, key: { _ in "" })[0]
        let tail = Fixtures.chain(alice, count: 2, startSeq: 4, prev: checkpoint.id)
        let (results, signatures) = run(head + [checkpoint] + tail)
        #expect(accepted(results) == [true, true, false, true, true])
        guard case .failure(.badCheckpoint) = results[2] else { Issue.record("malformed checkpoint: \(results[2])"); return }
        #expect(signatures == 1)
    }

    @Test func decodingFailuresKeepTheirPlaceAndBreakNoChain() {
        var encoded = Fixtures.chain(alice, count: 20).map(\.encoded)
        encoded[7] = Array(encoded[7].prefix(9))
        let results = EntryVerifier.check(encoded)
        #expect(accepted(results) == (0..<20).map { $0 != 7 })
    }

    @Test func theStoreTakesAVouchedForChainAndRefusesItsSpoiledEntryAlone() async throws {
        let head = Fixtures.chain(alice, count: 2)
        let bad = spoiled(Fixtures.chain(alice, count: 1, startSeq: 3, prev: head[1].id, startMillis: Fixtures.t0 + 2)[0])
        let tail = Fixtures.chain(alice, count: 2, startSeq: 4, prev: bad.id, startMillis: Fixtures.t0 + 3)
        let lone = try Fixtures.store()
        let refused = try await lone.ingest(encoded: (head + [bad]).map(\.encoded), now: Fixtures.t0 + 10_000)
        #expect(refused.stored.count == 2)
        #expect(refused.rejected.contains(.badSignature))
        let store = try Fixtures.store()
        let report = try await store.ingest(encoded: (head + [bad] + tail).map(\.encoded), now: Fixtures.t0 + 10_000)
        #expect(report.stored.count == 5)
        #expect(report.rejected.isEmpty)
    }
}
