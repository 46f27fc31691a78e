import Testing
@testable import Wire

@Suite("Messages")
struct MessageTests {
    @Test func randomMessagesRoundTripAsFramesAndInPackets() throws {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<5000 {
            let m = WireFixtures.randomMessage(&rng)
            #expect(try Message.decode(frame: m.frame) == m)
        }
        for _ in 0..<500 {
            let ms = (0..<Int.random(in: 0...4, using: &rng)).map { _ in WireFixtures.randomMessage(&rng) }
            let p = Packet(sender: rng.bytes32(), sentAtMillis: rng.next() >> 20, messages: ms)
            guard p.plaintext.count <= WireLimits.maxDatagramBytes else { continue }  // cannot be sent
            #expect(try Packet.decode(plaintext: p.plaintext) == p)
        }
    }

    @Test func unknownMessageTypesAreSkippedNotFatal() throws {
        var w = ByteWriter()
        w.raw(Bytes32.zero); w.u64(5)
        w.u8(200); w.lengthPrefixed([1, 2, 3, 4])          // from a newer version
        w.u8(1); w.lengthPrefixed(Message.ping(probe: 9).frame.dropFirst())
        let p = try Packet.decode(plaintext: w.bytes)
        #expect(p.messages == [.unknown(type: 200), .ping(probe: 9)])
        #expect(try Message.decode(frame: [99, 1, 2, 3]) == .unknown(type: 99))
    }

    @Test func limitsAreEnforced() {
        var w = ByteWriter()
        w.u8(8); w.varint(UInt64(WireLimits.maxMemberUpdates + 1))
        #expect(throws: WireDecodingError.self) { try Message.decode(frame: w.bytes) }
        var e = ByteWriter()
        e.u8(18); e.varint(1); e.varint(UInt64(WireLimits.maxEntryBytes + 1))
        #expect(throws: WireDecodingError.self) { try Message.decode(frame: e.bytes) }
        #expect(throws: WireDecodingError.self) { try Message.decode(frame: Message.ping(probe: 1).frame + [0]) }  // trailing
        #expect(throws: WireDecodingError.self) { try Message.decode(frame: [16, 0, 5, 0, 1]) }  // versions 5...1
    }

    /// A million random byte strings through every decoder: errors, never a trap.
    @Test func millionRandomInputsNeverTrap() {
        var rng = SeededRandom(seed: 99)
        var decoded = 0
        let key = Packet.packetKey(networkKey: WireFixtures.networkKey)
        for i in 0..<1_000_000 {
            let n = Int(rng.next() % 96)
            var bytes = rng.bytes(n)
            if i % 3 == 0, !bytes.isEmpty { bytes[0] = UInt8(truncatingIfNeeded: i % 21) }  // valid type tags often
            if (try? Message.decode(frame: bytes)) != nil { decoded += 1 }
            if i % 4 == 0, (try? Packet.decode(plaintext: bytes)) != nil { decoded += 1 }
            if i % 64 == 0 { _ = try? Packet.open(bytes, packetKey: key) }
        }
        #expect(decoded > 0)
    }
}

@Suite("Sealed packets")
struct PacketTests {
    let key = Packet.packetKey(networkKey: WireFixtures.networkKey)
    let packet = Packet(sender: WireFixtures.identity(1).publicKey, sentAtMillis: 1_767_225_600_000,
                        messages: [.ping(probe: 7), .digest(Bytes32.zero, entries: 3)])

    @Test func sealsAndOpens() throws {
        let d = try packet.seal(packetKey: key)
        #expect(d.count <= WireLimits.maxDatagramBytes)
        #expect(try Packet.open(d, packetKey: key) == packet)
    }

    @Test func wrongKeyOrAnyFlippedBitIsUnauthenticated() throws {
        let d = try packet.seal(packetKey: key)
        let other = Packet.packetKey(networkKey: [UInt8](repeating: 1, count: 32))
        #expect(throws: Packet.DropReason.unauthenticated) { try Packet.open(d, packetKey: other) }
        for i in 1..<d.count {
            var t = d
            t[i] ^= 0x10
            #expect(throws: Packet.DropReason.unauthenticated) { try Packet.open(t, packetKey: key) }
        }
        var v = d; v[0] = 9
        #expect(throws: Packet.DropReason.badVersion) { try Packet.open(v, packetKey: key) }
        #expect(throws: Packet.DropReason.tooLarge) { try Packet.open([UInt8](repeating: 1, count: 1401), packetKey: key) }
    }

    @Test func oversizedPacketsAreRefusedWhenSealing() {
        let big = Packet(sender: .zero, sentAtMillis: 0, messages: [.push([[UInt8](repeating: 0, count: 1400)])])
        #expect(throws: WireDecodingError.self) { try big.seal(packetKey: key) }
    }

    @Test func replayFilterDropsRepeatsAndStalePackets() {
        var f = ReplayFilter(capacity: 1000)
        let now: UInt64 = 10_000_000
        #expect(f.check(nonce: [1], sentAtMillis: now, now: now) == .fresh)
        #expect(f.check(nonce: [1], sentAtMillis: now, now: now + 5) == .replayed)
        #expect(f.check(nonce: [2], sentAtMillis: now - WireLimits.datagramFreshnessMillis - 1, now: now) == .stale)
        #expect(f.check(nonce: [3], sentAtMillis: now + WireLimits.datagramFreshnessMillis + 1, now: now) == .stale)
        for i in 0..<5000 { _ = f.check(nonce: [UInt8(i & 0xff), UInt8(i >> 8), 9], sentAtMillis: now, now: now) }
        #expect(f.check(nonce: [4], sentAtMillis: now, now: now) == .fresh)
    }
}
