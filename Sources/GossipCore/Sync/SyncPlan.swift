import CRDTLog
import Wire

/// What one side of a sync sends the other, from the two version vectors.
public enum SyncPlan {
    /// For each author this node holds more of than the peer: the seq to stream after.
    /// Authors either side quarantined count too: each serves them below its fork point, so a
    /// peer that lacks part of a forked author's history before the fork gets it, and two
    /// branches compared below a fork point show a lower fork (the peer refuses whatever is at
    /// or past its own fork point, at the cost of one session's bytes).
    ///
    /// When both hold the same seq of an author under different heads, that author forked (one
    /// identity wrote from two places): this node sends its own entry at that seq, so the peer
    /// holds both branches and detects the fork. (A fork below the peer's head shows the same
    /// way, through the broken link of the first entry streamed.)
    public static func toSend(mine: VersionVector, theirs: [VersionVectorHead], theirQuarantined: Set<Bytes32>) -> [(author: Bytes32, after: UInt64)] {
        var their: [Bytes32: VersionVectorHead] = [:]
        for h in theirs { their[h.author] = h }
        return mine.heads.compactMap { author, head -> (author: Bytes32, after: UInt64)? in
            guard let t = their[author] else { return (author, 0) }
            if head.seq > t.seq { return (author, t.seq) }
            if head.seq == t.seq, head.head != t.head, head.seq > 0 { return (author, head.seq - 1) }
            return nil
        }.sorted { $0.author < $1.author }
    }

    /// Fork proofs the peer lacks: of authors quarantined here but not there, and of authors
    /// the peer quarantined at a higher fork point (it serves entries at or past this node's
    /// fork point, which the proof held here shows to be disputed). `theirSeq` is the peer's
    /// announced seq of an author.
    public static func proofsToSend(mine forkPoints: [Bytes32: UInt64], theirQuarantined: Set<Bytes32>,
                                    theirSeq: (Bytes32) -> UInt64?) -> Set<Bytes32> {
        Set(forkPoints.compactMap { author, f in
            if !theirQuarantined.contains(author) { return author }
            if let s = theirSeq(author), s >= f { return author }
            return nil
        })
    }

    /// The version vector as a message.
    ///
    /// `promised` are heads that other sessions of this node are receiving right now (their peers
    /// announced them): where one is ahead of what is stored, it is announced instead, so that
    /// two peers do not both stream the same entries (a node joining with two seeds would verify
    /// everything twice). An author this node quarantined, or holds at the same seq under another
    /// head, keeps its own head. Should a promise fall through, the digests still differ after
    /// the sessions and the next sync fetches the rest.
    ///
    /// A vector of any size travels in frames below the frame limit: parts of
    /// ``WireLimits/versionVectorPartHeads`` heads, then the last part with the quarantined authors.
    public static func messages(_ vv: VersionVector, promised: [VersionVectorHead] = []) -> [Message] {
        var heads: [Bytes32: VersionVectorHead] = [:]
        for (author, h) in vv.heads { heads[author] = VersionVectorHead(author: author, seq: h.seq, head: h.head) }
        for p in promised where !vv.quarantined.contains(p.author) && p.seq > (heads[p.author]?.seq ?? 0) {
            heads[p.author] = p
        }
        let all = heads.values.sorted { $0.author < $1.author }
        let part = WireLimits.versionVectorPartHeads
        var out: [Message] = []
        var start = 0
        while all.count - start > part {
            out.append(.versionVectorPart(heads: Array(all[start..<(start + part)])))
            start += part
        }
        out.append(.versionVector(heads: Array(all[start...]), quarantined: vv.quarantined.sorted()))
        return out
    }
}
