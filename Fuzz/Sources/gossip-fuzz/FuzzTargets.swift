import CRDTLog
import Foundation
import Wire

/// The decoders under fuzz; `FUZZ_TARGET` picks one per run.
enum FuzzTarget: String, CaseIterable {
    case packet, message, frame, entry, handshake, json, core

    static let networkKey: [UInt8] = (0..<32).map { UInt8($0) ^ 0x5a }
    static let packetKey = Packet.packetKey(networkKey: networkKey)
    static let frameKey = [UInt8](repeating: 2, count: 32)
    static let identity = try! SigningKeyPair(seed: [UInt8](repeating: 3, count: 32))
    // Fixed ephemeral keys: the fuzzer explores the parser, not key generation.
    static let ephemeralR = X25519KeyPair(secretKey: [UInt8](repeating: 0x22, count: 32))
    static let ephemeralI = X25519KeyPair(secretKey: [UInt8](repeating: 0x11, count: 32))

    func run(_ bytes: [UInt8]) {
        switch self {
        case .packet:
            // The sealed form, and the plaintext parser behind the seal.
            _ = try? Packet.open(bytes, packetKey: Self.packetKey)
            _ = try? Packet.decode(plaintext: bytes)
        case .message:
            if let m = try? Message.decode(frame: bytes), case .unknown = m {} else if let m = try? Message.decode(frame: bytes) {
                precondition((try? Message.decode(frame: m.frame)) == m, "re-encoding changed the message")
            }
        case .frame:
            guard let mode = bytes.first else { return }
            let body = Array(bytes.dropFirst())
            if mode & 1 == 0 {
                // Raw bytes under a key the fuzzer cannot know, fed in fuzzer-sized chunks: every
                // input must fail cleanly or wait for more, never yield a frame.
                let opener = FrameOpener(receiveKey: Self.frameKey)
                let chunk = max(Int(mode >> 1) + 1, body.count / 32)  // at most ~32 reads per input
                var i = 0
                while i < body.count {
                    let n = min(body.count - i, chunk)
                    guard let frames = try? opener.receive(Array(body[i..<i + n])) else { break }
                    precondition(frames.isEmpty, "a frame authenticated under a key nobody used")
                    i += n
                }
            } else {
                // A genuine stream built from the input (split into frames at bytes equal to the
                // mode byte), then one byte damaged where the first two bytes say: whatever the
                // opener returns must be a prefix of what was sent, and all of it when undamaged.
                let plaintexts = body.split(separator: mode, omittingEmptySubsequences: false).map(Array.init)
                let sealer = FrameSealer(sendKey: Self.frameKey)
                var stream: [UInt8] = []
                for (n, p) in plaintexts.enumerated() { stream += (try? sealer.seal(p, final: n == plaintexts.count - 1)) ?? [] }
                let damage = body.count >= 2 && mode & 2 != 0
                if damage {
                    let at = (Int(body[0]) << 8 | Int(body[1])) % stream.count
                    stream[at] ^= (mode | 1)
                }
                let opener = FrameOpener(receiveKey: Self.frameKey)
                if let frames = try? opener.receive(stream) {
                    precondition(frames.count <= plaintexts.count && Array(plaintexts.prefix(frames.count)) == frames, "opened frames differ from the sent ones")
                    if !damage { precondition(frames == plaintexts && opener.peerFinished, "an intact stream did not open completely") }
                } else {
                    precondition(damage, "an intact stream was rejected")
                }
            }
        case .entry:
            if let e = try? Entry(encoded: bytes) { _ = e.verifySignature() }
            _ = try? Entry.header(bytes)
            if bytes.count > 2 {
                let mid = Int(bytes[0]) * bytes.count / 256
                _ = try? ForkProof(first: Array(bytes[..<mid]), second: Array(bytes[mid...]))
            }
            // A checkpoint payload (its entry's seq from the first 8 bytes): decodes, or is refused;
            // what decodes encodes back to the same bytes, and its questions never trap.
            if bytes.count >= 8 {
                let seq = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % (LogLimits.maxSeq + 1)
                let payload = Array(bytes.dropFirst(8))
                if let cp = (try? Checkpoint(seq: seq, payload: payload)) ?? nil {
                    precondition(cp.payload == payload, "a checkpoint payload did not encode back to its bytes")
                    _ = cp.keeps(seq / 2); _ = cp.keptCount(after: seq / 3)
                    _ = cp.keepsAny(in: (seq / 4)..<(seq / 2))
                }
            }
        case .handshake:
            var r = HandshakeResponder(networkKey: Self.networkKey, identity: Self.identity, ephemeral: Self.ephemeralR)
            _ = try? r.receive(message1: Array(bytes.prefix(64)))
            _ = try? r.receive(message3: Array(bytes.dropFirst(64).prefix(Handshake.message3Bytes)))
            var i = HandshakeInitiator(networkKey: Self.networkKey, identity: Self.identity, ephemeral: Self.ephemeralI)
            _ = i.start()
            _ = try? i.receive(message2: Array(bytes.prefix(64)))
        case .json:
            if let v = try? JSON.parse(bytes) {
                precondition((try? JSON.parse(Array(JSON.serialize(v).utf8))) == v, "serialise/parse changed the value")
            }
        case .core:
            CoreTarget.run(bytes)
        }
    }
}

nonisolated(unsafe) var selected: FuzzTarget = .packet

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> Int32 {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "packet"
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("unknown FUZZ_TARGET \(name); one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    selected = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
