import Wire

/// A checkpoint received ahead of this node's head for its author: its kept entries above the
/// head are collected in the `backfill` table (each checked by its signature on the way in, and
/// kept only if the checkpoint keeps its seq); once all are there and match the checkpoint (the
/// listed ids' hash, the kept chain) they are stored with it in one go and the head jumps to it.
struct PendingCheckpoint: Sendable {
    var entry: Entry
    var checkpoint: Checkpoint
    /// Rows in `backfill` for this author.
    var have: UInt64
}

/// Retention counters since the store was opened (``LogStore/retentionStatus()``).
struct RetentionCounters: Sendable {
    var compactedEntries: UInt64 = 0
    var compactedBytes: UInt64 = 0
    var checkpointsWritten: UInt64 = 0
    var checkpointsApplied: UInt64 = 0
    var droppedDead: UInt64 = 0
}

/// What retention has done and what the database holds (``LogStore/retentionStatus()``).
public struct RetentionStatus: Sendable {
    /// Entries stored (all authors, live and awaiting compaction).
    public var storedEntries: UInt64
    /// Their encoded bytes (headers and payloads).
    public var storedBytes: UInt64
    /// Of them, dead by an applied checkpoint and not yet deleted.
    public var deadEntries: UInt64
    public var deadBytes: UInt64
    /// Authors with an applied checkpoint.
    public var authorsCheckpointed: Int
    /// Checkpoints waiting for the entries they keep.
    public var pendingCheckpoints: Int
    /// Since the store was opened.
    public var compactedEntries: UInt64
    public var compactedBytes: UInt64
    public var checkpointsWritten: UInt64
    public var checkpointsApplied: UInt64
    /// Entries received that a checkpoint already declared dead (dropped, not stored).
    public var droppedDead: UInt64
    /// The database file: pages in use and free (handed back by incremental vacuum).
    public var databaseBytes: UInt64
    public var freeBytes: UInt64
}

extension LogStore {
    static func loadRetention(db: SQLiteDatabase) throws(SQLiteError)
        -> (checkpoints: [AuthorID: Checkpoint], compactedBelow: [AuthorID: UInt64], pending: [AuthorID: PendingCheckpoint]) {
        var cps: [AuthorID: Checkpoint] = [:]
        var compacted: [AuthorID: UInt64] = [:]
        for row in try db.query("SELECT author, seq, payload, compacted FROM checkpoints") {
            guard let a = row[0].blob.flatMap(Bytes32.init), let seq = row[1].int, seq > 0,
                  let cp = (try? Checkpoint(seq: UInt64(seq), payload: row[2].blob ?? [])) ?? nil else { continue }
            cps[a] = cp
            compacted[a] = UInt64(max(0, row[3].int ?? 0))
        }
        var pending: [AuthorID: PendingCheckpoint] = [:]
        for row in try db.query("""
            SELECT p.author, p.header, p.payload, (SELECT count(*) FROM backfill b WHERE b.author = p.author) FROM pending_checkpoints p
            """) {
            guard let a = row[0].blob.flatMap(Bytes32.init),
                  let e = try? Entry(signedHeader: row[1].blob ?? [], payload: row[2].blob ?? []),
                  let cp = (try? Checkpoint(seq: e.seq, payload: e.payload)) ?? nil else { continue }
            pending[a] = PendingCheckpoint(entry: e, checkpoint: cp, have: UInt64(max(0, row[3].int ?? 0)))
        }
        return (cps, compacted, pending)
    }

    /// Records a checkpoint just stored in its author's chain as applied; compaction of the
    /// author starts over (entries it kept under the last one may be dead now).
    func applied(_ cp: Checkpoint, author: AuthorID) throws(SQLiteError) {
        if let old = checkpoints[author], old.seq >= cp.seq { return }
        try db.run("""
            INSERT INTO checkpoints(author, seq, payload, compacted) VALUES (?, ?, ?, 0)
            ON CONFLICT(author) DO UPDATE SET seq = excluded.seq, payload = excluded.payload, compacted = 0
            """, [.blob(author.bytes), .int(Int64(cp.seq)), .blob(cp.payload)])
        checkpoints[author] = cp
        compactedBelow[author] = 0
        retention.checkpointsApplied += 1
    }

