import Wire

/// Maintains the derived views (memories with their full-text index, breakers, benchmarks) from
/// entries. The same code runs incrementally on every append and ingest, and over all entries for
/// a rebuild, so the two give identical tables. Entries of one author must be applied in seq order.
struct ViewWriter {
    let db: SQLiteDatabase
    /// `main`, or the attached schema a rebuild writes into.
    let schema: String
    private let sql: SQL

    /// The statements, built once per schema (they are the keys of the statement cache).
    private struct SQL {
        let insertMemory, selectMemory, selectAuthorMemories, updateMemory, deleteMemory, deleteFTS, insertFTS, upsertBreaker, insertBenchmark,
            insertSuccession: String
        init(_ schema: String) {
            insertMemory = """
                INSERT OR IGNORE INTO \(schema).memories(author, key, seq, entry_id, hlc, category, content, tags, project, meta, host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            selectMemory = "SELECT id, content, category, tags FROM \(schema).memories WHERE author = ? AND key = ?"
            selectAuthorMemories = "SELECT id, content, category, tags FROM \(schema).memories WHERE author = ?"
            updateMemory = """
                UPDATE \(schema).memories SET seq = ?, entry_id = ?, hlc = ?, category = ?, content = ?, tags = ?,
                project = ?, meta = ?, host = ? WHERE id = ?
                """
            deleteMemory = "DELETE FROM \(schema).memories WHERE id = ?"
            // External-content FTS5: a row is removed from the index by replaying its old values.
            deleteFTS = "INSERT INTO \(schema).memories_fts(memories_fts, rowid, content, category, tags) VALUES ('delete', ?, ?, ?, ?)"
            insertFTS = "INSERT INTO \(schema).memories_fts(rowid, content, category, tags) VALUES (?, ?, ?, ?)"
            upsertBreaker = """
                INSERT INTO \(schema).breakers(provider, model, author, seq, entry_id, hlc, state, reason, resets_at, host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(provider, model, author) DO UPDATE SET seq = excluded.seq, entry_id = excluded.entry_id,
                  hlc = excluded.hlc, state = excluded.state, reason = excluded.reason, resets_at = excluded.resets_at,
                  host = excluded.host
                WHERE excluded.seq > breakers.seq
                """
            insertBenchmark = """
                INSERT OR IGNORE INTO \(schema).benchmarks(author, seq, entry_id, provider, model, metric, value, recorded_at, host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            insertSuccession = """
                INSERT OR IGNORE INTO \(schema).successions(successor, predecessor, predecessor_seq, predecessor_head, hlc, host)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        }
    }

    init(db: SQLiteDatabase, schema: String) {
        self.db = db
        self.schema = schema
        sql = SQL(schema)
    }

    /// Applies one entry; returns how the number of memories changed (-1, 0 or +1).
    @discardableResult
    func apply(_ e: Entry) throws(SQLiteError) -> Int {
        switch e.kind {
        case EntryKind.memory:
            guard let p = MemoryPayload(json: e.payload) else { return 0 }
            return try upsertMemory(e, p)
        case EntryKind.memoryRetraction:
            return try deleteMemory(author: e.author, key: e.key)
        case EntryKind.breaker:
            guard let p = BreakerPayload(json: e.payload) else { return 0 }
            try upsertBreaker(e, p)
        case EntryKind.benchmark:
            guard let p = BenchmarkPayload(json: e.payload), p.value.isFinite else { return 0 }
            try insertBenchmark(e, p)
        case EntryKind.successor:
            guard let s = try? Succession(entry: e) else { return 0 }
            try db.run(sql.insertSuccession, [.blob(s.successor.bytes), .blob(s.predecessor.bytes), .int(Int64(s.predecessorSeq)),
                                              .blob(s.predecessorHead.bytes), .int(Int64(bitPattern: e.hlc.rawValue)), .text(s.host ?? "")])
        default:
            break  // a kind from a newer version: stored and relayed, not viewed
        }
        return 0
    }

    private func upsertMemory(_ e: Entry, _ p: MemoryPayload) throws(SQLiteError) -> Int {
        let tags = (p.tags ?? []).sorted()
        let tagsJSON = PayloadCoding.string(.array(tags.map { .string($0) }))
        let meta = p.meta.map { PayloadCoding.string($0) }
        let values: [SQLValue] = [
            .int(Int64(e.seq)), .blob(e.id.bytes), .int(Int64(bitPattern: e.hlc.rawValue)), .text(p.category), .text(p.content),
            .text(tagsJSON), p.project.map { .text($0) } ?? .null, meta.map { .text($0) } ?? .null, .text(p.host ?? ""),
        ]
        // Most keys are new: try the insert first, and look the row up only when the key exists.
        try db.run(sql.insertMemory, [.blob(e.author.bytes), .text(e.key)] + values)
        let rowid: Int64
        let inserted = db.changes > 0
        if inserted {
            rowid = db.lastInsertRowID
        } else {
            guard let old = try db.query(sql.selectMemory, [.blob(e.author.bytes), .text(e.key)]).first, let id = old[0].int else { return 0 }
            try db.run(sql.deleteFTS, old)
            try db.run(sql.updateMemory, values + [.int(id)])
            rowid = id
        }
        try db.run(sql.insertFTS,
                   [.int(rowid), .text(p.content), .text(p.category), .text(tagsJSON)])
        return inserted ? 1 : 0
    }

    private func deleteMemory(author: AuthorID, key: String) throws(SQLiteError) -> Int {
        guard let old = try db.query(sql.selectMemory, [.blob(author.bytes), .text(key)]).first, let id = old[0].int else { return 0 }
        try db.run(sql.deleteFTS, old)
        try db.run(sql.deleteMemory, [.int(id)])
        return -1
    }

    private func upsertBreaker(_ e: Entry, _ p: BreakerPayload) throws(SQLiteError) {
        let resets = p.resetsAt.flatMap(RFC3339.parse)
        try db.run(sql.upsertBreaker, [.text(p.provider), .text(p.model), .blob(e.author.bytes), .int(Int64(e.seq)), .blob(e.id.bytes),
                  .int(Int64(bitPattern: e.hlc.rawValue)), .text(p.state.rawValue), p.reason.map { .text($0) } ?? .null,
                  resets.map { .int($0) } ?? .null, .text(p.host ?? "")])
    }

    private func insertBenchmark(_ e: Entry, _ p: BenchmarkPayload) throws(SQLiteError) {
        // A claimed time later than the entry's own timestamp is not believed.
        let stamped = Int64(e.hlc.millis)
        let recorded = min(p.recordedAt.flatMap(RFC3339.parse) ?? stamped, stamped)
        try db.run(sql.insertBenchmark, [.blob(e.author.bytes), .int(Int64(e.seq)), .blob(e.id.bytes), .text(p.provider), .text(p.model),
                  .text(p.metric), .double(p.value), .int(recorded), .text(p.host ?? "")])
    }

    /// Removes everything an author contributed (quarantine, block); returns minus the number
    /// of memories removed.
    @discardableResult
    func removeAuthor(_ author: AuthorID) throws(SQLiteError) -> Int {
        let a = SQLValue.blob(author.bytes)
        for old in try db.query(sql.selectAuthorMemories, [a]) { try db.run(sql.deleteFTS, old) }
        try db.run("DELETE FROM \(schema).memories WHERE author = ?", [a])
        let removed = db.changes
        try db.run("DELETE FROM \(schema).breakers WHERE author = ?", [a])
        try db.run("DELETE FROM \(schema).benchmarks WHERE author = ?", [a])
        try db.run("DELETE FROM \(schema).successions WHERE successor = ?", [a])
        return -removed
    }
}
