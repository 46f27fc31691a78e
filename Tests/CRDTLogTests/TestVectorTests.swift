import Foundation
import Testing
import Wire
@testable import CRDTLog

/// The three entries of docs/protocol.md ("Entry test vectors"): fixed seed, exact bytes.
/// If this fails, either the encoding changed (a protocol change: update the document and say
/// so) or the document is wrong.
@Suite("Entry test vectors")
struct TestVectorTests {
    static func vectors() throws -> [Entry] {
        let kp = try SigningKeyPair(seed: Fixtures.vectorSeed)
        let t = Fixtures.t0
        let p1 = Array(#"{"category":"anti-pattern","content":"Provider X drops requests at 03:00 UTC","host":"laptop"}"#.utf8)
        let e1 = try Entry.sign(keyPair: kp, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: t), kind: "memory", key: "provider-x-0300", payload: p1)
        let p2 = Array(#"{"host":"laptop","model":"k2p5","provider":"kimi-coding","reason":"503s","resets_at":"2026-01-01T14:00:00.000Z","state":"open"}"#.utf8)
        let e2 = try Entry.sign(keyPair: kp, seq: 2, prev: e1.id, hlc: HLCTimestamp(millis: t + 1000), kind: "breaker", key: "kimi-coding/k2p5", payload: p2)
        let e3 = try Entry.sign(keyPair: kp, seq: 3, prev: e2.id, hlc: HLCTimestamp(millis: t + 1000, logical: 1), kind: "memory.retract", key: "provider-x-0300", payload: Array("{}".utf8))
        return [e1, e2, e3]
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    @Test func vectorsMatchTheDocument() throws {
        let v = try Self.vectors()
        if ProcessInfo.processInfo.environment["GOSSIP_PRINT_VECTORS"] != nil {
            print("author", try SigningKeyPair(seed: Fixtures.vectorSeed).publicKey.hex)
            for e in v { print("entry", e.seq, Self.hex(e.encoded), e.id.hex, Self.hex(Array(e.signature))) }
        }
        #expect(try SigningKeyPair(seed: Fixtures.vectorSeed).publicKey.hex == Expected.author)
        for (e, x) in zip(v, Expected.entries) {
            #expect(Self.hex(e.encoded) == x.encoded, "encoded bytes of seq \(e.seq)")
            #expect(e.id.hex == x.id, "id of seq \(e.seq)")
            #expect(Self.hex(Array(e.signature)) == x.signature, "signature of seq \(e.seq)")
        }
        // And the documented bytes decode and verify on their own.
        for x in Expected.entries {
            let bytes = stride(from: 0, to: x.encoded.count, by: 2).map { i -> UInt8 in
                let s = x.encoded.index(x.encoded.startIndex, offsetBy: i)
                return UInt8(x.encoded[s..<x.encoded.index(s, offsetBy: 2)], radix: 16)!
            }
            let e = try Entry(encoded: bytes)
            #expect(e.verifySignature())
            #expect(e.id.hex == x.id)
        }
    }

    /// The checkpoint after the three entries, written at 15:00 (the breaker's reset at 14:00 has
    /// passed, but it is the latest event of its breaker): keeps 2 and 3, not the retracted memory.
    @Test func theCheckpointVectorMatchesTheDocument() async throws {
        let v = try Self.vectors()
        let kp = try SigningKeyPair(seed: Fixtures.vectorSeed)
        let at = Fixtures.t0 + 15 * 3_600_000
        let candidates = v.map { RetentionRules.Candidate(seq: $0.seq, id: $0.id, kind: $0.kind, key: $0.key, hlcMillis: $0.hlc.millis, payload: $0.payload) }
        let live = RetentionRules().live(candidates, nowMillis: at)
        #expect(live.map(\.seq) == [2, 3])
        let cp = try #require(RetentionRules.checkpoint(seq: 4, live: live))
        #expect(Self.hex(cp.payload) == Expected.checkpointPayload)
        let e = try Entry.sign(keyPair: kp, seq: 4, prev: v[2].id, hlc: HLCTimestamp(millis: at), kind: EntryKind.checkpoint, key: "", payload: cp.payload)
        #expect(Self.hex(e.encoded) == Expected.checkpointEncoded)
        #expect(e.id.hex == Expected.checkpointID)
        // A store holding the three applies it, and compaction deletes entry 1 only.
        let s = try Fixtures.store()
        _ = try await s.ingest(v, now: at)
        #expect(try await s.ingest([e], now: at).stored.map(\.id) == [e.id])
        #expect(try await s.compactAll() == 1)
        #expect(try await s.verify().isClean)
        // A store that receives all four at once never stores entry 1.
        let fresh = try Fixtures.store()
        #expect(try await fresh.ingest(v + [e], now: at).stored.map(\.seq) == [2, 3, 4])
        #expect(await fresh.digest() == s.digest())
    }
}
