import Synchronization

/// A second, read-only connection to the node's database for the local API's reads of the
/// views (recall, breakers, benchmarks) while a catch-up is being committed, so that a client's
/// read does not wait for it.
///
/// The store is one actor with one connection: a read sent to it waits for whatever the actor
/// is doing, and during a catch-up that is a peer's batch transaction and its commit (the
/// full-text index's flush, a WAL checkpoint past 4 MiB): tens of ms. In WAL mode a second
/// connection reads the last committed state at any time, without the write lock and without
/// the actor, and a client's write is committed before it is answered, so a read that follows
/// it sees it.
///
/// A second connection costs memory (its own schema, page cache and statements: about 0.4 MiB
/// of heap in a node's steady state), so it is used only when it pays: a peer's batch of at
/// least ``LogStore/readConnectionBatchEntries`` entries (a catch-up, not a push) activates it
/// (``activate()``), the next read opens it, and the node's memory release after the catch-up
/// (``release()``, via ``LogStore/releaseMemory()``) closes it; reads go through the store again.
/// One connection (``LogStore/readConnections``), used by one read at a time.
final class ReadConnection: Sendable {
    private struct State {
        var db: SQLiteDatabase?
        var closed = false
    }

    private let path: String
    private let state = Mutex<State>(State())
    private let active = Atomic<Bool>(false)

    /// A connection to `path`, opened at the first read (the store's connection creates,
    /// migrates and switches the database to WAL first).
    init(path: String) {
        self.path = path
    }

    /// Reads go to this connection from now until ``release()``.
    func activate() { active.store(true, ordering: .relaxed) }

    /// Whether reads go to this connection.
    var isActive: Bool { active.load(ordering: .relaxed) }

    /// Whether the connection is open now (tests, metrics).
    var isOpen: Bool { state.withLock { $0.db != nil } }

    /// The connection's page cache at most, in KiB: 2 MiB.
    static let cacheKiB = 2048

    /// Runs `body` on the connection, opening it if needed (one read at a time); a storage
    /// error once closed or when it cannot be opened.
    @inline(__always)
    func read<T: Sendable>(_ body: (SQLiteDatabase) throws(StoreError) -> T) throws(StoreError) -> T {
        try state.withLock { (s: inout State) throws(StoreError) -> T in
            guard !s.closed else { throw StoreError.storage(SQLiteError(code: 21, message: "the read connection is closed", sql: nil)) }
            if s.db == nil { s.db = try Self.open(path) }
            return try body(s.db!)
        }
    }

    private static func open(_ path: String) throws(StoreError) -> SQLiteDatabase {
        do {
            let c = try SQLiteDatabase(path: path, readOnly: true)
            // Far smaller than the store's cache (64 MiB): SQLite empties a connection's cache
            // whenever another connection has written, so during a catch-up it holds little
            // more than one read's pages.
            try c.execute("PRAGMA cache_size = -\(cacheKiB)")
            return c
        } catch { throw .storage(error) }
    }

    /// Closes the connection (after any read in progress); reads go through the store again
    /// until the next ``activate()``.
    func release() {
        active.store(false, ordering: .relaxed)
        state.withLock { s in
            s.db?.close()
            s.db = nil
        }
    }

    /// Closes the connection for good: later reads fail with a storage error.
    func close() {
        release()
        state.withLock { $0.closed = true }
    }
}

extension LogStore {
    /// Connections the local API's reads use besides the store's own: at most 1.
    public static let readConnections = 1

    /// A peer's batch at least this long (a catch-up, not a push) sends reads to the
    /// ``ReadConnection`` until the node next releases memory.
    public static let readConnectionBatchEntries = 256

    /// Whether the views' reads go to the read connection now (see ``ReadConnection``).
    public nonisolated var readsUseOwnConnection: Bool { reader.isActive }

    /// Whether the read connection is open now.
    public nonisolated var readConnectionIsOpen: Bool { reader.isOpen }

    /// ``memoriesAndPendingWrites(_:)``: on the read connection during a catch-up, else on the store.
    public nonisolated func recall(_ q: MemoryQuery) async throws(StoreError) -> (memories: [Memory], pending: [PendingWrite]) {
        guard reader.isActive else { return try await memoriesAndPendingWrites(q) }
        return try reader.read { db throws(StoreError) in (try memories(q, db: db), try pendingWrites(db: db)) }
    }

    /// ``breakers(provider:model:trustedOnly:nowMillis:)``: on the read connection during a catch-up.
    public nonisolated func readBreakers(provider: String? = nil, model: String? = nil, trustedOnly: Bool = false,
                                         nowMillis: Int64) async throws(StoreError) -> [BreakerStatus] {
        guard reader.isActive else { return try await breakers(provider: provider, model: model, trustedOnly: trustedOnly, nowMillis: nowMillis) }
        return try reader.read { db throws(StoreError) in
            try breakers(provider: provider, model: model, trustedOnly: trustedOnly, nowMillis: nowMillis, db: db)
        }
    }

    /// ``benchmarks(provider:model:metric:maxAgeSeconds:trustedOnly:nowMillis:)``: on the read connection during a catch-up.
    public nonisolated func readBenchmarks(provider: String? = nil, model: String? = nil, metric: String? = nil, maxAgeSeconds: Int64 = 86_400,
                                           trustedOnly: Bool = false, nowMillis: Int64) async throws(StoreError) -> [BenchmarkSummary] {
        guard reader.isActive else {
            return try await benchmarks(provider: provider, model: model, metric: metric, maxAgeSeconds: maxAgeSeconds,
                                        trustedOnly: trustedOnly, nowMillis: nowMillis)
        }
        return try reader.read { db throws(StoreError) in
            try benchmarks(provider: provider, model: model, metric: metric, maxAgeSeconds: maxAgeSeconds, trustedOnly: trustedOnly,
                           nowMillis: nowMillis, db: db)
        }
    }
}
