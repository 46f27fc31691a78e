@testable import Wire

/// Every random test is repeatable from its seed.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var w = next()
            for _ in 0..<8 where i < n { out[i] = UInt8(truncatingIfNeeded: w); w >>= 8; i += 1 }
        }
        return out
    }
    mutating func bytes32() -> Bytes32 { Bytes32(bytes(32))! }
}

enum WireFixtures {
    static let networkKey: [UInt8] = (0..<32).map { UInt8($0) ^ 0x5a }
    static func identity(_ n: UInt8) -> SigningKeyPair { try! SigningKeyPair(seed: [UInt8](repeating: n, count: 32)) }

    /// A random message of every kind, within the limits.
    static func randomMessage(_ rng: inout SeededRandom) -> Message {
        func address() -> String { "127.0.0.\(Int.random(in: 1...254, using: &rng)):\(Int.random(in: 1...65535, using: &rng))" }
        switch Int.random(in: 0..<13, using: &rng) {
        case 0: return .ping(probe: rng.next())
        case 1: return .ack(probe: rng.next() >> UInt64.random(in: 0...63, using: &rng))
        case 2: return .pingRequest(probe: rng.next(), target: rng.bytes32(), address: address())
        case 3: return .nack(probe: rng.next())
        case 4: return .members((0..<Int.random(in: 0...8, using: &rng)).map { _ in
            let state = MemberState.allCases.randomElement(using: &rng)!
            return MemberUpdate(member: rng.bytes32(), address: address(), incarnation: rng.next() >> 20, state: state,
                                signature: state == .alive || state == .left ? rng.bytes(64) : []) })
        case 5: return .digest(rng.bytes32().fingerprint, entries: rng.next() >> 3)
        case 6: return .push((0..<Int.random(in: 0...3, using: &rng)).map { _ in rng.bytes(Int.random(in: 0...300, using: &rng)) })
        case 7: let lo = UInt16.random(in: 0...10, using: &rng)
            return .hello(versions: lo...(lo + UInt16.random(in: 0...3, using: &rng)), agent: "gossip-node/0.1", address: address())
        case 8: return .versionVector(heads: (0..<Int.random(in: 0...20, using: &rng)).map { _ in
            VersionVectorHead(author: rng.bytes32(), seq: rng.next() >> 30, head: rng.bytes32()) },
            quarantined: (0..<Int.random(in: 0...2, using: &rng)).map { _ in rng.bytes32() })
        case 9: return .entries((0..<Int.random(in: 0...5, using: &rng)).map { _ in rng.bytes(Int.random(in: 0...2000, using: &rng)) })
        case 10: return .forkProofs([ForkProofHeaders(first: rng.bytes(200), second: rng.bytes(210))])
        case 11: return .versionVectorPart(heads: (0..<Int.random(in: 0...20, using: &rng)).map { _ in
            VersionVectorHead(author: rng.bytes32(), seq: rng.next() >> 30, head: rng.bytes32()) })
        default: return .syncDone
        }
    }
}

/// Both halves of a session's framing, for code that sends and receives from one place.
final class SessionCipher {
    private let sealer: FrameSealer
    private let opener: FrameOpener

    init(keys: SessionKeys) {
        sealer = FrameSealer(sendKey: keys.sendKey)
        opener = FrameOpener(receiveKey: keys.receiveKey)
    }

    func seal(_ plaintext: [UInt8], final: Bool = false) throws(FrameError) -> [UInt8] { try sealer.seal(plaintext, final: final) }
    func receive(_ bytes: [UInt8]) throws(FrameError) -> [[UInt8]] { try opener.receive(bytes) }
    var peerFinished: Bool { opener.peerFinished }
    var pendingBytes: Int { opener.pendingBytes }
}