    // MARK: - Receiving a checkpoint ahead of the head

    /// A checkpoint beyond the next seq: it becomes the author's pending checkpoint (replacing a
    /// lower one), unless one at its seq or above is pending already.
    func receiveAhead(_ e: Entry, _ cp: Checkpoint, now: UInt64, report: inout IngestReport) throws(SQLiteError) {
        let a = e.author
        if let p = pending[a] {
            if p.entry.id == e.id { report.duplicates += 1; return }
            if p.checkpoint.seq == e.seq { try recordFork(p.entry.header, e.header, now: now, report: &report); return }
            if p.checkpoint.seq > e.seq { retention.droppedDead += 1; return }
        }
        // Collected entries the new checkpoint no longer keeps go.
        var have: UInt64 = 0
        for row in try db.query("SELECT seq FROM backfill WHERE author = ?", [.blob(a.bytes)]) {
            let seq = UInt64(max(0, row[0].int ?? 0))
            if cp.keeps(seq) && seq < cp.seq { have += 1 } else {
                try db.run("DELETE FROM backfill WHERE author = ? AND seq = ?", [.blob(a.bytes), .int(Int64(seq))])
            }
        }
        try db.run("INSERT OR REPLACE INTO pending_checkpoints(author, header, payload) VALUES (?, ?, ?)",
                   [.blob(a.bytes), .blob(e.signedHeader), .blob(e.payload)])
        pending[a] = PendingCheckpoint(entry: e, checkpoint: cp, have: have)
        // Entries that arrived before it and wait for a predecessor may be what it keeps.
        let h = heads[a]?.seq ?? 0
        for waiting in held.take(author: a, in: (h + 1)..<cp.seq) {
            guard let p = pending[a] else { break }
            try receiveKept(waiting, pending: p, now: now, report: &report)
        }
        try completePending(a, now: now, report: &report)
    }

    /// An entry between the head and a pending checkpoint: collected if the checkpoint keeps it,
    /// dropped (not an error: it is dead) otherwise.
    func receiveKept(_ e: Entry, pending p: PendingCheckpoint, now: UInt64, report: inout IngestReport) throws(SQLiteError) {
        let a = e.author
        guard p.checkpoint.keeps(e.seq) else { retention.droppedDead += 1; return }
        if let row = try db.query("SELECT header FROM backfill WHERE author = ? AND seq = ?", [.blob(a.bytes), .int(Int64(e.seq))]).first {
            if let other = try? Entry.header(row[0].blob ?? []), other.id != e.id {
                try recordFork(other, e.header, now: now, report: &report)
            } else {
                report.duplicates += 1
            }
            return
        }
        try db.run("INSERT INTO backfill(author, seq, header, payload) VALUES (?, ?, ?, ?)",
                   [.blob(a.bytes), .int(Int64(e.seq)), .blob(e.signedHeader), .blob(e.payload)])
        pending[a]?.have += 1
        try completePending(a, now: now, report: &report)
    }

    func dropPending(_ a: AuthorID) throws(SQLiteError) {
        try db.run("DELETE FROM backfill WHERE author = ?", [.blob(a.bytes)])
        try db.run("DELETE FROM pending_checkpoints WHERE author = ?", [.blob(a.bytes)])
        pending[a] = nil
    }

