import Testing
@testable import Wire

@Suite("Byte codec")
struct ByteCodecTests {
    @Test func integersAndVarintsRoundTrip() throws {
        var w = ByteWriter()
        let values: [UInt64] = [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max - 1, UInt64.max]
        for v in values { w.varint(v) }
        w.u8(7); w.u16(0xBEEF); w.u32(0xDEAD_BEEF); w.u64(0x0123_4567_89AB_CDEF)
        w.string("héllo")
        var r = ByteReader(w.bytes)
        for v in values { #expect(try r.varint() == v) }
        #expect(try r.u8() == 7)
        #expect(try r.u16() == 0xBEEF)
        #expect(try r.u32() == 0xDEAD_BEEF)
        #expect(try r.u64() == 0x0123_4567_89AB_CDEF)
        #expect(try r.string("s", limit: 10) == "héllo")
        try r.expectEnd()
    }

    @Test func malformedInputsAreReportedNotTrapped() {
        var r = ByteReader([0x80, 0x00])
        #expect(throws: WireDecodingError.self) { try r.varint() }  // non-minimal
        r = ByteReader([UInt8](repeating: 0xff, count: 11))
        #expect(throws: WireDecodingError.self) { try r.varint() }  // too long
        r = ByteReader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
        #expect(throws: WireDecodingError.self) { try r.varint() }  // overflow
        r = ByteReader([5, 1, 2])
        #expect(throws: WireDecodingError(.truncated(needed: 3), at: 1)) { try r.lengthPrefixed("x", limit: 10) }
        r = ByteReader([20])
        #expect(throws: WireDecodingError.self) { try r.lengthPrefixed("x", limit: 10) }
        r = ByteReader([2, 0xc3, 0x28])
        #expect(throws: WireDecodingError.self) { try r.string("x", limit: 10) }
        r = ByteReader([1, 2])
        #expect(throws: WireDecodingError.self) { try r.expectEnd() }
    }

    @Test func bytes32HexAndOrder() {
        let a = Bytes32((0..<32).map { UInt8($0) })!
        #expect(a.hex == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        #expect(Bytes32(hex: a.hex) == a)
        #expect(Bytes32(hex: a.hex.uppercased()) == a)
        #expect(Bytes32(hex: "zz" + a.hex.dropFirst(2)) == nil)
        #expect(Bytes32(hex: "00") == nil)
        #expect(a.bytes == (0..<32).map { UInt8($0) })
        #expect(Bytes32.zero < a)
    }

    @Test func signaturesAndHashes() throws {
        let kp = try SigningKeyPair(seed: [UInt8](repeating: 9, count: 32))
        let sig = kp.sign(Array("hello".utf8))
        #expect(SigningKeyPair.verify(signature: sig, message: Array("hello".utf8), publicKey: kp.publicKey))
        #expect(!SigningKeyPair.verify(signature: sig, message: Array("hellp".utf8), publicKey: kp.publicKey))
        #expect(try SigningKeyPair(secretKey: kp.secretKey).publicKey == kp.publicKey)
        // BLAKE2b-256("abc"), RFC 7693 appendix-style reference value.
        #expect(Blake2b.hash256(Array("abc".utf8)).hex == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        #expect(Blake2b.hash256(Array("ab".utf8), Array("c".utf8)) == Blake2b.hash256(Array("abc".utf8)[...]))
    }
}
