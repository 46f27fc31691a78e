import Wire

/// A new identity that continues a forked one (an honest fork: a data directory restored from
/// an old backup and written to while offline, or one identity copied to two machines).
///
/// It travels as the first entry (seq 1) of the successor's own log, kind
/// ``EntryKind/successor``: the entry is signed by the successor's key, and its payload carries
/// the predecessor's signature over ``signingBytes(successor:predecessor:seq:head:)``, so the
/// announcement is signed by both keys. `predecessorSeq`/`predecessorHead` name the last entry
/// of the predecessor's branch that the successor continues (0 and zero when none).
///
/// What it changes: entries of the successor read as trusted when the predecessor is trusted and
/// quarantined for forking (at most ``TrustPolicy/maxTrustedSuccessors`` successors per
/// predecessor, first announced first); a blocked predecessor blocks its successors unless they
/// are listed in `trust`. See docs/security.md and docs/protocol.md "Successor identities".
public struct Succession: Sendable, Hashable {
    public let successor: AuthorID
    public let predecessor: AuthorID
    public let predecessorSeq: UInt64
    public let predecessorHead: EntryID
    /// The predecessor's Ed25519 signature over ``signingBytes(successor:predecessor:seq:head:)``.
    public let signature: [UInt8]
    /// The host name the successor announced itself from (provenance only).
    public let host: String?
    /// The successor's announcement time (its entry's HLC), for ordering successors.
    public let announcedAt: HLCTimestamp

    /// Domain separation for the predecessor's signature.
    public static let signatureDomain = Array("gossip-node/successor/v1".utf8) + [0]

    /// What the predecessor signs: domain, successor (32), predecessor (32), seq (u64 BE), head (32).
    public static func signingBytes(successor: AuthorID, predecessor: AuthorID, seq: UInt64, head: EntryID) -> [UInt8] {
        var w = ByteWriter(capacity: signatureDomain.count + 104)
        w.raw(signatureDomain)
        w.raw(successor); w.raw(predecessor); w.u64(seq); w.raw(head)
        return w.bytes
    }

    /// The payload of a successor entry, signed here with the predecessor's key.
    public static func payload(successor: AuthorID, predecessor: SigningKeyPair, seq: UInt64, head: EntryID, host: String?) -> [UInt8] {
        let sig = predecessor.sign(signingBytes(successor: successor, predecessor: predecessor.publicKey, seq: seq, head: head))
        var o: [String: JSONValue] = [
            "predecessor": .string(predecessor.publicKey.hex), "predecessor_seq": .number(Double(seq)),
            "predecessor_head": .string(head.hex), "signature": .string(Hex.encode(sig)),
        ]
        if let host { o["host"] = .string(host) }
        return JSON.serializedBytes(.object(o))
    }

    /// Reads and checks a successor entry (already verified as signed by its author): seq 1,
    /// a predecessor other than itself, a seq in range, and the predecessor's valid signature.
    public init(entry e: Entry) throws(EntryRejection) {
        guard e.kind == EntryKind.successor else { throw .badSuccession("not a successor entry") }
        guard e.seq == 1 else { throw .badSuccession("must be the first entry of its author, is seq \(e.seq)") }
        guard let v = try? JSON.parse(e.payload), let p = v["predecessor"]?.stringValue.flatMap(Bytes32.init(hex:)),
              let head = v["predecessor_head"]?.stringValue.flatMap(Bytes32.init(hex:)),
              let seqNumber = v["predecessor_seq"]?.numberValue,
              let sigHex = v["signature"]?.stringValue, let sig = Hex.decode(sigHex), sig.count == SigningKeyPair.signatureLength
        else { throw .badSuccession("payload lacks predecessor, predecessor_seq, predecessor_head or signature") }
        // A JSON number: an integer in 0...2^53 (exact in a double) and within the seq range.
        guard seqNumber >= 0, seqNumber <= 9_007_199_254_740_992, seqNumber.rounded(.towardZero) == seqNumber,
              UInt64(seqNumber) <= WireLimits.maxSeq else { throw .badSuccession("predecessor_seq out of range") }
        guard p != e.author else { throw .badSuccession("an identity cannot succeed itself") }
        let seq = UInt64(seqNumber)
        guard SigningKeyPair.verify(signature: sig, message: Self.signingBytes(successor: e.author, predecessor: p, seq: seq, head: head), publicKey: p)
        else { throw .badSuccession("the predecessor's signature does not verify") }
        successor = e.author; predecessor = p; predecessorSeq = seq; predecessorHead = head; signature = sig
        host = v["host"]?.stringValue
        announcedAt = e.hlc
    }
}
