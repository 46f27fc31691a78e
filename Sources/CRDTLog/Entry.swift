import Wire

/// An author's identity: its Ed25519 public key.
public typealias AuthorID = Bytes32
/// An entry's id: BLAKE2b-256 of its signed header.
public typealias EntryID = Bytes32

/// One signed, immutable record of an author's append-only log.
///
/// The signed header is the canonical binary encoding below; the payload travels beside it and
/// is bound to it by its length and BLAKE2b-256 hash (so a later retention feature can drop a
/// superseded payload while every chain stays verifiable). See docs/protocol.md, "Entries".
///
/// ```
/// u8      format version (1)
/// [32]    author (Ed25519 public key)
/// u64     seq (big-endian, 1-based, contiguous per author)
/// [32]    prev: id of entry seq-1 (32 zero bytes when seq == 1)
/// u64     hlc: hybrid logical clock (ms << 16 | counter)
/// u8+k    kind length k (1...32), kind bytes [a-z0-9._-]
/// u16+n   key length n (0...256), key bytes (UTF-8)
/// u32     payload length (0...65536)
/// [32]    payload BLAKE2b-256
/// [64]    Ed25519 signature over "gossip-node/entry/v1\0" || all bytes above
/// ```
public struct Entry: Sendable, Hashable {
    /// The signed header (what fork proofs carry), decoded.
    public let header: EntryHeader
    /// The payload (JSON bytes for the known kinds); its length and hash are in the header.
    public let payload: [UInt8]

    public var author: AuthorID { header.author }
    public var seq: UInt64 { header.seq }
    public var prev: EntryID { header.prev }
    public var hlc: HLCTimestamp { header.hlc }
    public var kind: String { header.kind }
    public var key: String { header.key }
    public var payloadHash: Bytes32 { header.payloadHash }
    /// Header and signature bytes, exactly as signed, stored and sent.
    public var signedHeader: [UInt8] { header.signedHeader }
    /// BLAKE2b-256 of `signedHeader`.
    public var id: EntryID { header.id }

    /// Length of the fixed part of a header without kind, key and signature.
    static let fixedHeaderBytes = 1 + 32 + 8 + 32 + 8 + 1 + 2 + 4 + 32
    /// Largest possible encoded entry.
    public static let maxEncodedBytes =
        fixedHeaderBytes + LogLimits.maxKindBytes + LogLimits.maxKeyBytes + 64 + LogLimits.maxPayloadBytes

    /// The signature (last 64 bytes of the signed header).
    public var signature: ArraySlice<UInt8> { signedHeader[(signedHeader.count - 64)...] }
    /// The bytes the signature covers, without the domain tag.
    public var unsignedHeader: ArraySlice<UInt8> { signedHeader[..<(signedHeader.count - 64)] }

    /// Signed header followed by payload: the form entries take in bundles and on the wire.
    public var encoded: [UInt8] { signedHeader + payload }

    /// Creates and signs a new entry.
    public static func sign(
        keyPair: SigningKeyPair, seq: UInt64, prev: EntryID, hlc: HLCTimestamp,
        kind: String, key: String, payload: [UInt8]
    ) throws(EntryRejection) -> Entry {
        guard EntryKind.isWellFormed(kind) else { throw .badKind }
        guard key.utf8.count <= LogLimits.maxKeyBytes else { throw .malformed("key longer than \(LogLimits.maxKeyBytes) bytes") }
        guard payload.count <= LogLimits.maxPayloadBytes else { throw .payloadTooLarge(payload.count) }
        guard seq >= 1, seq <= LogLimits.maxSeq else { throw .invalidChain("seq must be in 1...\(LogLimits.maxSeq)") }
        var w = ByteWriter(capacity: fixedHeaderBytes + kind.utf8.count + key.utf8.count + 64)
        w.u8(LogLimits.entryFormatVersion)
        w.raw(keyPair.publicKey)
        w.u64(seq)
        w.raw(seq == 1 ? .zero : prev)
        w.u64(hlc.rawValue)
        w.u8(UInt8(kind.utf8.count)); w.raw(kind.utf8)
        w.u16(UInt16(key.utf8.count)); w.raw(key.utf8)
        w.u32(UInt32(payload.count))
        w.raw(Blake2b.hash256(payload[...]))
        let signature = keyPair.sign(LogLimits.signatureDomain + w.bytes)
        w.raw(signature)
        return try Entry(signedHeader: w.bytes, payload: payload)
    }

    /// Decodes `signedHeader || payload`. Checks the structure, limits and payload hash; the
    /// signature is checked separately by ``verifySignature()`` (the costly step, done in parallel).
    public init(encoded: [UInt8]) throws(EntryRejection) {
        let headerLength = try Entry.headerLength(of: encoded)
        try self.init(signedHeader: Array(encoded[..<headerLength]), payload: Array(encoded[headerLength...]))
    }

