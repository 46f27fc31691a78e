import Wire

/// What a checkpoint entry (kind `log.checkpoint`) says: which of its author's earlier entries
/// are still live. Everything of the author below the checkpoint and not kept is dead: every node
/// deletes it, header and payload, and no node sends it again. See docs/protocol.md, "Retention".
///
/// The checkpoint at seq C keeps every entry with seq in `keepFrom..<C` (whatever it is) and the
/// `listed` entries below `keepFrom`. Listing stops where the payload would outgrow
/// ``LogLimits/maxPayloadBytes``, so a checkpoint always fits; what is not listed below that point
/// is kept whole instead. The listed entries are pinned by ``listedHash`` (their ids, in seq
/// order): a node receives them from anyone and checks each by its own signature and by the hash.
///
/// ```
/// u8      format (1)
/// u64     keep_from (1 <= keep_from <= C)
/// varint  n, the number of listed seqs
/// n ×     varint: the first listed seq, then each one's distance from the one before (>= 1);
///         all listed seqs are below keep_from
/// [32]    BLAKE2b-256("gossip-node/checkpoint/v1\0" || id_1 || ... || id_n)
/// ```
public struct Checkpoint: Sendable, Hashable {
    /// The payload format this version writes and applies. A checkpoint of another format is
    /// stored and relayed as an entry of an unknown kind, and not applied.
    public static let format: UInt8 = 1
    /// Domain-separation tag in front of the listed ids when they are hashed.
    public static let hashDomain: [UInt8] = Array("gossip-node/checkpoint/v1".utf8) + [0]

    /// The checkpoint entry's own seq (from its header).
    public let seq: UInt64
    /// Every entry from this seq up to the checkpoint is kept.
    public let keepFrom: UInt64
    /// The kept seqs below ``keepFrom``, ascending.
    public let listed: [UInt64]
    /// BLAKE2b-256 over the listed entries' ids in seq order (with ``hashDomain`` in front).
    public let listedHash: Bytes32

    public init(seq: UInt64, keepFrom: UInt64, listed: [UInt64], listedHash: Bytes32) {
        self.seq = seq; self.keepFrom = keepFrom; self.listed = listed; self.listedHash = listedHash
    }

    /// Decodes a checkpoint entry's payload; `seq` is the entry's seq. Returns nil for a payload of
    /// another format (a later version's checkpoint: relayed, not applied); throws when the payload
    /// claims this format and is malformed or out of range.
    public init?(seq: UInt64, payload: [UInt8]) throws(EntryRejection) {
        guard let version = payload.first else { throw .badCheckpoint("empty payload") }
        guard version == Self.format else { return nil }
        do {
            var r = ByteReader(payload)
            _ = try r.u8()
            let keepFrom = try r.u64()
            guard keepFrom >= 1, keepFrom <= seq else { throw EntryRejection.badCheckpoint("keep_from \(keepFrom) is not in 1...\(seq)") }
            // Each listed seq takes at least one byte.
            let n = try r.count("listed", limit: payload.count)
            var listed: [UInt64] = []
            listed.reserveCapacity(n)
            var last: UInt64 = 0
            for _ in 0..<n {
                let delta = try r.varint("listed seq distance", max: LogLimits.maxSeq)
                guard delta >= 1, delta < keepFrom - last else {
                    throw EntryRejection.badCheckpoint("listed seqs must rise and stay below keep_from \(keepFrom)")
                }
                last += delta
                listed.append(last)
            }
            let hash = try r.bytes32()
            try r.expectEnd()
            guard UInt64(n) + (seq - keepFrom) <= LogLimits.maxCheckpointKept else {
                throw EntryRejection.badCheckpoint("keeps more than \(LogLimits.maxCheckpointKept) entries")
            }
            self.init(seq: seq, keepFrom: keepFrom, listed: listed, listedHash: hash)
        } catch let e as EntryRejection {
            throw e
        } catch {
            throw .badCheckpoint("\(error)")
        }
    }

    /// The payload bytes.
    public var payload: [UInt8] {
        var w = ByteWriter(capacity: 1 + 8 + 4 + listed.count * 3 + 32)
        w.u8(Self.format)
        w.u64(keepFrom)
        w.varint(UInt64(listed.count))
        var last: UInt64 = 0
        for s in listed { w.varint(s - last); last = s }
        w.raw(listedHash)
        return w.bytes
    }

    /// The hash of listed entry ids, in seq order.
    public static func hash(ids: [EntryID]) -> Bytes32 {
        Blake2b.hash256(parts: [hashDomain] + ids.map(\.bytes))
    }

    /// True when the entry at `s` (below this checkpoint) is kept.
    public func keeps(_ s: UInt64) -> Bool {
        if s >= seq { return true }
        if s >= keepFrom { return true }
        let i = lowerBound(s)
        return i < listed.count && listed[i] == s
    }

    /// How many entries with seq above `after` (and below the checkpoint) it keeps.
    public func keptCount(after: UInt64) -> UInt64 {
        guard after < seq else { return 0 }
        let listedAbove = UInt64(listed.count - lowerBound(after + 1))
        let rangeStart = max(keepFrom, after + 1)
        return listedAbove + (seq > rangeStart ? seq - rangeStart : 0)
    }

    /// Whether some kept seq lies in `range` (a gap in a stored chain is allowed only where none does).
    public func keepsAny(in range: Range<UInt64>) -> Bool {
        guard !range.isEmpty else { return false }
        if range.upperBound > keepFrom { return true }
        let i = lowerBound(range.lowerBound)
        return i < listed.count && listed[i] < range.upperBound
    }

    private func lowerBound(_ s: UInt64) -> Int {
        var lo = 0, hi = listed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if listed[mid] < s { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The largest payload of a checkpoint listing `count` seqs is bounded by this estimate; the
    /// writer lists seqs while the exact encoding stays within ``LogLimits/maxPayloadBytes``.
    static let fixedBytes = 1 + 8 + 10 + 32
}
