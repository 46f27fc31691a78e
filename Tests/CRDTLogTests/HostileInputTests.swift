import Testing
import Wire
@testable import CRDTLog

/// What a member holding the network key might send the log: extreme numbers, out-of-order
/// floods, query text built to reach FTS5's syntax.
@Suite("Hostile input to the log")
struct HostileInputTests {
    /// A signed header's bytes with its seq field (bytes 33..<41) replaced.
    static func withSeq(_ header: [UInt8], _ seq: UInt64) -> [UInt8] {
        var h = header
        for i in 0..<8 { h[33 + i] = UInt8(truncatingIfNeeded: seq >> (56 - 8 * UInt64(i))) }
        return h
    }

    @Test func seqsAboveInt64MaxAreRefusedAtDecodeEverywhere() throws {
        let e = Fixtures.chain(Fixtures.keyPair(1), count: 2)[1]
        for seq in [LogLimits.maxSeq + 1, UInt64.max] {
            let header = Self.withSeq(e.signedHeader, seq)
            #expect(throws: EntryRejection.self) { try Entry(signedHeader: header, payload: e.payload) }
            #expect(throws: EntryRejection.self) { try Entry.header(header) }
            // A fork proof of two such headers (the crash: `x.seq + 1` before any check).
            #expect(throws: EntryRejection.self) { try ForkProof(first: header, second: Self.withSeq(e.signedHeader, seq - 1)) }
            #expect(throws: EntryRejection.self) { try ForkProof(first: header, second: header) }
        }
        // At the top of the range a header still decodes (its signature no longer matches).
        #expect(try Entry.header(Self.withSeq(e.signedHeader, LogLimits.maxSeq)).seq == LogLimits.maxSeq)
        #expect(throws: EntryRejection.self) {
            try Entry.sign(keyPair: Fixtures.keyPair(1), seq: LogLimits.maxSeq + 1, prev: e.id, hlc: HLCTimestamp(millis: Fixtures.t0),
                           kind: "memory", key: "k", payload: [])
        }
    }

    @Test func forkProofsAtTheTopOfTheSeqRangeDoNotTrap() throws {
        let k = Fixtures.keyPair(3)
        let prev = Bytes32(w0: 1, w1: 2, w2: 3, w3: 4)
        let a = try Entry.sign(keyPair: k, seq: LogLimits.maxSeq, prev: prev, hlc: HLCTimestamp(millis: Fixtures.t0), kind: "memory", key: "a", payload: [])
        let b = try Entry.sign(keyPair: k, seq: LogLimits.maxSeq, prev: prev, hlc: HLCTimestamp(millis: Fixtures.t0), kind: "memory", key: "b", payload: [])
        let c = try Entry.sign(keyPair: k, seq: LogLimits.maxSeq - 1, prev: prev, hlc: HLCTimestamp(millis: Fixtures.t0), kind: "memory", key: "c", payload: [])
        #expect(try ForkProof(first: a.signedHeader, second: b.signedHeader).author == k.publicKey)  // same seq, two ids
        #expect(try ForkProof(first: c.signedHeader, second: a.signedHeader).author == k.publicKey)  // broken link at the top
    }

    @Test func oneAuthorCannotFillTheHoldBuffer() async throws {
        let s = try Fixtures.store()
        let k = Fixtures.keyPair(4)
        let chain = Fixtures.chain(k, count: LogLimits.maxHeldEntriesPerAuthor + 10)
        _ = try await s.ingest(Array(chain.prefix(1)), now: Fixtures.t0)
        // Everything after a gap at seq 2: held up to the author's share, the rest refused for now.
        let r = try await s.ingest(Array(chain.dropFirst(2)), now: Fixtures.t0)
        #expect(r.held == LogLimits.maxHeldEntriesPerAuthor)
        #expect(r.rejected.count == chain.count - 2 - LogLimits.maxHeldEntriesPerAuthor)
        #expect(r.rejected.allSatisfy { $0 == .holdBufferFull && $0.isTransient })
        // Another author still has room.
        let other = Fixtures.chain(Fixtures.keyPair(5), count: 3)
        _ = try await s.ingest([other[0]], now: Fixtures.t0)
        #expect(try await s.ingest([other[2]], now: Fixtures.t0).held == 1)
        // The gap fills: the held entries are released.
        let filled = try await s.ingest([chain[1]], now: Fixtures.t0)
        #expect(filled.stored.count == 1 + LogLimits.maxHeldEntriesPerAuthor)
        #expect(await s.heldEntries().count == 1)
    }

    @Test func authorsWithNothingStoredShareASmallHoldAllowance() async throws {
        let s = try Fixtures.store()
        // 2 entries each (seq 2 and 3, no seq 1) from many throwaway authors.
        var held = 0, refused = 0
        for n in 0..<(LogLimits.maxHeldEntriesOfNewAuthors / 2 + 8) {
            let k = try SigningKeyPair(seed: Bytes32(w0: UInt64(n), w1: 77, w2: 0, w3: 0).bytes)
            let r = try await s.ingest(Array(Fixtures.chain(k, count: 3).dropFirst()), now: Fixtures.t0)
            held += r.held
            refused += r.rejected.filter { $0 == .holdBufferFull }.count
        }
        #expect(held == LogLimits.maxHeldEntriesOfNewAuthors)
        #expect(refused == 16)
    }

    @Test func queryWordsNeverCarryFTS5Syntax() {
        for text in ["\"", "a\"b", "x\u{301}\"", "title:secret", "a*", "NEAR(a b)", "\u{5d0}\"\u{5d1}", "é\"OR\"x", "a\u{200d}\"b"] {
            for w in LogStore.words(text) {
                #expect(!w.unicodeScalars.contains { "\"*:()^+-".unicodeScalars.contains($0) }, "\(text) gave \(w)")
            }
        }
        #expect(LogStore.words("Provider X drops") == ["provider", "x", "drops"])
        #expect(LogStore.quoted("a\"b") == "\"a\"\"b\"")
    }

    @Test func recallWithQuotesOrAFarFutureSinceAnswers() async throws {
        let s = try Fixtures.store()
        _ = try await s.ingest(Fixtures.chain(Fixtures.keyPair(6), count: 3), now: Fixtures.t0)
        for text in ["\"", "x\u{301}\"content:\"", "entry\"* OR", "\u{5d0}\""] {
            _ = try await s.memories(MemoryQuery(text: text, limit: 10))
        }
        #expect(try await s.memories(MemoryQuery(sinceMillis: Int64.max, limit: 10)).isEmpty)
        #expect(try await s.memories(MemoryQuery(sinceMillis: 253_402_300_799_999, limit: 10)).isEmpty)
        #expect(try await s.memories(MemoryQuery(sinceMillis: 0, limit: 10)).count == 3)
    }
}
