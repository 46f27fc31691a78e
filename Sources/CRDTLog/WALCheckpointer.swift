import CSQLite
import Dispatch
import Synchronization

/// Copies the write-ahead log into the database on a second connection and its own thread, so
/// that a write never waits for a checkpoint.
///
/// With SQLite's automatic checkpoint, the commit that crosses the threshold copies the WAL
/// into the database file and fsyncs it before it returns: the write that crossed it waited for
/// that. Instead the store's connection reports each commit's WAL size
/// (`sqlite3_wal_hook`, see ``LogStore``); past ``thresholdPages`` this runs a PASSIVE
/// checkpoint on its own connection, on a serial queue, while writes go on appending to the WAL.
/// Requests while one is queued are coalesced: at most one checkpoint waits, one runs. The
/// writer cuts the WAL back to `journal_size_limit` at its first commit after a complete one.
///
/// Thread safety: `connection` is used only on `queue`; the flags are atomic.
final class WALCheckpointer: @unchecked Sendable {
    /// WAL pages (4 KiB) past which a commit asks for a checkpoint: 1 MiB, as the automatic
    /// checkpoint was set before.
    static let thresholdPages: Int32 = 256

    private let queue = DispatchQueue(label: "gossip-node.wal-checkpoint")
    private var connection: SQLiteDatabase?
    private let queued = Atomic<Bool>(false)
    private let completed = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)

    /// Opens the second connection to the database at `path` (already in WAL mode).
    init(path: String) throws(SQLiteError) {
        let c = try SQLiteDatabase(path: path)
        // The checkpoint's own writes to the database file are synced before the WAL is reused.
        try c.execute("PRAGMA synchronous = FULL")
        // It reads WAL frames and writes database pages; it needs no page cache of its own.
        try c.execute("PRAGMA cache_size = 16")
        connection = c
    }

    /// Asks for a checkpoint; returns at once (called from the writer's commit hook).
    func request() {
        guard !queued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { self.run() }
    }

    private func run() {
        queued.store(false, ordering: .releasing)
        guard let c = connection else { return }
        do {
            try c.execute("PRAGMA wal_checkpoint(PASSIVE)")
            completed.add(1, ordering: .relaxed)
        } catch {
            // Busy (another checkpoint, e.g. compaction's TRUNCATE, holds the lock) or I/O: the
            // next commit past the threshold asks again; the WAL only grows meanwhile.
            failed.add(1, ordering: .relaxed)
        }
    }

    /// Waits until no checkpoint is queued or running (tests, close).
    func drain() { queue.sync {} }

    /// Checkpoints run to the end, and those that failed.
    var counts: (completed: UInt64, failed: UInt64) { (completed.load(ordering: .relaxed), failed.load(ordering: .relaxed)) }

    /// Closes the second connection after any checkpoint in progress; later requests do nothing.
    func close() {
        queue.sync {
            connection?.close()
            connection = nil
        }
    }
}
