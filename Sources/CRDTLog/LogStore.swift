import CSQLite
import Dispatch
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the store takes from the node's configuration.
public struct StoreConfiguration: Sendable {
    /// Authors whose entries read as `trusted`, besides this node's own. Empty: everyone is trusted.
    public var trusted: Set<AuthorID>
    /// Authors never stored, answered or relayed. Anything already stored from them is removed on open.
    public var blocked: Set<AuthorID>
    /// How far ahead of this node's clock an entry may be stamped (see ``LogLimits/maxClockSkewMillis``).
    public var maxClockSkewMillis: UInt64
    /// `synchronous = FULL` for this node's own writes: the commit is on disk before it returns,
    /// so an acknowledged write survives power loss, not only `kill -9`. Off only for benchmarks
    /// of the alternative. Entries from peers are committed with `synchronous = NORMAL` (in WAL
    /// mode: consistent, safe against a crash of the process, and on disk by the next checkpoint
    /// or the next durable commit): after a power loss the last of them are fetched again from
    /// the peers that still hold them, and a received entry is not delayed by an fsync.
    public var durableCommits: Bool
    /// Rows (pages of about 4 KiB) the full-text index may always grow past twice its merged size
    /// before a busy node merges it (``LogStore/searchIndexNeedsMerge()``): a small index is not
    /// merged over and over.
    public var searchIndexSlackRows: Int64
    /// The largest full-text index (in rows, pages of about 4 KiB) a busy node merges: 1,024 rows
    /// take about 100 ms, during which the store waits. A larger one is merged only when the node
    /// is quiet (see ``LogStore/searchIndexNeedsMerge()``).
    public var searchIndexBusyMergeMaxRows: Int64

    public init(trusted: Set<AuthorID> = [], blocked: Set<AuthorID> = [],
                maxClockSkewMillis: UInt64 = LogLimits.maxClockSkewMillis, durableCommits: Bool = true,
                searchIndexSlackRows: Int64 = 64, searchIndexBusyMergeMaxRows: Int64 = 1_024) {
        self.trusted = trusted; self.blocked = blocked; self.maxClockSkewMillis = maxClockSkewMillis
        self.durableCommits = durableCommits; self.searchIndexSlackRows = max(0, searchIndexSlackRows)
        self.searchIndexBusyMergeMaxRows = max(0, searchIndexBusyMergeMaxRows)
    }
}

/// One write of this node's own, before it is signed.
struct LocalWrite: Sendable {
    var kind: String
    var key: String
    var payload: [UInt8]
}

/// The outcome of ingesting a batch of entries from elsewhere.
public struct IngestReport: Sendable {
    /// Entries stored for the first time, in the order stored (including released held ones).
    public var stored: [Entry] = []
    /// Entries that were already stored.
    public var duplicates = 0
    /// Entries held until their predecessor arrives.
    public var held = 0
    /// Entries refused, with why.
    public var rejected: [EntryRejection] = []
    /// Forks detected by this batch (new, or lower than the fork point known before); their
    /// authors are quarantined from the proof's fork point on.
    public var forks: [ForkProof] = []
    /// Verified entries this call did not get to: its transaction ended early for a client's
    /// request (see ``ClientDemand``). The caller passes them in again.
    public var unplaced: [Entry] = []

    public init() {}

    /// Adds the outcome of a later part of the same batch.
    public mutating func append(_ other: IngestReport) {
        stored += other.stored
        duplicates += other.duplicates
        held += other.held
        rejected += other.rejected
        forks += other.forks
    }

    /// Refusals that were not transient: the sender sent something invalid.
    public var invalidCount: Int { rejected.filter { !$0.isTransient && $0 != .fork && $0 != .quarantined && $0 != .blocked }.count }
}

/// What the rest of the node keeps of the log between writes: its digest and entry count.
public struct LogSummary: Sendable, Equatable {
    public var digest: Bytes32
    public var entries: UInt64
    /// The store's count of changes when this was read: of two summaries, the one with the
    /// higher version is the newer (callers that read them concurrently keep that one).
    public var version: UInt64
}

