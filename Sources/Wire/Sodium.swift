import CSodium

/// The one thin Swift layer over libsodium: keys, signatures, hashing, randomness.
/// Everything cryptographic in gossip-node goes through here.
public enum Sodium {
    /// `sodium_init` runs once, on first use of any function here; it is thread-safe.
    static let ready: Bool = sodium_init() >= 0

    @inline(__always) static func ensureReady() {
        precondition(ready, "libsodium failed to initialise (sodium_init < 0)")
    }

    /// `count` cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { if let p = $0.baseAddress { randombytes_buf(p, count) } }
        return out
    }

    /// Compares in time independent of the content.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }
}

/// An Ed25519 key pair (libsodium `crypto_sign`). The public key is the author id.
public struct SigningKeyPair: Sendable {
    public static let seedLength = 32
    public static let secretKeyLength = 64
    public static let signatureLength = 64

    /// The 32-byte public key.
    public let publicKey: Bytes32
    /// libsodium's 64-byte secret key (seed followed by public key).
    public let secretKey: [UInt8]

    /// A new random key pair.
    public static func generate() -> SigningKeyPair {
        // A random seed gives the same distribution as crypto_sign_keypair.
        try! SigningKeyPair(seed: Sodium.randomBytes(seedLength))  // length is right by construction
    }

    /// The key pair derived from a 32-byte seed (deterministic; used for test vectors).
    public init(seed: [UInt8]) throws(CryptoError) {
        guard seed.count == Self.seedLength else { throw .badLength(what: "seed", expected: Self.seedLength, got: seed.count) }
        Sodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_seed_keypair(&pk, &sk, seed)
        publicKey = Bytes32(pk)!
        secretKey = sk
    }

    /// Rebuilds a key pair from libsodium's 64-byte secret key, checking its embedded public key.
    public init(secretKey: [UInt8]) throws(CryptoError) {
        guard secretKey.count == Self.secretKeyLength else {
            throw .badLength(what: "secret key", expected: Self.secretKeyLength, got: secretKey.count)
        }
        try self.init(seed: Array(secretKey[0..<32]))
        guard self.secretKey == secretKey else { throw .corruptKey }
    }

    /// The 32-byte seed (first half of the secret key).
    public var seed: [UInt8] { Array(secretKey[0..<32]) }

    /// A detached 64-byte signature over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Self.signatureLength)
        message.withUnsafeBufferPointer { m in
            _ = crypto_sign_detached(&sig, nil, m.baseAddress, UInt64(m.count), secretKey)
        }
        return sig
    }

    /// Checks a detached Ed25519 signature. Thread-safe; callers verify batches on all cores.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: Bytes32) -> Bool {
        guard signature.count == signatureLength else { return false }
        Sodium.ensureReady()
        let pk = publicKey.bytes
        return message.withUnsafeBufferPointer { m in
            crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), pk) == 0
        }
    }

    /// This key pair's X25519 secret key, for the TCP handshake's identity binding.
    public var curve25519SecretKey: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_sign_ed25519_sk_to_curve25519(&out, secretKey)
        return out
    }
}

/// Errors of the cryptographic layer.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLength(what: String, expected: Int, got: Int)
    case corruptKey
    case authenticationFailed

    public var description: String {
        switch self {
        case .badLength(let what, let expected, let got): "\(what) must be \(expected) bytes, got \(got)"
        case .corruptKey: "the secret key is corrupt (its public half does not match its seed)"
        case .authenticationFailed: "authentication failed"
        }
    }
}

/// BLAKE2b with a 32-byte output (libsodium `crypto_generichash`).
public enum Blake2b {
    /// BLAKE2b-256 of `parts` concatenated, optionally keyed.
    public static func hash256(_ parts: [UInt8]..., key: [UInt8] = []) -> Bytes32 {
        hash256(parts: parts, key: key)
    }

    public static func hash256(parts: [[UInt8]], key: [UInt8] = []) -> Bytes32 {
        Sodium.ensureReady()
        // The state is a 64-byte-aligned C struct Swift cannot import; allocate it by size.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer { raw.deallocate() }
        let state = OpaquePointer(raw)
        _ = key.withUnsafeBufferPointer { k in crypto_generichash_init(state, k.baseAddress, k.count, 32) }
        for p in parts {
            _ = p.withUnsafeBufferPointer { b in crypto_generichash_update(state, b.baseAddress, UInt64(b.count)) }
        }
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_generichash_final(state, &out, 32)
        return Bytes32(out)!
    }

    /// BLAKE2b-256 of a contiguous region, without copying it.
    public static func hash256(_ bytes: ArraySlice<UInt8>) -> Bytes32 {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: 32)
        _ = bytes.withUnsafeBufferPointer { b in crypto_generichash(&out, 32, b.baseAddress, UInt64(b.count), nil, 0) }
        return Bytes32(out)!
    }
}
