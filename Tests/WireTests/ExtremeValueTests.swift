import Testing
@testable import Wire

/// Numbers off the wire at their extremes: every one is range-checked at decode, and nothing a
/// peer sends can make arithmetic trap.
@Suite("Extreme values")
struct ExtremeValueTests {
    let key = Packet.packetKey(networkKey: WireFixtures.networkKey)

    @Test func replayFilterTakesAnyTimeWithoutTrapping() {
        var f = ReplayFilter(capacity: 100)
        for sent: UInt64 in [0, 1, .max, .max - 1, .max - WireLimits.datagramFreshnessMillis, UInt64(Int64.max)] {
            for now: UInt64 in [0, 1, .max, 1_767_225_600_000] {
                let v = f.check(nonce: Array("\(sent)-\(now)".utf8), sentAtMillis: sent, now: now)
                let fresh = (sent > now ? sent - now : now - sent) <= WireLimits.datagramFreshnessMillis
                #expect((v == .fresh) == fresh, "sent \(sent) now \(now): \(v)")
            }
        }
    }

    @Test func aDatagramSealedBeyondTheYear9999IsMalformed() throws {
        let sender = WireFixtures.identity(1).publicKey
        let ok = try Packet(sender: sender, sentAtMillis: WireLimits.maxTimestampMillis, messages: [.ping(probe: 1)]).seal(packetKey: key)
        #expect(try Packet.open(ok, packetKey: key).sentAtMillis == WireLimits.maxTimestampMillis)
        for t: UInt64 in [WireLimits.maxTimestampMillis + 1, .max] {
            let sealed = try Packet(sender: sender, sentAtMillis: t, messages: [.ping(probe: 1)]).seal(packetKey: key)
            #expect(throws: Packet.DropReason.malformed) { try Packet.open(sealed, packetKey: key) }
        }
    }

    @Test func incarnationsAtTheTopAreRefused() throws {
        func members(_ incarnation: UInt64) -> [UInt8] {
            Message.members([MemberUpdate(member: WireFixtures.identity(1).publicKey, address: "10.0.0.1:7420",
                                          incarnation: incarnation, state: .suspect)]).frame
        }
        #expect(throws: Never.self) { try Message.decode(frame: members(WireLimits.maxIncarnation)) }
        #expect(throws: WireDecodingError.self) { try Message.decode(frame: members(.max)) }
    }

    @Test func seqsAboveInt64MaxAreRefusedInVectorsAndDigests() throws {
        let a = WireFixtures.identity(1).publicKey
        for (seq, ok) in [(WireLimits.maxSeq, true), (WireLimits.maxSeq + 1, false), (UInt64.max, false)] {
            let vv = Message.versionVector(heads: [VersionVectorHead(author: a, seq: seq, head: a)], quarantined: []).frame
            let part = Message.versionVectorPart(heads: [VersionVectorHead(author: a, seq: seq, head: a)]).frame
            let digest = Message.digest(a, entries: seq).frame
            for frame in [vv, part, digest] {
                if ok { #expect(throws: Never.self) { try Message.decode(frame: frame) } } else {
                    #expect(throws: WireDecodingError.self) { try Message.decode(frame: frame) }
                }
            }
        }
    }

    @Test func anOversizedFrameIsAThrownErrorNotATrap() throws {
        let sealer = FrameSealer(sendKey: [UInt8](repeating: 7, count: 32))
        #expect(throws: FrameError.oversized(WireLimits.maxFrameBytes + 1)) {
            try sealer.seal([UInt8](repeating: 0, count: WireLimits.maxFrameBytes + 1))
        }
        #expect(throws: Never.self) { try sealer.seal([UInt8](repeating: 0, count: WireLimits.maxFrameBytes)) }
    }

    @Test func memberRecordsAreSignedByTheMemberAndNobodyElse() {
        let alice = WireFixtures.identity(1), mallory = WireFixtures.identity(2)
        let record = MemberUpdate(member: alice.publicKey, address: "10.0.0.1:7420", incarnation: 9, state: .alive)
        #expect(record.signed(by: alice).hasValidSignature)
        #expect(!record.signed(by: mallory).hasValidSignature)
        #expect(!record.hasValidSignature)  // unsigned
        var moved = record.signed(by: alice)
        moved.address = "10.6.6.6:7420"      // the signature covers the address...
        #expect(!moved.hasValidSignature)
        var bumped = record.signed(by: alice)
        bumped.incarnation += 1              // ...the incarnation...
        #expect(!bumped.hasValidSignature)
        var left = record.signed(by: alice)
        left.state = .left                   // ...and the state
        #expect(!left.hasValidSignature)
        // The signature travels: decode(encode) keeps it valid.
        let frame = Message.members([record.signed(by: alice)]).frame
        guard case .members(let back)? = try? Message.decode(frame: frame) else { Issue.record("did not decode"); return }
        #expect(back.first?.hasValidSignature == true)
    }

    @Test func retiredUnsignedMemberMessagesAreSkipped() throws {
        var w = ByteWriter()
        w.u8(5); w.varint(1); w.raw(Bytes32.zero); w.string("10.0.0.1:1"); w.varint(1); w.u8(0)
        #expect(try Message.decode(frame: w.bytes) == .unknown(type: 5))
    }
}
