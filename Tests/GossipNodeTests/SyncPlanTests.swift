import CRDTLog
import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// What a sync sends, from the two version vectors.
@Suite("SyncPlan")
struct SyncPlanTests {
    let a = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let b = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)
    let h1 = Bytes32(w0: 11, w1: 0, w2: 0, w3: 0)
    let h2 = Bytes32(w0: 12, w1: 0, w2: 0, w3: 0)

    func vv(_ heads: [(Bytes32, UInt64, Bytes32)]) -> VersionVector {
        VersionVector(heads: Dictionary(uniqueKeysWithValues: heads.map { ($0.0, AuthorHead(seq: $0.1, head: $0.2, hlc: HLCTimestamp(rawValue: 0))) }))
    }

    @Test func sendsWhatThePeerLacksFromItsSeq() {
        let plan = SyncPlan.toSend(mine: vv([(a, 10, h1), (b, 3, h2)]), theirs: [VersionVectorHead(author: a, seq: 4, head: h2)], theirQuarantined: [])
        #expect(plan.map(\.author) == [a, b])
        #expect(plan.map(\.after) == [4, 0])
    }

    @Test func sendsNothingWhenEqual() {
        let plan = SyncPlan.toSend(mine: vv([(a, 10, h1)]), theirs: [VersionVectorHead(author: a, seq: 10, head: h1)], theirQuarantined: [])
        #expect(plan.isEmpty)
    }

    @Test func sameSeqUnderDifferentHeadsSendsOurEntryAtThatSeq() {
        // One identity wrote seq 10 from two places: each side must show the other its branch.
        let plan = SyncPlan.toSend(mine: vv([(a, 10, h1)]), theirs: [VersionVectorHead(author: a, seq: 10, head: h2)], theirQuarantined: [])
        #expect(plan.count == 1)
        #expect(plan.first?.after == 9)
    }

    @Test func streamsAQuarantinedAuthorsHistoryBelowTheForkPoint() {
        // The peer quarantined a and announces it at 3 (its fork point is past 3): it may lack
        // part of a's history before the fork. What it refuses (past its own fork point) it counts.
        let plan = SyncPlan.toSend(mine: vv([(a, 10, h1)]), theirs: [VersionVectorHead(author: a, seq: 3, head: h2)], theirQuarantined: [a])
        #expect(plan.map(\.author) == [a])
        #expect(plan.first?.after == 3)
    }

    @Test func sendsAProofWhenThePeerServesPastThisNodesForkPoint() {
        // a: quarantined here at 5, not there. b: quarantined both sides; the peer serves b up to
        // seq 7, at and past this node's fork point 6: it needs the lower proof. c: the peer
        // serves c up to 2, below this node's fork point 4: nothing to tell it.
        let c = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)
        let theirs: [Bytes32: UInt64] = [b: 7, c: 2]
        let wanted = SyncPlan.proofsToSend(mine: [a: 5, b: 6, c: 4], theirQuarantined: [b, c]) { theirs[$0] }
        #expect(wanted == [a, b])
    }

    @Test func announcesHeadsAnotherSessionIsReceiving() {
        // Stored: a at 4, b at 3. Another session's peer announced a at 10 and b at 2.
        let c = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)
        let promised = [VersionVectorHead(author: a, seq: 10, head: h2), VersionVectorHead(author: b, seq: 2, head: h1),
                        VersionVectorHead(author: c, seq: 7, head: h1)]
        guard case .versionVector(let heads, _) = SyncPlan.messages(vv([(a, 4, h1), (b, 3, h2)]), promised: promised).last else {
            Issue.record("not a version vector"); return
        }
        #expect(heads == [VersionVectorHead(author: a, seq: 10, head: h2), VersionVectorHead(author: b, seq: 3, head: h2),
                          VersionVectorHead(author: c, seq: 7, head: h1)])
        // A peer holding exactly what is promised then sends nothing.
        #expect(SyncPlan.toSend(mine: vv([(a, 10, h2), (c, 7, h1)]), theirs: heads, theirQuarantined: []).isEmpty)
    }

    @Test func promisesNeverOverrideAQuarantineOrAnEqualSeq() {
        var mine = vv([(a, 5, h1)])
        mine.quarantined = [b]
        let promised = [VersionVectorHead(author: a, seq: 5, head: h2), VersionVectorHead(author: b, seq: 9, head: h1)]
        guard case .versionVector(let heads, let quarantined) = SyncPlan.messages(mine, promised: promised).last else {
            Issue.record("not a version vector"); return
        }
        #expect(heads == [VersionVectorHead(author: a, seq: 5, head: h1)])
        #expect(quarantined == [b])
    }

    @Test func aHugeVectorTravelsInPartsBelowTheFrameLimit() throws {
        var heads: [Bytes32: AuthorHead] = [:]
        for i in 0..<100_000 { heads[Bytes32(w0: UInt64(i), w1: 1, w2: 2, w3: 3)] = AuthorHead(seq: UInt64.random(in: 1...1 << 40), head: Bytes32(w0: 9, w1: UInt64(i), w2: 0, w3: 0), hlc: HLCTimestamp(rawValue: 1)) }
        let vv = VersionVector(heads: heads, quarantined: [Bytes32(w0: 7, w1: 7, w2: 7, w3: 7)])
        let messages = SyncPlan.messages(vv)
        #expect(messages.count == (100_000 + WireLimits.versionVectorPartHeads - 1) / WireLimits.versionVectorPartHeads)
        var got: [VersionVectorHead] = []
        for (i, m) in messages.enumerated() {
            #expect(m.frame.count <= WireLimits.maxFrameBytes)
            switch try Message.decode(frame: m.frame) {
            case .versionVectorPart(let h): #expect(i < messages.count - 1); got += h
            case .versionVector(let h, let q): #expect(i == messages.count - 1); got += h; #expect(q.count == 1)
            default: Issue.record("unexpected message")
            }
        }
        #expect(got.count == 100_000)
        #expect(Set(got.map(\.author)) == Set(heads.keys))
    }
}
