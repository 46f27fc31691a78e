import CRDTLog
import Wire

/// What one side of a sync sends the other, from the two version vectors.
public enum SyncPlan {
    /// For each author this node holds more of than the peer: the seq to stream after.
    /// Authors the peer quarantined are skipped (it would refuse them).
    public static func toSend(mine: VersionVector, theirs: [VersionVectorHead], theirQuarantined: Set<Bytes32>) -> [(author: Bytes32, after: UInt64)] {
        var theirSeq: [Bytes32: UInt64] = [:]
        for h in theirs { theirSeq[h.author] = h.seq }
        return mine.heads.compactMap { author, head -> (author: Bytes32, after: UInt64)? in
            guard !theirQuarantined.contains(author) else { return nil }
            let t = theirSeq[author] ?? 0
            return head.seq > t ? (author, t) : nil
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
