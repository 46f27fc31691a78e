import CSodium

/// XChaCha20-Poly1305 (libsodium `crypto_aead_xchacha20poly1305_ietf`): 32-byte key, 24-byte
/// nonce (random nonces are safe at this size), 16-byte tag.
public enum XChaCha20Poly1305 {
    public static let keyBytes = 32
    public static let nonceBytes = 24
    public static let tagBytes = 16

    public static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], ad: [UInt8] = []) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes, "key and nonce sizes are fixed by the caller")
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var outLength: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLength, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, nonce, key)
        return out
    }

    /// The plaintext, or nil when the ciphertext was not sealed with this key, nonce and ad.
    public static func open(_ ciphertext: ArraySlice<UInt8>, key: [UInt8], nonce: ArraySlice<UInt8>, ad: [UInt8] = []) -> [UInt8]? {
        guard key.count == keyBytes, nonce.count == nonceBytes, ciphertext.count >= tagBytes else { return nil }
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagBytes)
        var outLength: UInt64 = 0
        let c = Array(ciphertext), n = Array(nonce)
        let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(&out, &outLength, nil, c, UInt64(c.count), ad, UInt64(ad.count), n, key)
        return rc == 0 ? out : nil
    }
}

/// X25519 key agreement (libsodium `crypto_scalarmult`), for the handshake's ephemeral keys.
public struct X25519KeyPair: Sendable {
    public let publicKey: [UInt8]
    public let secretKey: [UInt8]

    public static func generate() -> X25519KeyPair { X25519KeyPair(secretKey: Sodium.randomBytes(32)) }

    /// Derives the public key from a 32-byte secret (deterministic, for test vectors).
    public init(secretKey: [UInt8]) {
        precondition(secretKey.count == 32, "X25519 secret keys are 32 bytes")
        Sodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: 32)
        _ = crypto_scalarmult_base(&pk, secretKey)
        self.secretKey = secretKey
        publicKey = pk
    }

    /// The shared secret with `peer`, or nil for a low-order (all-zero result) public key.
    public func sharedSecret(with peer: [UInt8]) -> [UInt8]? {
        guard peer.count == 32 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult(&out, secretKey, peer) == 0 else { return nil }
        return out
    }
}

/// Keyed BLAKE2b-256 as a MAC and key-derivation function.
public enum KeyedHash {
    public static func mac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        Blake2b.hash256(parts: parts, key: key).bytes
    }
}
