/// Why a TCP handshake failed. None of these reveals anything to a peer without the network key:
/// the responder just closes.
public enum HandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer does not hold the network key (or the bytes were tampered with).
    case networkKeyMismatch
    /// A message had the wrong size.
    case malformed
    /// The peer's identity proof did not verify (a swapped ephemeral key, a replay, a forgery).
    case badIdentityProof
    /// The peer proved an identity other than the one insisted on.
    case unexpectedPeer(Bytes32)
    /// The key exchange produced no usable secret (a low-order ephemeral key).
    case weakKey
    /// A message arrived in the wrong state.
    case outOfOrder

    public var description: String {
        switch self {
        case .networkKeyMismatch: "the peer does not hold this network's key"
        case .malformed: "malformed handshake message"
        case .badIdentityProof: "the peer's identity proof does not verify"
        case .unexpectedPeer(let id): "the peer is \(id.short), not the node expected"
        case .weakKey: "the peer sent a weak ephemeral key"
        case .outOfOrder: "handshake message out of order"
        }
    }
}

/// What a finished handshake yields: who the peer is and the two directions' stream keys.
public struct SessionKeys: Sendable, Equatable {
    public let peer: Bytes32
    public let sendKey: [UInt8]
    public let receiveKey: [UInt8]
    public init(peer: Bytes32, sendKey: [UInt8], receiveKey: [UInt8]) { self.peer = peer; self.sendKey = sendKey; self.receiveKey = receiveKey }
}

/// The mutual handshake that opens every TCP session (see docs/protocol.md, "TCP handshake").
///
/// ```
/// 1. I → R  e_I (32) || MAC(N, "gn-hs1" || e_I)                       64 bytes
/// 2. R → I  e_R (32) || MAC(N, "gn-hs2" || e_R || e_I)                64 bytes
///    both:  s = X25519(e, e'), th = MAC(N, "gn-hs-th" || e_I || e_R || s)
/// 3. I → R  AEAD(MAC(th, "gn-hs3"), 0, id_I || Sig_I("gossip-node/hs/v1/I" || th))           112 bytes
/// 4. R → I  AEAD(MAC(th, "gn-hs4"), 0, id_R || Sig_R("gossip-node/hs/v1/R" || th || id_I))   112 bytes
///    keys:  I→R = MAC(th, "gn-i2r" || id_I || id_R), R→I = MAC(th, "gn-r2i" || id_I || id_R)
/// ```
/// N is the network key, MAC keyed BLAKE2b-256, AEAD XChaCha20-Poly1305 with a zero nonce (each
/// key is used once). A peer without N fails at step 1 or 2 and never sees an identity.
public enum Handshake {
    public static let message1Bytes = 64
    public static let message2Bytes = 64
    public static let message3Bytes = 32 + 64 + XChaCha20Poly1305.tagBytes
    public static let message4Bytes = message3Bytes

    static let zeroNonce = [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceBytes)
    static func tag(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func transcript(networkKey: [UInt8], initiator: [UInt8], responder: [UInt8], shared: [UInt8]) -> [UInt8] {
        KeyedHash.mac(key: networkKey, tag("gn-hs-th"), initiator, responder, shared)
    }

    static func sessionKeys(th: [UInt8], initiator: Bytes32, responder: Bytes32, asInitiator: Bool) -> SessionKeys {
        let i2r = KeyedHash.mac(key: th, tag("gn-i2r"), initiator.bytes, responder.bytes)
        let r2i = KeyedHash.mac(key: th, tag("gn-r2i"), initiator.bytes, responder.bytes)
        return asInitiator ? SessionKeys(peer: responder, sendKey: i2r, receiveKey: r2i)
                           : SessionKeys(peer: initiator, sendKey: r2i, receiveKey: i2r)
    }
}

/// The dialling side of the handshake, as a state machine: bytes in, bytes out.
public struct HandshakeInitiator: Sendable {
    let networkKey: [UInt8]
    let identity: SigningKeyPair
    let expectedPeer: Bytes32?
    let ephemeral: X25519KeyPair
    var th: [UInt8]?

    public init(networkKey: [UInt8], identity: SigningKeyPair, expectedPeer: Bytes32? = nil, ephemeral: X25519KeyPair = .generate()) {
        self.networkKey = networkKey; self.identity = identity; self.expectedPeer = expectedPeer; self.ephemeral = ephemeral
    }

    /// Message 1.
    public func start() -> [UInt8] {
        ephemeral.publicKey + KeyedHash.mac(key: networkKey, Handshake.tag("gn-hs1"), ephemeral.publicKey)
    }

