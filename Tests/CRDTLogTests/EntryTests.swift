import Testing
import Wire
@testable import CRDTLog

@Suite("Entries")
struct EntryTests {
    @Test func signedEntryRoundTripsAndVerifies() throws {
        let kp = Fixtures.keyPair(1)
        let e = try Entry.sign(keyPair: kp, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: Fixtures.t0), kind: "memory",
                               key: "k", payload: Array(#"{"a":1}"#.utf8))
        let d = try Entry(encoded: e.encoded)
        #expect(d == e)
        #expect(d.verifySignature())
        #expect(d.author == kp.publicKey)
        #expect(d.id == Blake2b.hash256(e.signedHeader[...]))
        #expect(e.signedHeader.count == Entry.fixedHeaderBytes + 6 + 1 + 64)
    }

    @Test func signatureOfAnotherAuthorFails() throws {
        let e = Fixtures.chain(Fixtures.keyPair(1), count: 1)[0]
        var bytes = e.encoded
        // Replace the author with another public key: structure fine, signature not.
        let other = Fixtures.keyPair(2).publicKey.bytes
        bytes.replaceSubrange(1..<33, with: other)
        let d = try Entry(encoded: bytes)
        #expect(!d.verifySignature())
    }

    @Test func limitsAreEnforced() {
        let kp = Fixtures.keyPair(1)
        #expect(throws: EntryRejection.payloadTooLarge(LogLimits.maxPayloadBytes + 1)) {
            try Entry.sign(keyPair: kp, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: 1), kind: "memory", key: "",
                           payload: [UInt8](repeating: 32, count: LogLimits.maxPayloadBytes + 1))
        }
        #expect(throws: EntryRejection.badKind) {
            try Entry.sign(keyPair: kp, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: 1), kind: "Memory!", key: "", payload: [])
        }
        #expect(throws: EntryRejection.self) {
            try Entry.sign(keyPair: kp, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: 1), kind: "memory",
                           key: String(repeating: "x", count: LogLimits.maxKeyBytes + 1), payload: [])
        }
        #expect(throws: EntryRejection.self) { try Entry(encoded: []) }
        #expect(throws: EntryRejection.self) { try Entry(encoded: [2] + [UInt8](repeating: 0, count: 300)) }
    }

    /// Flipping any single bit of an encoded entry makes it rejected; it never yields a
    /// silently changed entry that still verifies.
    @Test func everyBitFlipIsDetected() throws {
        let e = Fixtures.chain(Fixtures.keyPair(3), count: 2)[1]
        let bytes = e.encoded
        var rng = SeededRandom(seed: 7)
        var positions = Array(0..<bytes.count)
        positions.shuffle(using: &rng)
        for i in positions {
            for bit in [0, 3, 7] {
                var mutated = bytes
                mutated[i] ^= UInt8(1 << bit)
                if let d = try? Entry(encoded: mutated), d.verifySignature() {
                    Issue.record("flipping bit \(bit) of byte \(i) gave a valid entry")
                }
            }
        }
    }

    @Test func hlcIsMonotonicAndFollowsObservations() {
        var clock = HybridLogicalClock()
        let a = clock.next(wallMillis: 1000)
        let b = clock.next(wallMillis: 1000)
        let c = clock.next(wallMillis: 999)
        #expect(a < b && b < c)
        clock.observe(HLCTimestamp(millis: 5000, logical: 3))
        let d = clock.next(wallMillis: 1001)
        #expect(d == HLCTimestamp(millis: 5000, logical: 4))
        #expect(clock.next(wallMillis: 6000) == HLCTimestamp(millis: 6000))
    }

    @Test func rfc3339ParsesAndFormats() {
        #expect(RFC3339.parse("2026-01-01T00:00:00Z") == Int64(Fixtures.t0))
        #expect(RFC3339.parse("2026-01-01T01:00:00.250+01:00") == Int64(Fixtures.t0) + 250)
        #expect(RFC3339.parse("2024-02-29T12:00:00Z") != nil)
        #expect(RFC3339.parse("2023-02-29T12:00:00Z") == nil)
        #expect(RFC3339.parse("2026-01-01 00:00") == nil)
        #expect(RFC3339.parse("yesterday") == nil)
        #expect(RFC3339.format(millis: Int64(Fixtures.t0) + 1234) == "2026-01-01T00:00:01.234Z")
        #expect(RFC3339.format(millis: -1) == "1969-12-31T23:59:59.999Z")
        for ms in stride(from: Int64(-86_400_000 * 800), through: 86_400_000 * 40_000, by: 86_400_000 * 37 + 12_345) {
            #expect(RFC3339.parse(RFC3339.format(millis: ms)) == ms)
        }
    }
}

@Suite("Entry decoding of random bytes")
struct EntryRandomTests {
    /// 200,000 random byte strings (half of them a mutated valid entry): errors, never a trap.
    @Test func randomInputsNeverTrap() {
        var rng = SeededRandom(seed: 5)
        let valid = Fixtures.chain(Fixtures.keyPair(1), count: 1)[0].encoded
        var accepted = 0
        for i in 0..<200_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = Array(valid.prefix(Int(rng.next() % UInt64(valid.count + 1))))
                if !bytes.isEmpty { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                let n = Int(rng.next() % 200)
                bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if n > 0 { bytes[0] = 1 }
            }
            if bytes != valid, let e = try? Entry(encoded: bytes), e.verifySignature() { accepted += 1 }
        }
        #expect(accepted == 0)
    }
}
