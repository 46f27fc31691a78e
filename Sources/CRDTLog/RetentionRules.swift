import Wire

/// Which of an author's own entries are still live when it writes a checkpoint, and when it
/// writes one. Pure: the entries and the time in, the checkpoint's content out.
///
/// An entry is live while some view can still show it, or while a node that holds an older entry
/// needs it to stop showing that one:
/// - `memory` and `memory.retract`: the latest of the author's entries for each key (a retraction
///   stays, so that a node still showing the memory drops it);
/// - `breaker`: the latest event for each (provider, model), and any event whose expiry
///   (`resets_at`, or its own time when it has none) is still ahead;
/// - `benchmark`: observations recorded within ``benchmarkWindowMillis`` (the API's longest
///   `max_age`);
/// - `identity.successor` and kinds this version does not know: always;
/// - an earlier `log.checkpoint`: never (the new one replaces it).
public struct RetentionRules: Sendable, Hashable {
    /// Benchmark observations older than this are dead (default 30 days); also the API's
    /// longest `max_age`.
    public var benchmarkWindowMillis: UInt64
    /// This node writes a checkpoint once it has written this many entries since its last one
    /// (0: never).
    public var checkpointEvery: UInt64
    /// Also once this node has written nothing for this long, if it wrote anything since its
    /// last checkpoint (so a quiet node's log is compact; 0: only every ``checkpointEvery``).
    public var quietMillis: UInt64

    public static let defaultBenchmarkWindowMillis: UInt64 = 30 * 86_400_000
    public static let defaultCheckpointEvery: UInt64 = 1_000
    public static let defaultQuietMillis: UInt64 = 30_000
    /// A quiet node looks again this often for entries that expired meanwhile (breaker events,
    /// benchmark observations), without new writes.
    public static let expiryLookMillis: UInt64 = 10 * 60_000

    public init(benchmarkWindowMillis: UInt64 = Self.defaultBenchmarkWindowMillis, checkpointEvery: UInt64 = Self.defaultCheckpointEvery,
                quietMillis: UInt64 = Self.defaultQuietMillis) {
        self.benchmarkWindowMillis = benchmarkWindowMillis
        self.checkpointEvery = checkpointEvery
        self.quietMillis = quietMillis
    }

    /// Whether to look for dead entries now: `since` entries were written after the last
    /// checkpoint (or since the first), the newest at `lastWriteMillis`; the last look was at
    /// head seq `lookedSeq` (entries written since: `head - lookedSeq`), at `lookedAt`. A
    /// checkpoint follows only if the look finds something dead.
    public func shouldLook(since: UInt64, newSinceLook: UInt64, lookedAt: UInt64?, lastWriteMillis: UInt64, nowMillis: UInt64) -> Bool {
        guard checkpointEvery > 0, since > 0 else { return false }
        if since >= checkpointEvery && (lookedAt == nil || newSinceLook >= checkpointEvery) { return true }
        guard quietMillis > 0, nowMillis >= lastWriteMillis, nowMillis - lastWriteMillis >= quietMillis else { return false }
        // Quiet: once after the last write, then for expiries every ``expiryLookMillis``.
        guard let at = lookedAt else { return true }
        return newSinceLook > 0 || (nowMillis >= at && nowMillis - at >= Self.expiryLookMillis)
    }

    /// One of the author's entries, as the rules see it (the payload only for breakers and benchmarks).
    public struct Candidate: Sendable {
        public var seq: UInt64
        public var id: EntryID
        public var kind: String
        public var key: String
        public var hlcMillis: UInt64
        public var payload: [UInt8]
        public init(seq: UInt64, id: EntryID, kind: String, key: String, hlcMillis: UInt64, payload: [UInt8]) {
            self.seq = seq; self.id = id; self.kind = kind; self.key = key; self.hlcMillis = hlcMillis; self.payload = payload
        }
    }

    /// The live candidates, in seq order. `candidates` must be in seq order.
    public func live(_ candidates: [Candidate], nowMillis: UInt64) -> [Candidate] {
        var latestOfKey: [String: UInt64] = [:]
        var latestOfBreaker: [String: UInt64] = [:]
        var breakerOf: [UInt64: (series: String, expiry: UInt64)] = [:]
        for c in candidates {
            switch c.kind {
            case EntryKind.memory, EntryKind.memoryRetraction:
                latestOfKey[c.key] = c.seq
            case EntryKind.breaker:
                guard let p = BreakerPayload(json: c.payload) else { continue }
                let series = p.provider + "\u{0}" + p.model
                latestOfBreaker[series] = c.seq
                let resets = p.resetsAt.flatMap(RFC3339.parse).map { UInt64(clamping: $0) }
                breakerOf[c.seq] = (series, resets ?? c.hlcMillis)
            default:
                break
            }
        }
        let benchmarkCutoff = nowMillis > benchmarkWindowMillis ? nowMillis - benchmarkWindowMillis : 0
        return candidates.filter { c in
            switch c.kind {
            case EntryKind.memory, EntryKind.memoryRetraction:
                return latestOfKey[c.key] == c.seq
            case EntryKind.breaker:
                // A breaker event this version cannot read stays (as an unknown kind would).
                guard let b = breakerOf[c.seq] else { return true }
                return latestOfBreaker[b.series] == c.seq || b.expiry > nowMillis
            case EntryKind.benchmark:
                guard let p = BenchmarkPayload(json: c.payload) else { return true }
                // As the view reads it: a claimed time later than the entry's own is not believed.
                let claimed = p.recordedAt.flatMap(RFC3339.parse).map { UInt64(clamping: $0) } ?? c.hlcMillis
                return min(claimed, c.hlcMillis) >= benchmarkCutoff
            case EntryKind.checkpoint:
                return false
            default:
                return true
            }
        }
    }

    /// The checkpoint to write at seq `seq` given the live entries below it (in seq order): they
    /// are listed while the payload fits ``LogLimits/maxPayloadBytes``; from the first that does
    /// not fit on, everything is kept. Nil when that would keep more than
    /// ``LogLimits/maxCheckpointKept`` entries (none is written then).
    public static func checkpoint(seq: UInt64, live: [Candidate]) -> Checkpoint? {
        var size = Checkpoint.fixedBytes
        var listed: [UInt64] = []
        var ids: [EntryID] = []
        var keepFrom = seq
        var last: UInt64 = 0
        for c in live {
            let add = varintBytes(c.seq - last)
            if size + add > LogLimits.maxPayloadBytes { keepFrom = c.seq; break }
            size += add
            listed.append(c.seq); ids.append(c.id); last = c.seq
        }
        guard UInt64(listed.count) + (seq - keepFrom) <= LogLimits.maxCheckpointKept else { return nil }
        return Checkpoint(seq: seq, keepFrom: keepFrom, listed: listed, listedHash: Checkpoint.hash(ids: ids))
    }

    static func varintBytes(_ v: UInt64) -> Int {
        var n = 1, v = v
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}