/// The signed append-only CRDT log of one node, in SQLite (WAL), with its derived views.
///
/// The set of valid entries is a grow-only set: merge is union, so entries ingested in any
/// order and batching give the same version vector, digest and views. Time is passed in.
public actor LogStore {
    let db: SQLiteDatabase
    /// Copies the WAL into the database off the write path (see ``installWALHook(db:checkpointer:)``).
    let checkpointer: WALCheckpointer
    /// Whether `PRAGMA synchronous` is FULL right now (see ``StoreConfiguration/durableCommits``).
    var fullSync: Bool
    /// The node's own key pair; nil for offline tools that only read or import.
    public nonisolated let identity: SigningKeyPair?
    public nonisolated let configuration: StoreConfiguration
    /// Client requests in progress (marked by the API); see ``ClientDemand``.
    public nonisolated let clientDemand = ClientDemand()
    /// The local API's reads of the views during a catch-up (``ReadConnection``).
    nonisolated let reader: ReadConnection
    /// Per author, the contiguous entries served: everything stored, except that an author
    /// quarantined for forking is served only below its fork point.
    var heads: [AuthorID: AuthorHead] = [:]
    var quarantined: Set<AuthorID> = []
    /// The fork point of each quarantined author: the lowest seq any fork proof held disputes.
    /// Entries below it are kept, served and shown; from it on, none are.
    var forkPoints: [AuthorID: UInt64] = [:]
    /// Trust and blocks, with successors (read off the actor by ``isTrusted(_:)``).
    nonisolated let policy: Mutex<TrustPolicy>
    var clock = HybridLogicalClock()
    var held = HeldEntries()
    /// The digest of the version vector, until the log changes (every change sets it to nil).
    var cachedDigest: Bytes32? { didSet { if cachedDigest == nil { changes &+= 1 } } }
    /// Changes to the log since the store was opened (``LogSummary/version``).
    var changes: UInt64 = 0
    let views: ViewWriter
    /// Set by replication while this node has not yet learned its own latest seq from peers.
    public private(set) var writeFence: String?
    /// Per author, the latest checkpoint stored in its chain (applied): entries below it that it
    /// does not keep are dead, never served, and deleted by ``compactStep(maxRows:)``.
    var checkpoints: [AuthorID: Checkpoint] = [:]
    /// Per author, a checkpoint received ahead of this node's head, waiting for the entries it
    /// keeps (``PendingCheckpoint``); at most one per author.
    var pending: [AuthorID: PendingCheckpoint] = [:]
    /// Per author with an applied checkpoint, the seq up to which its dead entries are deleted.
    var compactedBelow: [AuthorID: UInt64] = [:]
    /// Retention counters since the store was opened.
    var retention = RetentionCounters()
    /// Entries stored and their bytes: counted once (``retentionStatus()``), then kept up to date
    /// by every insert and delete; nil until first counted, and again after a purge.
    var storedTotals: (entries: UInt64, bytes: UInt64)?
    /// This node's own log at the last look for something dead (``checkpointIfDue(rules:now:)``):
    /// its head seq then, and when. A checkpoint is written only when it frees something.
    var lastRetentionLook: (seq: UInt64, at: UInt64)?
    /// Rows of the full-text index right after its last merge, or when first looked at since the
    /// store was opened (``searchIndexNeedsMerge()``).
    var searchIndexRowsAfterMerge: Int64?

    /// Opens (creating and migrating if needed) the database at `path`.
    public init(path: String, identity: SigningKeyPair?, configuration: StoreConfiguration = .init()) throws(StoreError) {
        do {
            db = try SQLiteDatabase(path: path)
            // Space freed by compaction is handed back in steps (``compactStep(maxRows:)``). It
            // must be set before anything else writes the new file (the switch to WAL does), and
            // takes effect only on a new database; `gossip-node compact` converts an old one.
            try db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute("PRAGMA synchronous = \(configuration.durableCommits ? "FULL" : "NORMAL")")
            fullSync = configuration.durableCommits
            try db.execute("PRAGMA temp_store = MEMORY")
            try db.execute("PRAGMA cache_size = -65536")
            // The write-ahead log is copied into the database past 256 pages (1 MiB) by a second
            // connection on its own thread (``WALCheckpointer``), so no write waits for it; past
            // 512 pages (a writer faster than the checkpoints) the writer copies it itself. It is
            // cut back to 1 MiB afterwards: it never holds the high-water mark of a burst on disk.
            try db.execute("PRAGMA journal_size_limit = 1048576")
            let background = try WALCheckpointer(path: path)
            checkpointer = background
            Self.installWALHook(db: db, checkpointer: background)
        } catch { throw .storage(error) }
        self.identity = identity
        self.configuration = configuration
        views = ViewWriter(db: db, schema: "main")
        try Schema.migrate(db)
        reader = ReadConnection(path: path)
        var loadedHeads: [AuthorID: AuthorHead] = [:]
        var loadedQuarantine: Set<AuthorID> = []
        var loadedForkPoints: [AuthorID: UInt64] = [:]
        var loadedClock = HybridLogicalClock()
        var loadedPolicy = TrustPolicy(trusted: configuration.trusted, blocked: configuration.blocked, me: identity?.publicKey)
        do {
            for row in try db.query("SELECT header, payload FROM entries WHERE kind = ? AND seq = 1", [.text(EntryKind.successor)]) {
                if let e = try? Entry(signedHeader: row[0].blob ?? [], payload: row[1].blob ?? []), let s = try? Succession(entry: e) {
                    loadedPolicy.add(s)
                }
            }
            for row in try db.query("SELECT first, second FROM fork_proofs") {
                // A proof's fork point: the lower of its two seqs (see ``ForkProof``).
                if let p = try? ForkProof(first: row[0].blob ?? [], second: row[1].blob ?? []) { loadedForkPoints[p.author] = p.first.seq }
            }
            for row in try db.query("SELECT author, seq, head, head_hlc, quarantined FROM authors") {
                guard let a = row[0].blob.flatMap(Bytes32.init), let head = row[2].blob.flatMap(Bytes32.init) else { continue }
                if loadedPolicy.isBlocked(a) {
                    try Self.purge(author: a, db: db)
                    loadedForkPoints[a] = nil
                    continue
                }
                let hlc = HLCTimestamp(rawValue: UInt64(bitPattern: row[3].int ?? 0))
                loadedClock.observe(hlc)
                if row[4].int == 1 {
                    loadedQuarantine.insert(a)
                    let f = loadedForkPoints[a] ?? 1
                    loadedForkPoints[a] = f
                    if let h = try Self.lastEntry(author: a, below: f, db: db) { loadedHeads[a] = h }
                    continue
                }
                loadedHeads[a] = AuthorHead(seq: UInt64(row[1].int ?? 0), head: head, hlc: hlc)
            }
        } catch { throw .storage(error) }
        heads = loadedHeads
        quarantined = loadedQuarantine
        do {
            let loaded = try Self.loadRetention(db: db)
            checkpoints = loaded.checkpoints; compactedBelow = loaded.compactedBelow; pending = loaded.pending
        } catch { throw .storage(error) }
        forkPoints = loadedForkPoints.filter { loadedQuarantine.contains($0.key) }
        loadedPolicy.forked = loadedQuarantine
        policy = Mutex(loadedPolicy)
        clock = loadedClock
    }

    /// The head of an author's entries stored below seq `limit` (entries are contiguous from 1).
    static func lastEntry(author: AuthorID, below limit: UInt64, db: SQLiteDatabase) throws(SQLiteError) -> AuthorHead? {
        guard let row = try db.query("SELECT seq, id, hlc FROM entries WHERE author = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
                                     [.blob(author.bytes), .int(Int64(clamping: limit))]).first,
              let id = row[1].blob.flatMap(Bytes32.init) else { return nil }
        return AuthorHead(seq: UInt64(row[0].int ?? 0), head: id, hlc: HLCTimestamp(rawValue: UInt64(bitPattern: row[2].int ?? 0)))
    }

    /// Closes the database. Further calls fail with a storage error.
    public func close() {
        reader.close()
        checkpointer.close()
        sqlite3_wal_hook(db.handle, nil, nil)
        db.close()
    }

    /// After every commit SQLite reports the WAL's size in pages: past
    /// ``WALCheckpointer/thresholdPages`` the checkpointer is asked (it runs on its own thread);
    /// past ``walWriterCheckpointPages`` the writer checkpoints itself, so the WAL stays bounded
    /// while a catch-up commits faster than the checkpoints copy. (This replaces SQLite's own
    /// automatic checkpoint, which the same hook implements.)
    private static func installWALHook(db: SQLiteDatabase, checkpointer: WALCheckpointer) {
        sqlite3_wal_hook(db.handle, { context, handle, _, pages in
            if pages >= LogStore.walWriterCheckpointPages {
                sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if pages >= WALCheckpointer.thresholdPages, let context {
                Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().request()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(checkpointer).toOpaque())
    }

    /// WAL pages (4 KiB) past which the writer checkpoints itself: 2 MiB. Under steady writes
    /// the background checkpoint never catches up to the last commit, so the log is reset only
    /// by the writer's own checkpoint: this bounds the log file beside the database. At 1,024
    /// pages a node taking 800 writes a second (scripts/bench retention) carried up to 4 MiB of
    /// log; at 512 up to 2.4 to 3 MiB, with the same write rate, write latency and catch-up rate
    /// (sampled once a second). Seen at every commit the log goes further, to 1,100 to 1,430
    /// pages: this checkpoint is refused (SQLITE_BUSY) while the background one holds the
    /// checkpoint lock, about 60 % of its attempts under that load (see docs/benchmarks.md).
    static let walWriterCheckpointPages: Int32 = 512

    /// Waits until no background checkpoint is queued or running (tests).
    func drainCheckpoints() { checkpointer.drain() }

    /// Background checkpoints run to the end, and those that failed.
    var walCheckpoints: (completed: UInt64, failed: UInt64) { checkpointer.counts }

    /// Frees the connection's page cache (up to 64 MiB after a big catch-up or a verify; it
    /// fills again from the OS's file cache as needed) and closes the read connection a
    /// catch-up opened (reads go through the store again).
    public func releaseMemory() {
        try? db.execute("PRAGMA shrink_memory")
        reader.release()
    }

    /// Removes every trace of a blocked author.
    private static func purge(author a: AuthorID, db: SQLiteDatabase) throws(SQLiteError) {
        try db.transaction { () throws(SQLiteError) in
            try ViewWriter(db: db, schema: "main").removeAuthor(a)
            try db.run("DELETE FROM continued WHERE predecessor = ?", [.blob(a.bytes)])
            try db.run("DELETE FROM entries WHERE author = ?", [.blob(a.bytes)])
            try db.run("DELETE FROM authors WHERE author = ?", [.blob(a.bytes)])
            try db.run("DELETE FROM fork_proofs WHERE author = ?", [.blob(a.bytes)])
            for table in ["checkpoints", "pending_checkpoints", "backfill"] {
                try db.run("DELETE FROM \(table) WHERE author = ?", [.blob(a.bytes)])
            }
        }
    }

    // MARK: - State

    /// What this node holds, per author.
    public func versionVector() -> VersionVector { VersionVector(heads: heads, quarantined: quarantined) }

    /// The 32-byte digest of the version vector.
    public func digest() -> Bytes32 {
        if let d = cachedDigest { return d }
        let d = versionVector().digest
        cachedDigest = d
        return d
    }

    /// Entries served (of quarantined authors, those below the fork point).
    public func entryCount() -> UInt64 { heads.values.reduce(0) { $0 + $1.seq } }

    /// The digest and the entry count, read in one turn of the store (one wait, not two, when
    /// a peer's batch is being committed).
    public func summary() -> LogSummary { LogSummary(digest: digest(), entries: entryCount(), version: changes) }

    public func head(of author: AuthorID) -> AuthorHead? { heads[author] }

    /// The stored seq of each of `authors` that has one (authors with nothing stored are
    /// absent); quarantined and blocked authors read `UInt64.max` (nothing of theirs is new).
    public func seqs(of authors: Set<AuthorID>) -> [AuthorID: UInt64] {
        var out: [AuthorID: UInt64] = [:]
        for a in authors {
            if quarantined.contains(a) || isBlocked(a) { out[a] = .max } else if let h = heads[a] { out[a] = h.seq }
        }
        return out
    }

    public func quarantinedAuthors() -> Set<AuthorID> { quarantined }

    /// Each quarantined author's fork point: entries below it are served and shown, none from it on.
    public func forkPointsByAuthor() -> [AuthorID: UInt64] { forkPoints }

    /// How many entries wait for a predecessor, and the lowest seq waiting per author.
    public func heldEntries() -> (count: Int, waiting: [AuthorID: UInt64]) { (held.count, held.waiting) }

    /// True when `author` reads as trusted: this node, a listed author, anyone when the list is
    /// empty, or a successor that inherits a listed author's trust (``TrustPolicy/isTrusted(_:)``).
    public nonisolated func isTrusted(_ author: AuthorID) -> Bool { policy.withLock { $0.isTrusted(author) } }

    /// True when a trust list is set and `author` is on it (or inherits from it): exempt from the
    /// new-author limit. With no list everyone reads as trusted, and nobody is exempt.
    public nonisolated func isTrustedByList(_ author: AuthorID) -> Bool {
        policy.withLock { !$0.trusted.isEmpty && $0.isTrusted(author) }
    }

    /// True when `author` is blocked: listed, or the successor of a blocked author (``TrustPolicy/isBlocked(_:)``).
    public nonisolated func isBlocked(_ author: AuthorID) -> Bool { policy.withLock { $0.isBlocked(author) } }

    /// The trust rules as they stand (a copy).
    public nonisolated var trustPolicy: TrustPolicy { policy.withLock { $0 } }

    /// Replaces the trust and block lists (a reload): every stored author now blocked (listed,
    /// or a successor of a listed one) is removed as on open. Returns how many were removed.
    @discardableResult
    public func reloadPolicy(trusted: Set<AuthorID>, blocked: Set<AuthorID>) throws(StoreError) -> Int {
        policy.withLock { $0.trusted = trusted; $0.blocked = blocked }
        let stored = Set(heads.keys).union(quarantined)
        let gone = stored.filter { isBlocked($0) }
        do {
            for a in gone { try Self.purge(author: a, db: db) }
        } catch { throw .storage(error) }
        for a in gone {
            heads[a] = nil; quarantined.remove(a); forkPoints[a] = nil; held.drop(author: a)
            checkpoints[a] = nil; pending[a] = nil; compactedBelow[a] = nil
            storedTotals = nil
        }
        let forked = quarantined
        policy.withLock { $0.forked = forked }
        if !gone.isEmpty { cachedDigest = nil }
        return gone.count
    }

    /// Pauses or resumes local writes (fork-safe restore).
    public func setWriteFence(_ reason: String?) { writeFence = reason }

    // MARK: - Local writes

    /// Switches `PRAGMA synchronous` between FULL (own writes) and NORMAL (entries from peers).
    func syncMode(full: Bool) throws(SQLiteError) {
        guard full != fullSync else { return }
        try db.execute("PRAGMA synchronous = \(full ? "FULL" : "NORMAL")")
        fullSync = full
    }

    /// Signs and stores a new entry of this node's own log; durable when it returns.
    @discardableResult
    public func append(kind: String, key: String, payload: [UInt8], now: UInt64) throws(StoreError) -> Entry {
        try append(kind: kind, key: key, payload: payload, now: now, outboxRow: nil)
    }

    /// ``append(kind:key:payload:now:)`` and then, in the same turn of the store, the
    /// ``summary()`` that includes the new entry (the API's write needs both).
    public func appendSummarized(kind: String, key: String, payload: [UInt8], now: UInt64) throws(StoreError) -> (entry: Entry, summary: LogSummary) {
        let e = try append(kind: kind, key: key, payload: payload, now: now)
        return (e, summary())
    }

    /// ``append(kind:key:payload:now:)``, removing outbox row `outboxRow` in the same transaction.
    func append(kind: String, key: String, payload: [UInt8], now: UInt64, outboxRow: Int64?) throws(StoreError) -> Entry {
        let entries = try appendAll([LocalWrite(kind: kind, key: key, payload: payload)], now: now) { () throws(SQLiteError) in
            if let row = outboxRow { try db.run("DELETE FROM outbox WHERE id = ?", [.int(row)]) }
        }
        guard let e = entries.first else { throw .noIdentity }
        return e
    }

    /// Signs and stores `writes` in order, in one durable transaction with `also`: all or none.
    func appendAll(_ writes: [LocalWrite], now: UInt64, also: () throws(SQLiteError) -> Void = {}) throws(StoreError) -> [Entry] {
        guard let keyPair = identity else { throw .noIdentity }
        let me = keyPair.publicKey
        guard !quarantined.contains(me) else { throw .ownAuthorQuarantined }
        if let fence = writeFence { throw .writesFenced(reason: fence) }
        var head = heads[me]
        var nextClock = clock
        var entries: [Entry] = []
        entries.reserveCapacity(writes.count)
        for w in writes {
            let hlc = nextClock.next(wallMillis: now)
            let entry: Entry
            do throws(EntryRejection) {
                entry = try Entry.sign(keyPair: keyPair, seq: (head?.seq ?? 0) + 1, prev: head?.head ?? .zero, hlc: hlc,
                                       kind: w.kind, key: w.key, payload: w.payload)
            } catch { throw .invalidEntry(error) }
            entries.append(entry)
            head = AuthorHead(seq: entry.seq, head: entry.id, hlc: entry.hlc)
        }
        let savedRetention = (checkpoints, compactedBelow)
        do {
            try syncMode(full: configuration.durableCommits)
            try db.transaction { () throws(SQLiteError) in
                for e in entries { try store(e, now: now) }
                if let head { try saveHead(me, head) }
                try also()
            }
        } catch {
            (checkpoints, compactedBelow) = savedRetention
            storedTotals = nil
            throw .storage(error)
        }
        clock = nextClock
        heads[me] = head
        if !entries.isEmpty { cachedDigest = nil }
        return entries
    }

    /// Inserts one entry whose place in its chain was checked, and applies it to the views (a
    /// checkpoint of this version's format is applied: see ``Checkpoint``).
    func store(_ e: Entry, now: UInt64) throws(SQLiteError) {
        try db.run("""
            INSERT INTO entries(author, seq, id, hlc, kind, key, header, payload, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.blob(e.author.bytes), .int(Int64(e.seq)), .blob(e.id.bytes), .int(Int64(bitPattern: e.hlc.rawValue)),
                  .text(e.kind), .text(e.key), .blob(e.signedHeader), .blob(e.payload), .int(Int64(now))])
        try views.apply(e)
        if let t = storedTotals { storedTotals = (t.entries + 1, t.bytes + UInt64(e.signedHeader.count + e.payload.count)) }
        if e.kind == EntryKind.checkpoint, let cp = (try? Checkpoint(seq: e.seq, payload: e.payload)) ?? nil {
            try applied(cp, author: e.author)
        }
    }

    /// Records an author's new head (once per author per transaction).
    func saveHead(_ author: AuthorID, _ h: AuthorHead) throws(SQLiteError) {
        try db.run("""
            INSERT INTO authors(author, seq, head, head_hlc) VALUES (?, ?, ?, ?)
            ON CONFLICT(author) DO UPDATE SET seq = excluded.seq, head = excluded.head, head_hlc = excluded.head_hlc
            """, [.blob(author.bytes), .int(Int64(h.seq)), .blob(h.head.bytes), .int(Int64(bitPattern: h.hlc.rawValue))])
    }

    // MARK: - Ingest

    /// Decodes and verifies encoded entries on all cores (``EntryVerifier``), then stores the
    /// valid ones in one transaction. Malformed or forged ones are refused and reported; none is stored.
    public nonisolated func ingest(encoded: [[UInt8]], now: UInt64) async throws(StoreError) -> IngestReport {
        try await ingest(checked: EntryVerifier.check(encoded), now: now)
    }

    /// Verifies already-decoded entries' signatures on all cores, then stores the valid ones.
    public nonisolated func ingest(_ entries: [Entry], now: UInt64) async throws(StoreError) -> IngestReport {
        try await ingest(checked: EntryVerifier.check(entries), now: now)
    }

    /// Entries placed between two looks at ``clientDemand`` (and at least before the first).
    static let yieldCheckEntries = 32

    /// Stores entries already checked by ``EntryVerifier`` in one transaction. Callers that
    /// receive a stream of batches verify the next batch while this one commits.
    ///
    /// With `yieldingToClients`, the transaction ends early when ``clientDemand`` shows a
    /// client's request in progress; the entries not placed are in the report's `unplaced`.
    public func ingest(checked: [Result<Entry, EntryRejection>], now: UInt64, yieldingToClients: Bool = false) throws(StoreError) -> IngestReport {
        var report = IngestReport()
        var valid: [Entry] = []
        valid.reserveCapacity(checked.count)
        for r in checked {
            switch r {
            case .success(let e): valid.append(e)
            case .failure(let why): report.rejected.append(why)
            }
        }
        // Per author in seq order, except that checkpoints come first: one ahead of the head
        // becomes pending, and the entries it keeps in the same batch are collected for it.
        valid.sort { a, b in
            if a.author != b.author { return a.author < b.author }
            let ac = a.kind == EntryKind.checkpoint, bc = b.kind == EntryKind.checkpoint
            return ac != bc ? ac : a.seq < b.seq
        }
        // A catch-up: the API's reads of the views go to their own connection meanwhile.
        if yieldingToClients, valid.count >= Self.readConnectionBatchEntries { reader.activate() }
        let before = (heads, quarantined, forkPoints, clock)
        let retentionBefore = (checkpoints, pending, compactedBelow)
        do {
            try syncMode(full: false)
            try db.transaction { () throws(SQLiteError) in
                for (k, e) in valid.enumerated() {
                    if yieldingToClients, k > 0, k % Self.yieldCheckEntries == 0, clientDemand.isWaiting {
                        report.unplaced = Array(valid[k...])
                        break
                    }
                    try place(e, now: now, report: &report)
                }
                for a in Set(report.stored.map(\.author)) { if let h = heads[a] { try saveHead(a, h) } }
            }
        } catch {
            // Nothing of this batch was stored; the peer will offer it again.
            (heads, quarantined, forkPoints, clock) = before
            (checkpoints, pending, compactedBelow) = retentionBefore
            storedTotals = nil  // counted again
            throw .storage(error)
        }
        let successions = report.stored.filter { $0.kind == EntryKind.successor }.compactMap { try? Succession(entry: $0) }
        let forked = quarantined
        policy.withLock { p in
            for s in successions { p.add(s) }
            p.forked = forked
        }
        if !report.stored.isEmpty || !report.forks.isEmpty { cachedDigest = nil }
        return report
    }

    /// Places `e`, then every held successor it releases (a loop, not recursion: thousands may wait).
    private func place(_ e: Entry, now: UInt64, report: inout IngestReport) throws(SQLiteError) {
        var next: Entry? = e
        while let current = next {
            let before = heads[current.author]?.seq ?? 0
            _ = try placeOne(current, now: now, report: &report)
            // The head moved: by this entry, or by a checkpoint it completed.
            let after = heads[current.author]?.seq ?? 0
            guard after > before else { return }
            next = held.take(author: current.author, seq: after + 1)
        }
    }

    /// Puts one verified entry where it belongs: stored (true), duplicate, held, fork proof, or refused.
    private func placeOne(_ e: Entry, now: UInt64, report: inout IngestReport) throws(SQLiteError) -> Bool {
        if isBlocked(e.author) { report.rejected.append(.blocked); return false }
        if let f = forkPoints[e.author], e.seq >= f { report.rejected.append(.quarantined); return false }
        if e.kind == EntryKind.successor, let s = try? Succession(entry: e), !policy.withLock({ $0.admits(s) }) {
            report.rejected.append(.blocked); return false
        }
        if e.hlc.millis > now &+ configuration.maxClockSkewMillis {
            report.rejected.append(.fromTheFuture(aheadMillis: e.hlc.millis - now)); return false
        }
        let head = heads[e.author]
        let headSeq = head?.seq ?? 0
        if let p = pending[e.author], e.seq > headSeq, e.seq < p.checkpoint.seq {
            try receiveKept(e, pending: p, now: now, report: &report)
            return false
        }
        if e.kind == EntryKind.checkpoint, e.seq > headSeq + 1, let cp = (try? Checkpoint(seq: e.seq, payload: e.payload)) ?? nil {
            try receiveAhead(e, cp, now: now, report: &report)
            return false
        }
        if e.seq <= headSeq {
            guard let existing = try storedHeader(author: e.author, seq: e.seq) else { return false }
            if existing.id == e.id { report.duplicates += 1; return false }
            try recordFork(existing, e.header, now: now, report: &report)
            return false
        }
        if e.seq > headSeq + 1 {
            switch held.insert(e, authorStored: head != nil) {
            case .held: report.held += 1
            case .alreadyHeld: report.duplicates += 1
            case .full: report.rejected.append(.holdBufferFull)  // transient: offered again later
            case .conflict(let other): try recordFork(other.header, e.header, now: now, report: &report)
            }
            return false
        }
        // e.seq == headSeq + 1
        if let head, e.prev != head.head {
            if let previous = try storedHeader(author: e.author, seq: head.seq) {
                try recordFork(previous, e.header, now: now, report: &report)
            }
            return false
        }
        if let head, e.hlc <= head.hlc { report.rejected.append(.clockNotMonotonic); return false }
        try store(e, now: now)
        heads[e.author] = AuthorHead(seq: e.seq, head: e.id, hlc: e.hlc)
        clock.observe(e.hlc)
        report.stored.append(e)
        return true
    }

    private func storedHeader(author: AuthorID, seq: UInt64) throws(SQLiteError) -> EntryHeader? {
        guard let bytes = try db.query("SELECT header FROM entries WHERE author = ? AND seq = ?",
                                       [.blob(author.bytes), .int(Int64(seq))]).first?.first?.blob else { return nil }
        return try? Entry.header(bytes)
    }

    func recordFork(_ a: EntryHeader, _ b: EntryHeader, now: UInt64, report: inout IngestReport) throws(SQLiteError) {
        guard let proof = try? ForkProof(a, b) else { report.rejected.append(.invalidChain("conflicting entry")); return }
        if try quarantine(proof, now: now) {
            report.forks.append(proof)
            report.rejected.append(.fork)
        } else {
            report.rejected.append(.quarantined)
        }
    }

    /// Quarantines the proof's author from the proof's fork point on, or moves its fork point
    /// lower. Entries below the fork point stay in the views (rebuilt for this author from
    /// them); the author is served only below it. Returns false when the proof shows nothing
    /// new (its fork point is not below the one known).
    private func quarantine(_ proof: ForkProof, now: UInt64) throws(SQLiteError) -> Bool {
        let a = proof.author
        let f = proof.first.seq
        if let known = forkPoints[a], known <= f { return false }
        try db.run("INSERT OR REPLACE INTO fork_proofs(author, first, second, detected_at) VALUES (?, ?, ?, ?)",
                   [.blob(a.bytes), .blob(proof.first.signedHeader), .blob(proof.second.signedHeader), .int(Int64(now))])
        try db.run("""
            INSERT INTO authors(author, seq, head, head_hlc, quarantined) VALUES (?, 0, ?, 0, 1)
            ON CONFLICT(author) DO UPDATE SET quarantined = 1
            """, [.blob(a.bytes), .blob(EntryID.zero.bytes)])
        try views.removeAuthor(a)
        let s = try db.statement("SELECT header, payload FROM entries WHERE author = ? AND seq < ? ORDER BY seq")
        try s.bind([.blob(a.bytes), .int(Int64(clamping: f))])
        var kept: [Entry] = []
        while try s.step() {
            if let e = try? Entry(signedHeader: s.blob(0), payload: s.blob(1)) { kept.append(e) }
            if kept.count == 1024 { for e in kept { try views.apply(e) }; kept.removeAll(keepingCapacity: true) }
        }
        for e in kept { try views.apply(e) }
        heads[a] = try Self.lastEntry(author: a, below: f, db: db)
        if pending[a] != nil { try dropPending(a) }
        forkPoints[a] = f
        quarantined.insert(a)
        held.drop(author: a)
        return true
    }

    /// Stores a fork proof received from a peer (after checking it): quarantines its author, or
    /// moves its fork point lower. Returns false when it shows nothing new.
    @discardableResult
    public func ingest(proof: ForkProof, now: UInt64) throws(StoreError) -> Bool {
        guard !isBlocked(proof.author) else { return false }
        if let known = forkPoints[proof.author], known <= proof.first.seq { return false }
        let before = (heads, quarantined, forkPoints)
        do {
            try syncMode(full: false)
            try db.transaction { () throws(SQLiteError) in _ = try quarantine(proof, now: now) }
        } catch {
            (heads, quarantined, forkPoints) = before
            throw .storage(error)
        }
        let forked = quarantined
        policy.withLock { $0.forked = forked }
        cachedDigest = nil
        return true
    }

    /// Every fork proof held.
    public func forkProofs() throws(StoreError) -> [ForkProof] {
        do {
            return try db.query("SELECT first, second FROM fork_proofs ORDER BY author").compactMap { row in
                guard let a = row[0].blob, let b = row[1].blob else { return nil }
                return try? ForkProof(first: a, second: b)
            }
        } catch { throw .storage(error) }
    }

    // MARK: - Reading entries

    /// An author's entries with seq > `afterSeq`, in seq order (none for blocked authors; for a
    /// quarantined author only those below its fork point; never the dead ones of an applied
    /// checkpoint). With `checkpointFirst`, when the author's applied checkpoint lies beyond the
    /// next entry, the checkpoint comes first: a receiver collects what it keeps and applies it
    /// (``PendingCheckpoint``), so the dead range is never sent.
    public func entries(author: AuthorID, afterSeq: UInt64, limit: Int, checkpointFirst: Bool = false) throws(StoreError) -> [Entry] {
        guard !isBlocked(author), limit > 0 else { return [] }
        let below = forkPoints[author] ?? UInt64(Int64.max)
        let cp = checkpoints[author].flatMap { $0.seq < below ? $0 : nil }
        do {
            var out: [Entry] = []
            var cursor = afterSeq
            if let cp, checkpointFirst, afterSeq &+ 1 < cp.seq,
               let row = try db.query("SELECT header, payload FROM entries WHERE author = ? AND seq = ?",
                                      [.blob(author.bytes), .int(Int64(cp.seq))]).first,
               let e = try? Entry(signedHeader: row[0].blob ?? [], payload: row[1].blob ?? []) {
                out.append(e)
            }
            let s = try db.statement("SELECT seq, header, payload FROM entries WHERE author = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?")
            while out.count < limit {
                // Dead rows not yet compacted are skipped, so a page may take several reads.
                let want = limit - out.count
                s.reset()
                try s.bind([.blob(author.bytes), .int(Int64(clamping: cursor)), .int(Int64(clamping: below)), .int(Int64(want))])
                var rows = 0
                while try s.step() {
                    rows += 1
                    let seq = UInt64(s.int(0))
                    cursor = seq
                    if let cp, !cp.keeps(seq) { continue }
                    if checkpointFirst, seq == cp?.seq, out.first?.seq == seq { continue }
                    if let e = try? Entry(signedHeader: s.blob(1), payload: s.blob(2)) { out.append(e) }
                }
                if rows < want { break }
            }
            return out
        } catch { throw .storage(error) }
    }
}