    /// Applies the author's pending checkpoint once every entry it keeps above the head is
    /// collected and they match it; refuses it (``EntryRejection/badCheckpoint(_:)``) when they do not.
    func completePending(_ a: AuthorID, now: UInt64, report: inout IngestReport) throws(SQLiteError) {
        guard let p = pending[a] else { return }
        let head = heads[a]
        let h = head?.seq ?? 0
        let cp = p.checkpoint
        guard p.have >= cp.keptCount(after: h) else { return }
        var collected: [Entry] = []
        for row in try db.query("SELECT header, payload FROM backfill WHERE author = ? ORDER BY seq", [.blob(a.bytes)]) {
            guard let e = try? Entry(signedHeader: row[0].blob ?? [], payload: row[1].blob ?? []) else { continue }
            collected.append(e)
        }
        if let why = try mismatch(cp, checkpoint: p.entry, collected: collected, head: head) {
            try dropPending(a)
            report.rejected.append(.badCheckpoint(why))
            return
        }
        for e in collected { try store(e, now: now) }
        try store(p.entry, now: now)
        heads[a] = AuthorHead(seq: p.entry.seq, head: p.entry.id, hlc: p.entry.hlc)
        clock.observe(p.entry.hlc)
        report.stored += collected
        report.stored.append(p.entry)
        try dropPending(a)
    }

    /// Why the collected entries (seq order, all above the head, all kept) do not complete the
    /// checkpoint, or nil when they do.
    private func mismatch(_ cp: Checkpoint, checkpoint: Entry, collected: [Entry], head: AuthorHead?) throws(SQLiteError) -> String? {
        let h = head?.seq ?? 0
        guard UInt64(collected.count) == cp.keptCount(after: h) else { return "collected \(collected.count) entries, it keeps \(cp.keptCount(after: h))" }
        // The kept range chains: each entry's prev is the one before it, up to the checkpoint.
        var previous: (seq: UInt64, id: EntryID, hlc: HLCTimestamp)? = head.map { ($0.seq, $0.head, $0.hlc) }
        for e in collected + [checkpoint] {
            if e.seq > cp.keepFrom {
                guard let p = previous, p.seq + 1 == e.seq else { return "entry \(e.seq - 1) of the kept range is missing" }
                if e.prev != p.id { return "entry \(e.seq) does not follow entry \(p.seq)" }
                if e.hlc <= p.hlc { return "entry \(e.seq) is not later than entry \(p.seq)" }
            }
            previous = (e.seq, e.id, e.hlc)
        }
        // The listed entries: those at or below the head are this node's own copies.
        var ids: [EntryID] = []
        ids.reserveCapacity(cp.listed.count)
        var byseq: [UInt64: EntryID] = [:]
        for e in collected where e.seq < cp.keepFrom { byseq[e.seq] = e.id }
        for s in cp.listed {
            if s > h {
                guard let id = byseq[s] else { return "listed entry \(s) was not received" }
                ids.append(id)
            } else {
                guard let row = try db.query("SELECT id FROM entries WHERE author = ? AND seq = ?", [.blob(checkpoint.author.bytes), .int(Int64(s))]).first,
                      let id = row[0].blob.flatMap(Bytes32.init) else { return "listed entry \(s) is not held here" }
                ids.append(id)
            }
        }
        if Checkpoint.hash(ids: ids) != cp.listedHash { return "the listed entries' ids do not match its hash" }
        return nil
    }

    // MARK: - Writing checkpoints

    /// Whether ``checkpointIfDue(rules:now:)`` would look at this node's own entries now (it
    /// writes a checkpoint if the look finds one dead). Read-only.
    public func lookDue(rules: RetentionRules, now: UInt64) -> Bool {
        guard let me = identity?.publicKey, let head = heads[me], !quarantined.contains(me), writeFence == nil else { return false }
        let since = head.seq - min(head.seq, checkpoints[me]?.seq ?? 0)
        let look = lastRetentionLook.flatMap { $0.seq <= head.seq ? $0 : nil }
        return rules.shouldLook(since: since, newSinceLook: head.seq - (look?.seq ?? 0), lookedAt: look?.at,
                                lastWriteMillis: head.hlc.millis, nowMillis: now)
    }