    /// Decodes a signed header and its payload kept apart (as the store keeps them).
    public init(signedHeader: [UInt8], payload: [UInt8]) throws(EntryRejection) {
        let fields = try Entry.parseHeader(signedHeader)
        guard fields.headerLength == signedHeader.count else {
            throw .malformed("header has \(signedHeader.count - fields.headerLength) trailing byte(s)")
        }
        guard payload.count == fields.payloadLength else {
            throw .malformed("payload is \(payload.count) bytes, header says \(fields.payloadLength)")
        }
        let hash = Blake2b.hash256(payload[...])
        guard hash == fields.payloadHash else { throw .payloadHashMismatch }
        header = EntryHeader(author: fields.author, seq: fields.seq, prev: fields.prev, hlc: fields.hlc, kind: fields.kind, key: fields.key,
                             payloadLength: fields.payloadLength, payloadHash: fields.payloadHash, signedHeader: signedHeader,
                             id: Blake2b.hash256(signedHeader[...]))
        self.payload = payload
    }

    /// Decodes a signed header alone (fork proofs carry headers without payloads).
    public static func header(_ signedHeader: [UInt8]) throws(EntryRejection) -> EntryHeader {
        let f = try parseHeader(signedHeader)
        guard f.headerLength == signedHeader.count else { throw .malformed("header has trailing bytes") }
        return EntryHeader(author: f.author, seq: f.seq, prev: f.prev, hlc: f.hlc, kind: f.kind, key: f.key,
                           payloadLength: f.payloadLength, payloadHash: f.payloadHash, signedHeader: signedHeader,
                           id: Blake2b.hash256(signedHeader[...]))
    }

    /// True when the signature is the author's over this header.
    public func verifySignature() -> Bool {
        EntryHeader.verify(signedHeader: signedHeader, author: author)
    }

    /// The length of the signed header at the front of `bytes`.
    static func headerLength(of bytes: [UInt8]) throws(EntryRejection) -> Int {
        try parseHeader(bytes).headerLength
    }

    struct HeaderFields {
        var author: AuthorID, seq: UInt64, prev: EntryID, hlc: HLCTimestamp
        var kind: String, key: String, payloadLength: Int, payloadHash: Bytes32, headerLength: Int
    }

    static func parseHeader(_ bytes: [UInt8]) throws(EntryRejection) -> HeaderFields {
        do {
            var r = ByteReader(bytes)
            let version = try r.u8()
            guard version == LogLimits.entryFormatVersion else { throw EntryRejection.unsupportedVersion(version) }
            let author = try r.bytes32()
            let seq = try r.u64()
            let prev = try r.bytes32()
            let hlc = HLCTimestamp(rawValue: try r.u64())
            let kindLength = Int(try r.u8())
            guard kindLength >= 1, kindLength <= LogLimits.maxKindBytes else { throw EntryRejection.badKind }
            let kindBytes = try r.raw(kindLength)
            let kind = String(decoding: kindBytes, as: UTF8.self)
            guard EntryKind.isWellFormed(kind) else { throw EntryRejection.badKind }
            let keyLength = Int(try r.u16())
            guard keyLength <= LogLimits.maxKeyBytes else { throw EntryRejection.malformed("key is \(keyLength) bytes, limit \(LogLimits.maxKeyBytes)") }
            guard let key = String(validating: try r.raw(keyLength), as: UTF8.self) else { throw EntryRejection.malformed("key is not UTF-8") }
            let payloadLength = Int(try r.u32())
            guard payloadLength <= LogLimits.maxPayloadBytes else { throw EntryRejection.payloadTooLarge(payloadLength) }
            let payloadHash = try r.bytes32()
            _ = try r.raw(64)
            guard seq >= 1 else { throw EntryRejection.invalidChain("seq 0") }
            // Stored as SQLite's signed 64-bit integers, and `seq + 1` is computed: bounded here.
            guard seq <= LogLimits.maxSeq else { throw EntryRejection.invalidChain("seq \(seq) is above \(LogLimits.maxSeq)") }
            guard (seq == 1) == (prev == .zero) else {
                throw EntryRejection.invalidChain(seq == 1 ? "first entry with a predecessor" : "zero predecessor after seq 1")
            }
            return HeaderFields(author: author, seq: seq, prev: prev, hlc: hlc, kind: kind, key: key,
                                payloadLength: payloadLength, payloadHash: payloadHash, headerLength: r.offset)
        } catch let e as WireDecodingError {
            throw .malformed(e.description)
        } catch let e as EntryRejection {
            throw e
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// A signed entry header without its payload (as carried in fork proofs).
public struct EntryHeader: Sendable, Hashable {
    public let author: AuthorID
    public let seq: UInt64
    public let prev: EntryID
    public let hlc: HLCTimestamp
    public let kind: String
    public let key: String
    public let payloadLength: Int
    public let payloadHash: Bytes32
    public let signedHeader: [UInt8]
    public let id: EntryID

    public func verifySignature() -> Bool { Self.verify(signedHeader: signedHeader, author: author) }

    static func verify(signedHeader: [UInt8], author: AuthorID) -> Bool {
        guard signedHeader.count > 64 else { return false }
        let body = signedHeader[..<(signedHeader.count - 64)]
        return SigningKeyPair.verify(signature: Array(signedHeader[(signedHeader.count - 64)...]),
                                     message: LogLimits.signatureDomain + body, publicKey: author)
    }
}
