/// The state a member is in, as gossiped.
public enum MemberState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case alive = 0, suspect = 1, dead = 2, left = 3

    /// The state's name as the API and the logs show it (a switch, not reflection: logged for
    /// every member a join brings).
    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// One piece of membership news: SWIM's alive/suspect/dead/left with an incarnation number.
///
/// A member's own record (`alive` or `left`, with its address) is signed with that member's
/// identity key, so nobody else can move its address, invent its incarnations or make it leave.
/// `suspect` and `dead` are claims about another member and carry no signature; a receiver
/// takes them only at an incarnation the member itself signed, and never takes an address
/// from them (see docs/security.md).
public struct MemberUpdate: Sendable, Hashable {
    public var member: Bytes32
    public var address: String
    public var incarnation: UInt64
    public var state: MemberState
    /// The member's Ed25519 signature over ``signingBytes`` (alive and left only), else empty.
    public var signature: [UInt8]
    public init(member: Bytes32, address: String, incarnation: UInt64, state: MemberState, signature: [UInt8] = []) {
        self.member = member; self.address = address; self.incarnation = incarnation; self.state = state
        self.signature = signature
    }

    /// True for the states only the member itself may announce (signed records).
    public var isOwnClaim: Bool { state == .alive || state == .left }

    /// Domain separation for member record signatures.
    public static let signatureDomain = Array("gossip-node/member/v1".utf8) + [0]

    /// What a member signs: domain, member, incarnation (u64), state (u8), address (u16 length, bytes).
    public var signingBytes: [UInt8] {
        var w = ByteWriter(capacity: 80 + address.utf8.count)
        w.raw(Self.signatureDomain)
        w.raw(member)
        w.u64(incarnation)
        w.u8(state.rawValue)
        w.u16(UInt16(clamping: address.utf8.count))
        w.raw(address.utf8)
        return w.bytes
    }

    /// This record signed by `keyPair` (which must be the member's own).
    public func signed(by keyPair: SigningKeyPair) -> MemberUpdate {
        var u = self
        u.signature = keyPair.sign(signingBytes)
        return u
    }

    /// True when the record carries the member's valid signature.
    public var hasValidSignature: Bool {
        signature.count == SigningKeyPair.signatureLength
            && SigningKeyPair.verify(signature: signature, message: signingBytes, publicKey: member)
    }
}

/// One author's head in a version vector.
public struct VersionVectorHead: Sendable, Hashable {
    public var author: Bytes32
    public var seq: UInt64
    public var head: Bytes32
    public init(author: Bytes32, seq: UInt64, head: Bytes32) { self.author = author; self.seq = seq; self.head = head }
}

/// A fork proof on the wire: two signed entry headers by one author.
public struct ForkProofHeaders: Sendable, Hashable {
    public var first: [UInt8]
    public var second: [UInt8]
    public init(first: [UInt8], second: [UInt8]) { self.first = first; self.second = second }
}