    /// Writes a checkpoint of this node's own log when it is time to look
    /// (``RetentionRules/shouldLook(since:newSinceLook:lookedAt:lastWriteMillis:nowMillis:)``) and
    /// the look finds an entry no view can show any more. Returns it, or nil.
    public func checkpointIfDue(rules: RetentionRules, now: UInt64) throws(StoreError) -> Entry? {
        guard let me = identity?.publicKey, let head = heads[me], lookDue(rules: rules, now: now) else { return nil }
        let last = checkpoints[me]
        lastRetentionLook = (head.seq, now)
        var candidates: [RetentionRules.Candidate] = []
        do {
            let s = try db.statement("""
                SELECT seq, id, kind, key, hlc, CASE WHEN kind IN ('breaker', 'benchmark') THEN payload END
                FROM entries WHERE author = ? ORDER BY seq
                """)
            try s.bind([.blob(me.bytes)])
            while try s.step() {
                let seq = UInt64(s.int(0))
                if let last, !last.keeps(seq) { continue }
                guard let id = Bytes32(s.blob(1)) else { continue }
                candidates.append(.init(seq: seq, id: id, kind: s.text(2), key: s.text(3),
                                        hlcMillis: HLCTimestamp(rawValue: UInt64(bitPattern: s.int(4))).millis, payload: s.blob(5)))
            }
        } catch { throw .storage(error) }
        let live = rules.live(candidates, nowMillis: now)
        // The last checkpoint is always dead; a new one only if something else is.
        let dead = candidates.count - live.count - (candidates.contains { $0.kind == EntryKind.checkpoint } ? 1 : 0)
        guard dead > 0 else { return nil }
        guard let cp = RetentionRules.checkpoint(seq: head.seq + 1, live: live) else { return nil }
        let written = try appendAll([LocalWrite(kind: EntryKind.checkpoint, key: "", payload: cp.payload)], now: now)
        retention.checkpointsWritten += 1
        return written.first
    }

    // MARK: - Compaction

    /// Deletes up to `maxRows` dead entries (scanning at most that many rows) and hands the freed
    /// pages back to the file system. Returns the entries deleted; 0 with `done` when nothing is
    /// left to do. Short, so that reads and replication interleave between steps.
    public func compactStep(maxRows: Int = 500) throws(StoreError) -> (deleted: Int, done: Bool) {
        guard let (a, cp) = checkpoints.first(where: { (compactedBelow[$0.key] ?? 0) + 1 < $0.value.keepFrom })
            .map({ ($0.key, $0.value) }) else {
            do { try db.execute("PRAGMA incremental_vacuum(1024)") } catch { throw .storage(error) }
            return (0, true)
        }
        let from = compactedBelow[a] ?? 0
        var deleted = 0
        do {
            try syncMode(full: false)
            try db.transaction { () throws(SQLiteError) in
                let rows = try db.query("""
                    SELECT rowid, seq, kind, length(header) + length(payload) FROM entries
                    WHERE author = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?
                    """, [.blob(a.bytes), .int(Int64(clamping: from)), .int(Int64(clamping: cp.keepFrom)), .int(Int64(maxRows))])
                var reached = rows.count < maxRows ? cp.keepFrom - 1 : from
                for row in rows {
                    let seq = UInt64(max(0, row[1].int ?? 0))
                    reached = max(reached, seq)
                    if cp.keeps(seq) { continue }
                    if row[2].text == EntryKind.benchmark {
                        try db.run("DELETE FROM benchmarks WHERE author = ? AND seq = ?", [.blob(a.bytes), .int(Int64(seq))])
                    }
                    try db.run("DELETE FROM entries WHERE rowid = ?", [row[0]])
                    deleted += 1
                    let bytes = UInt64(max(0, row[3].int ?? 0))
                    retention.compactedBytes += bytes
                    if let t = storedTotals { storedTotals = (t.entries - min(t.entries, 1), t.bytes - min(t.bytes, bytes)) }
                }
                try db.run("UPDATE checkpoints SET compacted = ? WHERE author = ?", [.int(Int64(clamping: reached)), .blob(a.bytes)])
                compactedBelow[a] = reached
            }
            if deleted > 0 { try db.execute("PRAGMA incremental_vacuum(\(max(64, deleted)))") }
        } catch {
            storedTotals = nil
            throw .storage(error)
        }
        retention.compactedEntries += UInt64(deleted)
        return (deleted, false)
    }

