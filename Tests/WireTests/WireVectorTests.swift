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

    /// docs/protocol.md, "Member records": a signed alive record and its message (tag 8),
    /// checked against a signature computed independently (Python's `cryptography`).
    @Test func memberRecordVector() throws {
        let id = WireFixtures.identity(1)
        let record = MemberUpdate(member: id.publicKey, address: "10.0.0.1:7420", incarnation: 1_767_225_600, state: .alive).signed(by: id)
        #expect(Self.hex(record.signingBytes) == "676f737369702d6e6f64652f6d656d6265722f7631008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c000000006955b90000000d31302e302e302e313a37343230")
        #expect(Self.hex(record.signature) == "e9b78fd5129554ce805cdeeaa6c00eb3d6bad7cafe95000aabf3e2ba5b88e64efa74dfeb95542891e68550986f492e89130f3139ff57495367bc481b9af6f306")
        let frame = Message.members([record]).frame
        #expect(Self.hex(frame) == "08018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0d31302e302e302e313a3734323080f2d6ca0600e9b78fd5129554ce805cdeeaa6c00eb3d6bad7cafe95000aabf3e2ba5b88e64efa74dfeb95542891e68550986f492e89130f3139ff57495367bc481b9af6f306")
        #expect(record.hasValidSignature)
    }
}