    /// Takes message 2, returns message 3.
    public mutating func receive(message2 m: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard th == nil else { throw .outOfOrder }
        guard m.count == Handshake.message2Bytes else { throw .malformed }
        let peerEphemeral = Array(m[0..<32])
        let expected = KeyedHash.mac(key: networkKey, Handshake.tag("gn-hs2"), peerEphemeral, ephemeral.publicKey)
        guard Sodium.constantTimeEqual(Array(m[32..<64]), expected) else { throw .networkKeyMismatch }
        guard let shared = ephemeral.sharedSecret(with: peerEphemeral) else { throw .weakKey }
        let t = Handshake.transcript(networkKey: networkKey, initiator: ephemeral.publicKey, responder: peerEphemeral, shared: shared)
        th = t
        let signature = identity.sign(Handshake.tag("gossip-node/hs/v1/I") + t)
        let key = KeyedHash.mac(key: t, Handshake.tag("gn-hs3"))
        return XChaCha20Poly1305.seal(identity.publicKey.bytes + signature, key: key, nonce: Handshake.zeroNonce)
    }

    /// Takes message 4; the handshake is done.
    public func receive(message4 m: [UInt8]) throws(HandshakeError) -> SessionKeys {
        guard let t = th else { throw .outOfOrder }
        guard m.count == Handshake.message4Bytes else { throw .malformed }
        let key = KeyedHash.mac(key: t, Handshake.tag("gn-hs4"))
        guard let plain = XChaCha20Poly1305.open(m[...], key: key, nonce: Handshake.zeroNonce[...]),
              let peer = Bytes32(Array(plain[0..<32])) else { throw .badIdentityProof }
        let signed = Handshake.tag("gossip-node/hs/v1/R") + t + identity.publicKey.bytes
        guard SigningKeyPair.verify(signature: Array(plain[32..<96]), message: signed, publicKey: peer) else { throw .badIdentityProof }
        if let expectedPeer, expectedPeer != peer { throw .unexpectedPeer(peer) }
        return Handshake.sessionKeys(th: t, initiator: identity.publicKey, responder: peer, asInitiator: true)
    }
}

/// The accepting side of the handshake.
public struct HandshakeResponder: Sendable {
    let networkKey: [UInt8]
    let identity: SigningKeyPair
    let ephemeral: X25519KeyPair
    var th: [UInt8]?

    public init(networkKey: [UInt8], identity: SigningKeyPair, ephemeral: X25519KeyPair = .generate()) {
        self.networkKey = networkKey; self.identity = identity; self.ephemeral = ephemeral
    }

    /// Takes message 1, returns message 2. On failure the caller closes without a word.
    public mutating func receive(message1 m: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard th == nil else { throw .outOfOrder }
        guard m.count == Handshake.message1Bytes else { throw .malformed }
        let peerEphemeral = Array(m[0..<32])
        let expected = KeyedHash.mac(key: networkKey, Handshake.tag("gn-hs1"), peerEphemeral)
        guard Sodium.constantTimeEqual(Array(m[32..<64]), expected) else { throw .networkKeyMismatch }
        guard let shared = ephemeral.sharedSecret(with: peerEphemeral) else { throw .weakKey }
        th = Handshake.transcript(networkKey: networkKey, initiator: peerEphemeral, responder: ephemeral.publicKey, shared: shared)
        return ephemeral.publicKey + KeyedHash.mac(key: networkKey, Handshake.tag("gn-hs2"), ephemeral.publicKey, peerEphemeral)
    }

    /// Takes message 3, returns message 4 and the session keys.
    public func receive(message3 m: [UInt8]) throws(HandshakeError) -> (message4: [UInt8], keys: SessionKeys) {
        guard let t = th else { throw .outOfOrder }
        guard m.count == Handshake.message3Bytes else { throw .malformed }
        let key = KeyedHash.mac(key: t, Handshake.tag("gn-hs3"))
        guard let plain = XChaCha20Poly1305.open(m[...], key: key, nonce: Handshake.zeroNonce[...]),
              let peer = Bytes32(Array(plain[0..<32])) else { throw .badIdentityProof }
        guard SigningKeyPair.verify(signature: Array(plain[32..<96]), message: Handshake.tag("gossip-node/hs/v1/I") + t, publicKey: peer) else {
            throw .badIdentityProof
        }
        let signature = identity.sign(Handshake.tag("gossip-node/hs/v1/R") + t + peer.bytes)
        let reply = XChaCha20Poly1305.seal(identity.publicKey.bytes + signature, key: KeyedHash.mac(key: t, Handshake.tag("gn-hs4")),
                                           nonce: Handshake.zeroNonce)
        return (reply, Handshake.sessionKeys(th: t, initiator: peer, responder: identity.publicKey, asInitiator: false))
    }
}
