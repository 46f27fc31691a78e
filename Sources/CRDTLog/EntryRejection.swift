/// Why an entry was not stored. Every reason has a stable snake_case ``label`` for metrics.
public enum EntryRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes do not decode as an entry.
    case malformed(String)
    /// A format version this node does not know.
    case unsupportedVersion(UInt8)
    /// An empty, too long or ill-formed kind.
    case badKind
    /// The payload exceeds ``LogLimits/maxPayloadBytes``.
    case payloadTooLarge(Int)
    /// The payload does not hash to the header's payload hash.
    case payloadHashMismatch
    /// The signature is not the author's over the header.
    case badSignature
    /// seq/prev inconsistent with the author's chain.
    case invalidChain(String)
    /// The timestamp is not later than the predecessor's.
    case clockNotMonotonic
    /// Stamped more than ``LogLimits/maxClockSkewMillis`` ahead of this node's clock. Transient.
    case fromTheFuture(aheadMillis: UInt64)
    /// The author is on this node's block list.
    case blocked
    /// It arrived before its predecessor and the hold buffer (in all, or this author's share)
    /// is full. Transient: offered again by the next sync.
    case holdBufferFull
    /// The author forked its log and is quarantined.
    case quarantined
    /// This entry and a stored one prove a fork; the proof was kept and the author quarantined.
    case fork
    /// An `identity.successor` entry that is not seq 1 of its author, or whose predecessor's
    /// signature does not verify (see ``Succession``).
    case badSuccession(String)
    /// A `log.checkpoint` entry whose payload is malformed or out of range, or whose kept entries
    /// do not match it (a listed entry missing here, the listed ids' hash, the kept chain).
    case badCheckpoint(String)

    public var label: String {
        switch self {
        case .malformed: "malformed"
        case .unsupportedVersion: "unsupported_version"
        case .badKind: "bad_kind"
        case .payloadTooLarge: "payload_too_large"
        case .payloadHashMismatch: "payload_hash_mismatch"
        case .badSignature: "bad_signature"
        case .invalidChain: "invalid_chain"
        case .clockNotMonotonic: "clock_not_monotonic"
        case .fromTheFuture: "from_the_future"
        case .blocked: "blocked"
        case .holdBufferFull: "hold_buffer_full"
        case .quarantined: "quarantined"
        case .fork: "fork"
        case .badSuccession: "bad_succession"
        case .badCheckpoint: "bad_checkpoint"
        }
    }

    /// True for refusals that a later retry can overcome (the entry itself is fine).
    public var isTransient: Bool {
        switch self {
        case .fromTheFuture, .holdBufferFull: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): "malformed entry: \(why)"
        case .unsupportedVersion(let v): "unsupported entry format version \(v)"
        case .badKind: "kind must be 1-32 bytes of [a-z0-9._-]"
        case .payloadTooLarge(let n): "payload is \(n) bytes, limit \(LogLimits.maxPayloadBytes)"
        case .payloadHashMismatch: "payload does not match its hash"
        case .badSignature: "signature does not verify"
        case .invalidChain(let why): "invalid chain: \(why)"
        case .clockNotMonotonic: "timestamp not later than the predecessor's"
        case .fromTheFuture(let ms): "stamped \(ms) ms ahead of this node's clock"
        case .blocked: "author is blocked"
        case .holdBufferFull: "arrived before its predecessor and the hold buffer is full; offered again later"
        case .quarantined: "author is quarantined for forking its log"
        case .fork: "fork: a different entry with this author and seq is known"
        case .badSuccession(let why): "invalid successor announcement: \(why)"
        case .badCheckpoint(let why): "invalid checkpoint: \(why)"
        }
    }
}
