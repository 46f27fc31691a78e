/// Why an encrypted frame stream was closed.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A frame length above ``WireLimits/maxFrameBytes``.
    case oversized(Int)
    /// A frame that is not the next one of this stream (tampered, reordered, replayed).
    case tampered
    /// A frame after the final one.
    case afterFinal
    /// The stream header was malformed.
    case badHeader

    public var description: String {
        switch self {
        case .oversized(let n): "frame of \(n) bytes exceeds \(WireLimits.maxFrameBytes)"
        case .tampered: "frame failed authentication"
        case .afterFinal: "data after the final frame"
        case .badHeader: "bad stream header"
        }
    }

    public var label: String {
        switch self {
        case .oversized: "oversized_frame"
        case .tampered: "tampered_frame"
        case .afterFinal: "after_final"
        case .badHeader: "bad_stream_header"
        }
    }
}

/// The sending half of an encrypted TCP session: the 24-byte secretstream header before the
/// first frame, then frames `u32 length || ciphertext`. Owned by the one task that sends.
public final class FrameSealer {
    private let sender: SecretStreamSender
    private var headerSent = false

    public init(sendKey: [UInt8]) { sender = SecretStreamSender(key: sendKey) }

    /// The bytes to send for `plaintext` (with the stream header before the first frame).
    /// Throws, sending nothing, when `plaintext` exceeds ``WireLimits/maxFrameBytes`` (callers split
    /// messages below it; this is the last line of defence, never a trap).
    public func seal(_ plaintext: [UInt8], final: Bool = false) throws(FrameError) -> [UInt8] {
        guard plaintext.count <= WireLimits.maxFrameBytes else { throw .oversized(plaintext.count) }
        var out: [UInt8] = []
        if !headerSent { out = sender.header; headerSent = true }
        let c = sender.seal(plaintext, final: final)
        var w = ByteWriter(capacity: c.count + 4)
        w.u32(UInt32(c.count))
        w.raw(c)
        return out + w.bytes
    }
}

/// The receiving half: bytes in, frames out. Owned by the one task that reads.
public final class FrameOpener {
    private var receiver: SecretStreamReceiver?
    private let receiveKey: [UInt8]
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// The peer ended its stream with a final frame (a clean close).
    public private(set) var peerFinished = false

    public init(receiveKey: [UInt8]) { self.receiveKey = receiveKey }

    /// Feeds received bytes; returns every complete frame's plaintext. Throws (and the session
    /// must close) on anything but the next authentic frame.
    public func receive(_ bytes: [UInt8]) throws(FrameError) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while true {
            if receiver == nil {
                guard buffer.count - consumed >= 24 else { break }
                guard let r = SecretStreamReceiver(key: receiveKey, header: Array(buffer[consumed..<consumed + 24])) else { throw .badHeader }
                receiver = r
                consumed += 24
                continue
            }
            guard buffer.count - consumed >= 4 else { break }
            var r = ByteReader(buffer, range: consumed..<consumed + 4)
            let length = Int((try? r.u32()) ?? 0)
            guard length <= WireLimits.maxFrameBytes + 17 else { throw .oversized(length) }
            guard buffer.count - consumed - 4 >= length else { break }
            if peerFinished { throw .afterFinal }
            let c = Array(buffer[(consumed + 4)..<(consumed + 4 + length)])
            consumed += 4 + length
            do {
                let (plain, final) = try receiver!.open(c)
                if final { peerFinished = true }
                frames.append(plain)
            } catch { throw .tampered }
        }
        if consumed > 65_536 || consumed == buffer.count { buffer.removeFirst(consumed); consumed = 0 }
        return frames
    }

    /// Bytes received but not yet a whole frame.
    public var pendingBytes: Int { buffer.count - consumed }
}