    /// Hands every free page back to the file system and empties the write-ahead log. A database
    /// created before retention (without incremental auto-vacuum) is rewritten once (`VACUUM`) to
    /// switch it on; that needs free disk space about the database's size. Offline use.
    public func vacuum() throws(StoreError) {
        do {
            let mode = try db.query("PRAGMA auto_vacuum").first?.first?.int ?? 0
            try db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
            if mode != 2 {
                try db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                try db.execute("VACUUM")
            } else {
                try db.execute("PRAGMA incremental_vacuum")
            }
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        } catch { throw .storage(error) }
    }

    /// Merges the full-text index's segments into one (FTS5 `optimize`) and hands the freed pages
    /// back. Rewrites and retractions leave deleted rows in the index's segments until merged;
    /// under writes FTS5 merges some as it goes (automerge), and a quiet node calls this once.
    /// Its cost grows with the index (tens of milliseconds for 10,000 memories).
    public func optimizeSearchIndex() throws(StoreError) {
        do {
            try syncMode(full: false)
            try db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
            try db.execute("PRAGMA incremental_vacuum")
            searchIndexRowsAfterMerge = try searchIndexRows()
        } catch { throw .storage(error) }
    }

    /// The full-text index grows past this many times its size after the last merge, plus
    /// ``StoreConfiguration/searchIndexSlackRows``, before a busy node merges it (``searchIndexNeedsMerge()``).
    public static let searchIndexGrowthFactor: Int64 = 2

    /// Whether the full-text index has grown past ``searchIndexGrowthFactor`` times its size after
    /// its last merge (plus ``StoreConfiguration/searchIndexSlackRows``), and is small enough to
    /// merge between two writes (at most ``StoreConfiguration/searchIndexBusyMergeMaxRows``).
    /// Every rewrite or retraction of a memory leaves its old row's tokens in the index as a
    /// delete marker until the segment holding them is merged into the oldest one; under a steady
    /// stream of rewrites FTS5's own automerge leaves most of them in place (a node that took
    /// 200,000 writes over 10,000 keys held 604 pages of index for 112 when merged), and a node
    /// that is never quiet for long never reaches the quiet merge. The first call after opening
    /// takes the index's size as it is.
    ///
    /// The merge is one `optimize` (``optimizeSearchIndex()``), which holds the store for its
    /// run, about 0.1 ms per page (80 ms for those 604 pages). FTS5's step-wise `merge` with a
    /// negative count is not used: SQLite 3.40 adds a level to the index's structure at each
    /// call that does not finish the merge, and under steady writes that reached thousands of
    /// levels and a structure record SQLite then refuses as corrupt.
    public func searchIndexNeedsMerge() throws(StoreError) -> Bool {
        do {
            let rows = try searchIndexRows()
            guard let base = searchIndexRowsAfterMerge else {
                searchIndexRowsAfterMerge = rows
                return false
            }
            // Rows are counted by SQLite (at most the database's pages): no overflow.
            return rows > base * Self.searchIndexGrowthFactor + configuration.searchIndexSlackRows
                && rows <= configuration.searchIndexBusyMergeMaxRows
        } catch { throw .storage(error) }
    }

