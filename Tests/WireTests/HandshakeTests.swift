import Testing
@testable import Wire

@Suite("TCP handshake and frames")
struct HandshakeTests {
    let n = WireFixtures.networkKey
    let alice = WireFixtures.identity(1), bob = WireFixtures.identity(2)

    func handshake(initiatorKey: [UInt8]? = nil, responderKey: [UInt8]? = nil, expected: Bytes32? = nil) throws -> (SessionKeys, SessionKeys) {
        var i = HandshakeInitiator(networkKey: initiatorKey ?? n, identity: alice, expectedPeer: expected)
        var r = HandshakeResponder(networkKey: responderKey ?? n, identity: bob)
        let m2 = try r.receive(message1: i.start())
        let m3 = try i.receive(message2: m2)
        let (m4, rk) = try r.receive(message3: m3)
        return (try i.receive(message4: m4), rk)
    }

    @Test func mutualHandshakeProvesBothIdentities() throws {
        let (ik, rk) = try handshake(expected: bob.publicKey)
        #expect(ik.peer == bob.publicKey && rk.peer == alice.publicKey)
        #expect(ik.sendKey == rk.receiveKey && ik.receiveKey == rk.sendKey && ik.sendKey != ik.receiveKey)
    }

    @Test func wrongNetworkKeyFailsOnBothSidesAndRevealsNoIdentity() throws {
        let other = [UInt8](repeating: 7, count: 32)
        // The responder refuses message 1 (and answers nothing).
        var i = HandshakeInitiator(networkKey: other, identity: alice)
        var r = HandshakeResponder(networkKey: n, identity: bob)
        let m1 = i.start()
        #expect(throws: HandshakeError.networkKeyMismatch) { try r.receive(message1: m1) }
        // An initiator with the right key refuses a responder without it.
        var i2 = HandshakeInitiator(networkKey: n, identity: alice)
        var r2 = HandshakeResponder(networkKey: other, identity: bob)
        let m2 = try r2.receive(message1: HandshakeInitiator(networkKey: other, identity: alice).start())
        #expect(throws: HandshakeError.networkKeyMismatch) { try i2.receive(message2: m2) }
        // Messages 1 and 2 never carry an identity.
        for m in [m1, m2] {
            for id in [alice.publicKey.bytes, bob.publicKey.bytes] {
                #expect(!(0...(m.count - 32)).contains { Array(m[$0..<$0 + 32]) == id })
            }
        }
    }

    @Test func manInTheMiddleWithTheNetworkKeyCannotRelayIdentities() throws {
        let mallory = WireFixtures.identity(3)
        var i = HandshakeInitiator(networkKey: n, identity: alice)
        var mResp = HandshakeResponder(networkKey: n, identity: mallory)
        var mInit = HandshakeInitiator(networkKey: n, identity: mallory)
        var r = HandshakeResponder(networkKey: n, identity: bob)
        // Alice ↔ Mallory and Mallory ↔ Bob, each leg with Mallory's own ephemeral key.
        let m3FromAlice = try i.receive(message2: mResp.receive(message1: i.start()))
        _ = try mInit.receive(message2: r.receive(message1: mInit.start()))
        // Mallory forwards Alice's identity proof to Bob: it does not verify there.
        #expect(throws: HandshakeError.badIdentityProof) { try r.receive(message3: m3FromAlice) }
    }

    @Test func swappedEphemeralKeyWithoutTheNetworkKeyFails() throws {
        let i = HandshakeInitiator(networkKey: n, identity: alice)
        var m1 = i.start()
        m1.replaceSubrange(0..<32, with: X25519KeyPair.generate().publicKey)
        var r = HandshakeResponder(networkKey: n, identity: bob)
        #expect(throws: HandshakeError.networkKeyMismatch) { try r.receive(message1: m1) }
    }

    @Test func replayedHandshakeFails() throws {
        var i = HandshakeInitiator(networkKey: n, identity: alice)
        var r = HandshakeResponder(networkKey: n, identity: bob)
        let m1 = i.start()
        let m3 = try i.receive(message2: r.receive(message1: m1))
        _ = try r.receive(message3: m3)
        // Replaying messages 1 and 3 to a fresh responder: it answers 1 with a new ephemeral key,
        // and the old message 3 no longer opens.
        var r2 = HandshakeResponder(networkKey: n, identity: bob)
        _ = try r2.receive(message1: m1)
        #expect(throws: HandshakeError.badIdentityProof) { try r2.receive(message3: m3) }
    }

    @Test func insistingOnAnotherPeerFails() {
        #expect(throws: HandshakeError.unexpectedPeer(bob.publicKey)) { try handshake(expected: alice.publicKey) }
    }

    @Test func framesRoundTripAndDetectTamperingReorderingTruncation() throws {
        let (ik, rk) = try handshake()
        let a = SessionCipher(keys: ik), b = SessionCipher(keys: rk)
        let f1 = try a.seal(Message.ping(probe: 1).frame), f2 = try a.seal(Message.syncDone.frame)
        // Delivered in pieces.
        var got: [[UInt8]] = []
        for byte in f1 + f2 { got += try b.receive([byte]) }
        #expect(try got.map(Message.decode(frame:)) == [.ping(probe: 1), .syncDone])
        #expect(!b.peerFinished)  // no final frame yet: a stream cut here is known to be truncated
        let last = try a.seal([], final: true)
        _ = try b.receive(last)
        #expect(b.peerFinished)
        #expect(throws: FrameError.afterFinal) { try b.receive(a.seal([1])) }

        // Tampered.
        let (ik2, rk2) = try handshake()
        let c = SessionCipher(keys: ik2), d = SessionCipher(keys: rk2)
        var t = try c.seal([1, 2, 3])
        t[t.count - 1] ^= 1
        #expect(throws: FrameError.tampered) { try d.receive(t) }
        // Reordered.
        let (ik3, rk3) = try handshake()
        let e = SessionCipher(keys: ik3), f = SessionCipher(keys: rk3)
        let g1 = try e.seal([1]), g2 = try e.seal([2])
        let header = Array(g1[0..<24]), body1 = Array(g1[24...])
        #expect(throws: FrameError.tampered) { try f.receive(header + g2 + body1) }
        // Oversized length prefix.
        let (ik4, rk4) = try handshake()
        let h = SessionCipher(keys: ik4), k = SessionCipher(keys: rk4)
        let first = try h.seal([1])
        #expect(throws: FrameError.oversized(0x7fff_ffff)) { try k.receive(Array(first[0..<24]) + [0x7f, 0xff, 0xff, 0xff]) }
    }
}
