import Wire

/// Maintains the derived views (memories with their full-text index, breakers, benchmarks) from
/// entries. The same code runs incrementally on every append and ingest, and over all entries for
/// a rebuild, so the two give identical tables. Entries of one author must be applied in seq order.
struct ViewWriter {
    let db: SQLiteDatabase
    /// `main`, or the attached schema a rebuild writes into.
    let schema: String

    func apply(_ e: Entry) throws(SQLiteError) {
        switch e.kind {
        case EntryKind.memory:
            guard let p = PayloadCoding.decode(MemoryPayload.self, e.payload) else { return }
            try upsertMemory(e, p)
        case EntryKind.memoryRetraction:
            try deleteMemory(author: e.author, key: e.key)
        case EntryKind.breaker:
            guard let p = PayloadCoding.decode(BreakerPayload.self, e.payload) else { return }
            try upsertBreaker(e, p)
        case EntryKind.benchmark:
            guard let p = PayloadCoding.decode(BenchmarkPayload.self, e.payload), p.value.isFinite else { return }
            try insertBenchmark(e, p)
        default:
            return  // a kind from a newer version: stored and relayed, not viewed
        }
    }

    private func upsertMemory(_ e: Entry, _ p: MemoryPayload) throws(SQLiteError) {
        let tags = (p.tags ?? []).sorted()
        let tagsJSON = PayloadCoding.string(.array(tags.map { .string($0) }))
        let meta = p.meta.map { PayloadCoding.string($0) }
        let existing = try db.query("SELECT id FROM \(schema).memories WHERE author = ? AND key = ?",
                                    [.blob(e.author.bytes), .text(e.key)]).first?.first?.int
        let values: [SQLValue] = [
            .int(Int64(e.seq)), .blob(e.id.bytes), .int(Int64(bitPattern: e.hlc.rawValue)), .text(p.category), .text(p.content),
            .text(tagsJSON), p.project.map { .text($0) } ?? .null, meta.map { .text($0) } ?? .null, .text(p.host ?? ""),
        ]
        let rowid: Int64
        if let id = existing {
            try db.run("""
                UPDATE \(schema).memories SET seq = ?, entry_id = ?, hlc = ?, category = ?, content = ?, tags = ?,
                project = ?, meta = ?, host = ? WHERE id = ?
                """, values + [.int(id)])
            try db.run("DELETE FROM \(schema).memories_fts WHERE rowid = ?", [.int(id)])
            rowid = id
        } else {
            try db.run("""
                INSERT INTO \(schema).memories(author, key, seq, entry_id, hlc, category, content, tags, project, meta, host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.blob(e.author.bytes), .text(e.key)] + values)
            rowid = db.lastInsertRowID
        }
        try db.run("INSERT INTO \(schema).memories_fts(rowid, content, category, tags) VALUES (?, ?, ?, ?)",
                   [.int(rowid), .text(p.content), .text(p.category), .text(tags.joined(separator: " "))])
    }

    private func deleteMemory(author: AuthorID, key: String) throws(SQLiteError) {
        guard let id = try db.query("SELECT id FROM \(schema).memories WHERE author = ? AND key = ?",
                                    [.blob(author.bytes), .text(key)]).first?.first?.int else { return }
        try db.run("DELETE FROM \(schema).memories WHERE id = ?", [.int(id)])
        try db.run("DELETE FROM \(schema).memories_fts WHERE rowid = ?", [.int(id)])
    }

    private func upsertBreaker(_ e: Entry, _ p: BreakerPayload) throws(SQLiteError) {
        let resets = p.resetsAt.flatMap(RFC3339.parse)
        try db.run("""
            INSERT INTO \(schema).breakers(provider, model, author, seq, entry_id, hlc, state, reason, resets_at, host)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(provider, model, author) DO UPDATE SET seq = excluded.seq, entry_id = excluded.entry_id,
              hlc = excluded.hlc, state = excluded.state, reason = excluded.reason, resets_at = excluded.resets_at,
              host = excluded.host
            WHERE excluded.seq > breakers.seq
            """, [.text(p.provider), .text(p.model), .blob(e.author.bytes), .int(Int64(e.seq)), .blob(e.id.bytes),
                  .int(Int64(bitPattern: e.hlc.rawValue)), .text(p.state.rawValue), p.reason.map { .text($0) } ?? .null,
                  resets.map { .int($0) } ?? .null, .text(p.host ?? "")])
    }

    private func insertBenchmark(_ e: Entry, _ p: BenchmarkPayload) throws(SQLiteError) {
        // A claimed time later than the entry's own timestamp is not believed.
        let stamped = Int64(e.hlc.millis)
        let recorded = min(p.recordedAt.flatMap(RFC3339.parse) ?? stamped, stamped)
        try db.run("""
            INSERT OR IGNORE INTO \(schema).benchmarks(author, seq, entry_id, provider, model, metric, value, recorded_at, host)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.blob(e.author.bytes), .int(Int64(e.seq)), .blob(e.id.bytes), .text(p.provider), .text(p.model),
                  .text(p.metric), .double(p.value), .int(recorded), .text(p.host ?? "")])
    }

    /// Removes everything an author contributed (quarantine, block).
    func removeAuthor(_ author: AuthorID) throws(SQLiteError) {
        let a = SQLValue.blob(author.bytes)
        try db.run("DELETE FROM \(schema).memories_fts WHERE rowid IN (SELECT id FROM \(schema).memories WHERE author = ?)", [a])
        try db.run("DELETE FROM \(schema).memories WHERE author = ?", [a])
        try db.run("DELETE FROM \(schema).breakers WHERE author = ?", [a])
        try db.run("DELETE FROM \(schema).benchmarks WHERE author = ?", [a])
    }
}