/// Every message of the protocol. UDP packets carry several; a TCP frame carries one.
public enum Message: Sendable, Hashable {
    /// SWIM probe. `probe` pairs it with its ack.
    case ping(probe: UInt64)
    /// Answer to a ping (direct or relayed).
    case ack(probe: UInt64)
    /// Ask the receiver to probe `target` at `address` on the sender's behalf.
    case pingRequest(probe: UInt64, target: Bytes32, address: String)
    /// An intermediary could not reach the target in time (Lifeguard: tells the requester its
    /// own network is fine).
    case nack(probe: UInt64)
    /// Membership news, piggybacked: member records (tag 8). Tag 5, the unsigned records of
    /// earlier builds, is retired and skipped like any unknown type.
    case members([MemberUpdate])
    /// The sender's log digest and entry count, piggybacked on probes and acks. Only the
    /// digest's ``Bytes32/fingerprint`` (its first 8 bytes) travels; it decodes with the rest zero.
    case digest(Bytes32, entries: UInt64)
    /// Entries pushed eagerly (encoded entries, see docs/protocol.md "Entries").
    case push([[UInt8]])
    /// First frame of a TCP session after the handshake.
    case hello(versions: ClosedRange<UInt16>, agent: String, address: String)
    /// The sender's version vector, to start or resume a sync (its last part: heads that did
    /// not fit the ``versionVectorPart(heads:)`` frames before it, and the quarantined authors).
    case versionVector(heads: [VersionVectorHead], quarantined: [Bytes32])
    /// Part of a version vector too large for one frame; the ``versionVector(heads:quarantined:)``
    /// that follows completes it.
    case versionVectorPart(heads: [VersionVectorHead])
    /// Entries the receiver lacks, per author in seq order.
    case entries([[UInt8]])
    /// Fork proofs: pairs of signed headers.
    case forkProofs([ForkProofHeaders])
    /// The sender has sent everything the receiver lacked.
    case syncDone
    /// A message type this version does not know (from a newer peer): skipped, not fatal.
    case unknown(type: UInt8)

    /// The type tag on the wire.
    public var type: UInt8 {
        switch self {
        case .ping: 1
        case .ack: 2
        case .pingRequest: 3
        case .nack: 4
        case .members: 8
        case .digest: 6
        case .push: 7
        case .hello: 16
        case .versionVector: 17
        case .entries: 18
        case .forkProofs: 19
        case .syncDone: 20
        case .versionVectorPart: 21
        case .unknown(let t): t
        }
    }

    /// The body, without the type tag.
    public func encodeBody(into w: inout ByteWriter) {
        switch self {
        case .ping(let p), .ack(let p), .nack(let p): w.varint(p)
        case .pingRequest(let p, let target, let address): w.varint(p); w.raw(target); w.string(address)
        case .members(let updates):
            w.varint(UInt64(updates.count))
            for u in updates {
                w.raw(u.member); w.string(u.address); w.varint(u.incarnation); w.u8(u.state.rawValue)
                if u.isOwnClaim { w.raw(u.signature.count == 64 ? u.signature : [UInt8](repeating: 0, count: 64)) }
            }
        case .digest(let d, let n): w.u64(d.w0); w.varint(n)  // the fingerprint: 8 bytes
        case .push(let entries), .entries(let entries):
            w.varint(UInt64(entries.count))
            for e in entries { w.lengthPrefixed(e) }
        case .hello(let versions, let agent, let address):
            w.u16(versions.lowerBound); w.u16(versions.upperBound); w.string(agent); w.string(address)
        case .versionVector(let heads, let quarantined):
            w.varint(UInt64(heads.count))
            for h in heads { w.raw(h.author); w.varint(h.seq); w.raw(h.head) }
            w.varint(UInt64(quarantined.count))
            for q in quarantined { w.raw(q) }
        case .versionVectorPart(let heads):
            w.varint(UInt64(heads.count))
            for h in heads { w.raw(h.author); w.varint(h.seq); w.raw(h.head) }
        case .forkProofs(let proofs):
            w.varint(UInt64(proofs.count))
            for p in proofs { w.lengthPrefixed(p.first); w.lengthPrefixed(p.second) }
        case .syncDone, .unknown: break
        }
    }

