import Wire

/// The database schema as a list of additive migrations; `PRAGMA user_version` is the number
/// applied. A migration only ever adds (tables, columns, indexes); none rewrites or drops data
/// that an older version wrote, so a database can always move forward.
enum Schema {
    /// The view tables, created in the main database and, for `verify`, in an attached one.
    static func viewTables(_ schema: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(schema).memories(
            id INTEGER PRIMARY KEY,
            author BLOB NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, entry_id BLOB NOT NULL,
            hlc INTEGER NOT NULL, category TEXT NOT NULL, content TEXT NOT NULL, tags TEXT NOT NULL,
            project TEXT, meta TEXT, host TEXT NOT NULL,
            UNIQUE(author, key));
        CREATE INDEX IF NOT EXISTS \(schema).memories_hlc ON memories(hlc);
        CREATE VIRTUAL TABLE IF NOT EXISTS \(schema).memories_fts USING fts5(
            content, category, tags, content = 'memories', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2');
        INSERT INTO \(schema).memories_fts(memories_fts, rank) VALUES ('rank', 'bm25(1.0, 0.5, 2.0)');
        INSERT INTO \(schema).memories_fts(memories_fts, rank) VALUES ('pgsz', 4040);
        INSERT INTO \(schema).memories_fts(memories_fts, rank) VALUES ('automerge', 8);
        CREATE TABLE IF NOT EXISTS \(schema).breakers(
            provider TEXT NOT NULL, model TEXT NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,
            entry_id BLOB NOT NULL, hlc INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT,
            resets_at INTEGER, host TEXT NOT NULL,
            PRIMARY KEY(provider, model, author)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS \(schema).benchmarks(
            author BLOB NOT NULL, seq INTEGER NOT NULL, entry_id BLOB NOT NULL, provider TEXT NOT NULL,
            model TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, recorded_at INTEGER NOT NULL,
            host TEXT NOT NULL,
            PRIMARY KEY(author, seq)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS \(schema).benchmarks_series ON benchmarks(provider, model, metric, recorded_at);
        \(successionsTable(schema))
        """
    }

    /// Successor announcements (``Succession``), derived from `identity.successor` entries.
    static func successionsTable(_ schema: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(schema).successions(
            successor BLOB PRIMARY KEY, predecessor BLOB NOT NULL, predecessor_seq INTEGER NOT NULL,
            predecessor_head BLOB NOT NULL, hlc INTEGER NOT NULL, host TEXT NOT NULL) WITHOUT ROWID;
        """
    }

    static let migrations: [String] = [
        // 1: entries, authors, fork proofs, views.
        """
        CREATE TABLE entries(
            author BLOB NOT NULL, seq INTEGER NOT NULL, id BLOB NOT NULL, hlc INTEGER NOT NULL,
            kind TEXT NOT NULL, key TEXT NOT NULL, header BLOB NOT NULL, payload BLOB,
            received_at INTEGER NOT NULL);
        CREATE UNIQUE INDEX entries_author_seq ON entries(author, seq);
        CREATE TABLE authors(
            author BLOB PRIMARY KEY, seq INTEGER NOT NULL, head BLOB NOT NULL, head_hlc INTEGER NOT NULL,
            quarantined INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        CREATE TABLE fork_proofs(
            author BLOB PRIMARY KEY, first BLOB NOT NULL, second BLOB NOT NULL, detected_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """ + viewTables("main"),
        // 2: peers remembered across restarts (membership).
        """
        CREATE TABLE peers(
            author BLOB PRIMARY KEY, address TEXT NOT NULL, last_seen INTEGER NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        """,
        // 3: seeds remembered across restarts (a node started once with --seed keeps its way in).
        """
        CREATE TABLE seeds(address TEXT PRIMARY KEY, added_at INTEGER NOT NULL) WITHOUT ROWID;
        """,
        // 4: writes accepted before this node knows its own latest seq (signed later, in order).
        """
        CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL,
            payload BLOB NOT NULL, accepted_at INTEGER NOT NULL);
        """,
        // 5: successor identities (a view), and how far back this node has re-signed its
        // predecessor's forked branch under its successor identity.
        successionsTable("main") + """
        CREATE TABLE continued(predecessor BLOB PRIMARY KEY, from_seq INTEGER NOT NULL) WITHOUT ROWID;
        """,
        // 6: retention. Per author, the latest checkpoint applied and how far its dead entries are
        // deleted; a checkpoint received ahead of the head, and the entries it keeps as they arrive.
        """
        CREATE TABLE checkpoints(author BLOB PRIMARY KEY, seq INTEGER NOT NULL, payload BLOB NOT NULL,
            compacted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        CREATE TABLE pending_checkpoints(author BLOB PRIMARY KEY, header BLOB NOT NULL, payload BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE backfill(author BLOB NOT NULL, seq INTEGER NOT NULL, header BLOB NOT NULL, payload BLOB NOT NULL,
            PRIMARY KEY(author, seq)) WITHOUT ROWID;
        """,
    ]

    static var version: Int { migrations.count }

    /// Applies every migration newer than the database's version, each in its own transaction.
    static func migrate(_ db: SQLiteDatabase) throws(StoreError) {
        do {
            let current = Int(try db.query("PRAGMA user_version").first?.first?.int ?? 0)
            guard current <= version else { throw StoreError.newerSchema(found: current, supported: version) }
            for (index, sql) in migrations.enumerated() where index + 1 > current {
                try db.transaction { () throws(SQLiteError) in
                    try db.execute(sql)
                    try db.execute("PRAGMA user_version = \(index + 1)")
                }
            }
        } catch let e as StoreError { throw e } catch let e as SQLiteError { throw .storage(e) } catch {
            throw .storage(SQLiteError(code: -1, message: "\(error)", sql: nil))
        }
    }
}
