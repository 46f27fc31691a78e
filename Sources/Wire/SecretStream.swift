import CSodium

/// One direction of an encrypted TCP session: libsodium secretstream (XChaCha20-Poly1305 with
/// internal counters and key ratcheting). A frame that is tampered with, reordered, replayed or
/// dropped fails to open; a stream cut short is detected because it never shows the final tag.
/// Not thread-safe: one connection owns one.
public final class SecretStreamSender {
    private var state = crypto_secretstream_xchacha20poly1305_state()
    /// 24 bytes the receiver needs first.
    public let header: [UInt8]

    public init(key: [UInt8]) {
        precondition(key.count == 32, "secretstream keys are 32 bytes")
        Sodium.ensureReady()
        var h = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES))
        _ = crypto_secretstream_xchacha20poly1305_init_push(&state, &h, key)
        header = h
    }

    /// Encrypts one frame; `final` marks the end of the stream.
    public func seal(_ plaintext: [UInt8], final: Bool = false) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_secretstream_xchacha20poly1305_ABYTES))
        let tag = final ? UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) : 0
        _ = crypto_secretstream_xchacha20poly1305_push(&state, &out, nil, plaintext, UInt64(plaintext.count), nil, 0, tag)
        return out
    }
}

public final class SecretStreamReceiver {
    private var state = crypto_secretstream_xchacha20poly1305_state()
    /// True once the final frame was opened; nothing may follow it.
    public private(set) var finished = false

    /// Nil when the header is not 24 bytes.
    public init?(key: [UInt8], header: [UInt8]) {
        guard key.count == 32, header.count == Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES) else { return nil }
        Sodium.ensureReady()
        guard crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key) == 0 else { return nil }
    }

    /// Decrypts the next frame, or throws when it is not the next frame of this stream.
    public func open(_ ciphertext: [UInt8]) throws(CryptoError) -> (plaintext: [UInt8], final: Bool) {
        let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)
        guard !finished, ciphertext.count >= overhead else { throw .authenticationFailed }
        var out = [UInt8](repeating: 0, count: ciphertext.count - overhead)
        var tag: UInt8 = 0
        guard crypto_secretstream_xchacha20poly1305_pull(&state, &out, nil, &tag, ciphertext, UInt64(ciphertext.count), nil, 0) == 0 else {
            throw .authenticationFailed
        }
        let final = tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        if final { finished = true }
        return (out, final)
    }
}