    /// Decodes one message body of type `type`; the reader must hold exactly the body.
    public static func decodeBody(type: UInt8, _ r: inout ByteReader) throws(WireDecodingError) -> Message {
        let m: Message
        switch type {
        case 1: m = .ping(probe: try r.varint())
        case 2: m = .ack(probe: try r.varint())
        case 3: m = .pingRequest(probe: try r.varint(), target: try r.bytes32(), address: try r.string("address", limit: WireLimits.maxAddressBytes))
        case 4: m = .nack(probe: try r.varint())
        case 8:
            let n = try r.count("member updates", limit: WireLimits.maxMemberUpdates)
            var updates: [MemberUpdate] = []
            updates.reserveCapacity(min(n, 64))
            for _ in 0..<n {
                let member = try r.bytes32()
                let address = try r.string("address", limit: WireLimits.maxAddressBytes)
                let incarnation = try r.varint("incarnation", max: WireLimits.maxIncarnation)
                let offset = r.offset
                guard let state = MemberState(rawValue: try r.u8()) else {
                    throw WireDecodingError(.invalid(field: "member state", detail: "unknown state"), at: offset)
                }
                var u = MemberUpdate(member: member, address: address, incarnation: incarnation, state: state)
                if u.isOwnClaim { u.signature = try r.raw(SigningKeyPair.signatureLength) }
                updates.append(u)
            }
            m = .members(updates)
        case 6: m = .digest(Bytes32(w0: try r.u64(), w1: 0, w2: 0, w3: 0), entries: try r.varint("entry count", max: WireLimits.maxSeq))
        case 7, 18:
            let n = try r.count("entries", limit: WireLimits.maxEntriesPerMessage)
            var entries: [[UInt8]] = []
            entries.reserveCapacity(min(n, 256))
            for _ in 0..<n { entries.append(try r.lengthPrefixed("entry", limit: WireLimits.maxEntryBytes)) }
            m = type == 7 ? .push(entries) : .entries(entries)
        case 16:
            let offset = r.offset
            let lo = try r.u16(), hi = try r.u16()
            guard lo <= hi else { throw WireDecodingError(.invalid(field: "versions", detail: "empty range"), at: offset) }
            m = .hello(versions: lo...hi, agent: try r.string("agent", limit: WireLimits.maxAgentBytes),
                       address: try r.string("address", limit: WireLimits.maxAddressBytes))
        case 17, 21:
            let n = try r.count("version vector", limit: WireLimits.maxVersionVectorAuthors)
            var heads: [VersionVectorHead] = []
            heads.reserveCapacity(min(n, 1024))
            for _ in 0..<n {
                heads.append(VersionVectorHead(author: try r.bytes32(), seq: try r.varint("seq", max: WireLimits.maxSeq), head: try r.bytes32()))
            }
            if type == 21 {
                m = .versionVectorPart(heads: heads)
            } else {
                let q = try r.count("quarantined", limit: WireLimits.maxVersionVectorAuthors)
                var quarantined: [Bytes32] = []
                for _ in 0..<q { quarantined.append(try r.bytes32()) }
                m = .versionVector(heads: heads, quarantined: quarantined)
            }
        case 19:
            let n = try r.count("fork proofs", limit: WireLimits.maxForkProofs)
            var proofs: [ForkProofHeaders] = []
            for _ in 0..<n {
                proofs.append(ForkProofHeaders(first: try r.lengthPrefixed("header", limit: WireLimits.maxHeaderBytes),
                                               second: try r.lengthPrefixed("header", limit: WireLimits.maxHeaderBytes)))
            }
            m = .forkProofs(proofs)
        case 20: m = .syncDone
        default:
            // From a newer peer: skip its body.
            _ = try r.raw(r.remaining)
            return .unknown(type: type)
        }
        try r.expectEnd()
        return m
    }

    /// A TCP frame's plaintext: the type tag, then the body.
    public var frame: [UInt8] {
        var w = ByteWriter()
        w.u8(type)
        encodeBody(into: &w)
        return w.bytes
    }

    /// Decodes a TCP frame's plaintext.
    public static func decode(frame: [UInt8]) throws(WireDecodingError) -> Message {
        guard frame.count <= WireLimits.maxFrameBytes else {
            throw WireDecodingError(.tooLong(field: "frame", length: frame.count, limit: WireLimits.maxFrameBytes), at: 0)
        }
        var r = ByteReader(frame)
        let type = try r.u8()
        var body = ByteReader(frame, range: r.offset..<frame.count)
        return try decodeBody(type: type, &body)
    }
}
