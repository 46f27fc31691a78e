import Wire

/// What a node holds of one author: its contiguous entries 1...seq, the last with id `head`.
public struct AuthorHead: Sendable, Hashable {
    public var seq: UInt64
    public var head: EntryID
    public var hlc: HLCTimestamp
    public init(seq: UInt64, head: EntryID, hlc: HLCTimestamp) { self.seq = seq; self.head = head; self.hlc = hlc }
}

/// author → highest contiguous seq and head id, for every author served (not quarantined, not
/// blocked). Per-author hash chains make it a complete description of what a node holds.
public struct VersionVector: Sendable, Hashable {
    public var heads: [AuthorID: AuthorHead]
    /// Authors quarantined for forking; part of the digest so that nodes that differ in the fork
    /// proofs they hold see different digests and sync.
    public var quarantined: Set<AuthorID>

    public init(heads: [AuthorID: AuthorHead] = [:], quarantined: Set<AuthorID> = []) {
        self.heads = heads; self.quarantined = quarantined
    }

    /// Total entries described.
    public var entryCount: UInt64 { heads.values.reduce(0) { $0 + $1.seq } }

    /// BLAKE2b-256 over the domain tag, then each author in byte order with its seq and head,
    /// then a 0xff separator and each quarantined author in byte order. Equal digests mean equal sets.
    public var digest: Bytes32 {
        var w = ByteWriter(capacity: 32 + heads.count * 72 + quarantined.count * 32)
        w.raw(LogLimits.digestDomain)
        for author in heads.keys.sorted() {
            let h = heads[author]!
            w.raw(author); w.u64(h.seq); w.raw(h.head)
        }
        w.u8(0xff)
        for author in quarantined.sorted() { w.raw(author) }
        return Blake2b.hash256(w.bytes[...])
    }
}
