import Foundation
import Testing
@testable import Wire

/// The wire test vectors of docs/protocol.md ("Wire test vectors"): fixed keys and nonces.
@Suite("Wire test vectors")
struct WireVectorTests {
    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    struct Values {
        var packetKey, sealed, m1, m2, m3, m4, i2r, r2i: String
    }

    static func compute() throws -> Values {
        let n = WireFixtures.networkKey
        let key = Packet.packetKey(networkKey: n)
        let p = Packet(sender: WireFixtures.identity(1).publicKey, sentAtMillis: 1_767_225_600_000,
                       messages: [.ping(probe: 7), .digest(Bytes32.zero, entries: 3)])
        let sealed = try p.seal(packetKey: key, nonce: (0..<24).map { UInt8($0) })
        var i = HandshakeInitiator(networkKey: n, identity: WireFixtures.identity(1),
                                   ephemeral: X25519KeyPair(secretKey: [UInt8](repeating: 0x11, count: 32)))
        var r = HandshakeResponder(networkKey: n, identity: WireFixtures.identity(2),
                                   ephemeral: X25519KeyPair(secretKey: [UInt8](repeating: 0x22, count: 32)))
        let m1 = i.start()
        let m2 = try r.receive(message1: m1)
        let m3 = try i.receive(message2: m2)
        let (m4, _) = try r.receive(message3: m3)
        let keys = try i.receive(message4: m4)
        return Values(packetKey: hex(key), sealed: hex(sealed), m1: hex(m1), m2: hex(m2), m3: hex(m3), m4: hex(m4),
                      i2r: hex(keys.sendKey), r2i: hex(keys.receiveKey))
    }

    @Test func vectorsMatchTheDocument() throws {
        let v = try Self.compute()
        if ProcessInfo.processInfo.environment["GOSSIP_PRINT_VECTORS"] != nil {
            for (k, x) in [("packetKey", v.packetKey), ("sealed", v.sealed), ("m1", v.m1), ("m2", v.m2), ("m3", v.m3), ("m4", v.m4), ("i2r", v.i2r), ("r2i", v.r2i)] {
                print("wirevector", k, x)
            }
        }
        #expect(v.packetKey == WireExpected.packetKey)
        #expect(v.sealed == WireExpected.sealed)
        #expect(v.m1 == WireExpected.m1)
        #expect(v.m2 == WireExpected.m2)
        #expect(v.m3 == WireExpected.m3)
        #expect(v.m4 == WireExpected.m4)
        #expect(v.i2r == WireExpected.i2r)
        #expect(v.r2i == WireExpected.r2i)
    }
}
