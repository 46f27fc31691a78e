import CRDTLog
import Wire

/// What one side of a sync sends the other, from the two version vectors.
public enum SyncPlan {
    /// For each author this node holds more of than the peer: the seq to stream after.
    /// Authors the peer quarantined are skipped (it would refuse them).
    ///
    /// When both hold the same seq of an author under different heads, that author forked (one
    /// identity wrote from two places): this node sends its own entry at that seq, so the peer
    /// holds both branches and detects the fork. (A fork below the peer's head shows the same
    /// way, through the broken link of the first entry streamed.)
    public static func toSend(mine: VersionVector, theirs: [VersionVectorHead], theirQuarantined: Set<Bytes32>) -> [(author: Bytes32, after: UInt64)] {
        var their: [Bytes32: VersionVectorHead] = [:]
        for h in theirs { their[h.author] = h }
        return mine.heads.compactMap { author, head -> (author: Bytes32, after: UInt64)? in
            guard !theirQuarantined.contains(author) else { return nil }
            guard let t = their[author] else { return (author, 0) }
            if head.seq > t.seq { return (author, t.seq) }
            if head.seq == t.seq, head.head != t.head, head.seq > 0 { return (author, head.seq - 1) }
            return nil
        }.sorted { $0.author < $1.author }
    }

    /// Fork proofs the peer does not have (authors quarantined here but not there).
    public static func proofsToSend(mine: Set<Bytes32>, theirQuarantined: Set<Bytes32>) -> Set<Bytes32> {
        mine.subtracting(theirQuarantined)
    }

    /// The version vector as a message.
    public static func message(_ vv: VersionVector) -> Message {
        .versionVector(heads: vv.heads.map { VersionVectorHead(author: $0.key, seq: $0.value.seq, head: $0.value.head) }.sorted { $0.author < $1.author },
                       quarantined: vv.quarantined.sorted())
    }
}
