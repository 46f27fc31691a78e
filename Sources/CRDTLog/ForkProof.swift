import Wire

/// Two signed headers by one author that cannot both belong to an honest append-only log:
/// either the same seq with different ids, or consecutive seqs where the later one's `prev` is
/// not the earlier one's id. Anyone can check it without trusting who sent it.
public struct ForkProof: Sendable, Hashable {
    public let first: EntryHeader
    public let second: EntryHeader

    public var author: AuthorID { first.author }

    /// Checks the two headers and builds the proof; throws when they prove nothing.
    public init(first: [UInt8], second: [UInt8]) throws(EntryRejection) {
        let a = try Entry.header(first)
        let b = try Entry.header(second)
        try self.init(a, b)
    }

    public init(_ a: EntryHeader, _ b: EntryHeader) throws(EntryRejection) {
        // Canonical order, so a proof has one form whichever copy arrived first.
        let (x, y) = (a.seq, a.id) <= (b.seq, b.id) ? (a, b) : (b, a)
        guard x.author == y.author else { throw .invalidChain("fork proof headers have different authors") }
        let sameSeq = x.seq == y.seq && x.id != y.id
        // A difference, not `x.seq + 1`: the seqs come off the wire.
        let brokenLink = y.seq > x.seq && y.seq - x.seq == 1 && y.prev != x.id
        guard sameSeq || brokenLink else { throw .invalidChain("these headers do not prove a fork") }
        guard x.verifySignature(), y.verifySignature() else { throw .badSignature }
        first = x; second = y
    }
}