    /// `PRAGMA auto_vacuum`: 2 (incremental) for a database this version created.
    func autoVacuumMode() throws(SQLiteError) -> Int64 {
        try db.query("PRAGMA auto_vacuum").first?.first?.int ?? -1
    }

    /// Segments of the full-text index (1 once merged; a write adds one that automerge folds in
    /// later): the second varint of FTS5's structure record (row 10 of `memories_fts_data`,
    /// after a 4-byte cookie: levels, then segments).
    public func searchIndexSegments() throws(StoreError) -> Int {
        do {
            guard let block = try db.query("SELECT block FROM memories_fts_data WHERE id = 10").first?.first?.blob else { return 0 }
            var i = 4
            func varint() -> UInt64? {
                var v: UInt64 = 0
                for k in 0..<9 {
                    guard i < block.count else { return nil }
                    let c = block[i]; i += 1
                    if k == 8 { return (v << 8) | UInt64(c) }
                    v = (v << 7) | UInt64(c & 0x7F)
                    if c < 0x80 { return v }
                }
                return v
            }
            guard varint() != nil, let segments = varint() else { return 0 }
            return Int(clamping: segments)
        } catch { throw .storage(error) }
    }

    /// Rows of the full-text index's segment table (its size, in pages of segments).
    func searchIndexRows() throws(SQLiteError) -> Int64 {
        try db.query("SELECT count(*) FROM memories_fts_data").first?.first?.int ?? 0
    }

    /// Compacts until nothing is left (offline `gossip-node compact`, tests).
    @discardableResult
    public func compactAll() throws(StoreError) -> Int {
        var total = 0
        while true {
            let step = try compactStep(maxRows: 5_000)
            total += step.deleted
            if step.done { return total }
        }
    }

    /// Stored, dead and compacted entries; database and free bytes. Counts rows: call it at
    /// metrics and status rates, not per request.
    public func retentionStatus() throws(StoreError) -> RetentionStatus {
        do {
            if storedTotals == nil {
                let all = try db.query("SELECT count(*), coalesce(sum(length(header) + length(payload)), 0) FROM entries").first ?? []
                storedTotals = (UInt64(max(0, all.first?.int ?? 0)), UInt64(max(0, all.count > 1 ? all[1].int ?? 0 : 0)))
            }
            let totals = storedTotals ?? (0, 0)
            var dead: UInt64 = 0, deadBytes: UInt64 = 0
            for (a, cp) in checkpoints where (compactedBelow[a] ?? 0) + 1 < cp.keepFrom {
                let s = try db.statement("SELECT seq, length(header) + length(payload) FROM entries WHERE author = ? AND seq > ? AND seq < ?")
                try s.bind([.blob(a.bytes), .int(Int64(clamping: compactedBelow[a] ?? 0)), .int(Int64(clamping: cp.keepFrom))])
                while try s.step() {
                    if !cp.keeps(UInt64(s.int(0))) { dead += 1; deadBytes += UInt64(max(0, s.int(1))) }
                }
            }
            let pageSize = UInt64(max(0, try db.query("PRAGMA page_size").first?.first?.int ?? 0))
            let pages = UInt64(max(0, try db.query("PRAGMA page_count").first?.first?.int ?? 0))
            let free = UInt64(max(0, try db.query("PRAGMA freelist_count").first?.first?.int ?? 0))
            return RetentionStatus(
                storedEntries: totals.entries, storedBytes: totals.bytes,
                deadEntries: dead, deadBytes: deadBytes, authorsCheckpointed: checkpoints.count, pendingCheckpoints: pending.count,
                compactedEntries: retention.compactedEntries, compactedBytes: retention.compactedBytes,
                checkpointsWritten: retention.checkpointsWritten, checkpointsApplied: retention.checkpointsApplied,
                droppedDead: retention.droppedDead, databaseBytes: pages * pageSize, freeBytes: free * pageSize)
        } catch { throw .storage(error) }
    }
}
