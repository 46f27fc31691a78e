import CSQLite

/// A failure reported by SQLite, with its result code and message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var description: String { "SQLite error \(code): \(message)" + (sql.map { " (in: \($0.prefix(120)))" } ?? "") }

    /// Disk full, read-only file system, I/O error: the storage itself is unavailable.
    public var isStorageUnavailable: Bool {
        let primary = code & 0xff
        return primary == SQLITE_FULL || primary == SQLITE_READONLY || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN
    }
}

/// A value bound to or read from SQL.
enum SQLValue: Sendable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// A minimal, non-thread-safe SQLite connection. Owned by one actor (``LogStore``).
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    private var cache: [String: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: msg, sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit { close() }

    func close() {
        cache.removeAll()
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
    }

    func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed", sql: sql)
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg, sql: sql)
        }
    }

    /// A cached prepared statement, reset and cleared of bindings.
    func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let s = cache[sql] { s.reset(); return s }
        let s = try SQLiteStatement(db: self, sql: sql)
        cache[sql] = s
        return s
    }

    /// Runs `sql` with `args` and returns every row.
    func query(_ sql: String, _ args: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        let s = try statement(sql)
        try s.bind(args)
        var rows: [[SQLValue]] = []
        while try s.step() { rows.append((0..<s.columnCount).map { s.value($0) }) }
        return rows
    }

    /// Runs `sql` with `args`, ignoring any rows.
    func run(_ sql: String, _ args: [SQLValue] = []) throws(SQLiteError) {
        let s = try statement(sql)
        try s.bind(args)
        while try s.step() {}
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    func transaction<T>(immediate: Bool = true, _ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A prepared statement. Column reads are only valid until the next `step`.
final class SQLiteStatement {
    private var stmt: OpaquePointer?
    private unowned let db: SQLiteDatabase
    let sql: String

    init(db: SQLiteDatabase, sql: String) throws(SQLiteError) {
        self.db = db
        self.sql = sql
        let rc = sqlite3_prepare_v3(db.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK else { throw db.error(rc, sql) }
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() { sqlite3_reset(stmt); sqlite3_clear_bindings(stmt) }

    func bind(_ args: [SQLValue]) throws(SQLiteError) {
        for (i, a) in args.enumerated() { try bind(a, at: Int32(i + 1)) }
    }

    func bind(_ value: SQLValue, at i: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(stmt, i)
        case .int(let v): rc = sqlite3_bind_int64(stmt, i, v)
        case .double(let v): rc = sqlite3_bind_double(stmt, i, v)
        case .text(var v):
            // With its length: no strlen over the text (a memory's content is bound twice per write).
            rc = v.withUTF8 { p -> Int32 in
                guard let base = p.baseAddress else { return sqlite3_bind_text(stmt, i, "", 0, csqlite_transient()) }
                return base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                    sqlite3_bind_text(stmt, i, $0, Int32(p.count), csqlite_transient())
                }
            }
        case .blob(let v):
            rc = v.withUnsafeBytes { p in sqlite3_bind_blob(stmt, i, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(v.count), csqlite_transient()) }
        }
        guard rc == SQLITE_OK else { throw db.error(rc, sql) }
    }

    /// Advances; true while a row is available.
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw db.error(rc, sql)
    }

    var columnCount: Int { Int(sqlite3_column_count(stmt)) }

    func value(_ i: Int) -> SQLValue {
        let c = Int32(i)
        switch sqlite3_column_type(stmt, c) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, c))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(stmt, c))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(stmt, c)))
        case SQLITE_BLOB: return .blob(blob(i))
        default: return .null
        }
    }

    func int(_ i: Int) -> Int64 { sqlite3_column_int64(stmt, Int32(i)) }
    func double(_ i: Int) -> Double { sqlite3_column_double(stmt, Int32(i)) }
    func isNull(_ i: Int) -> Bool { sqlite3_column_type(stmt, Int32(i)) == SQLITE_NULL }
    func text(_ i: Int) -> String {
        guard let p = sqlite3_column_text(stmt, Int32(i)) else { return "" }
        return String(cString: p)
    }
    func blob(_ i: Int) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        guard n > 0, let p = sqlite3_column_blob(stmt, Int32(i)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

extension SQLValue {
    var int: Int64? { if case .int(let v) = self { v } else { nil } }
    var double: Double? {
        switch self { case .double(let v): v; case .int(let v): Double(v); default: nil }
    }
    var text: String? { if case .text(let v) = self { v } else { nil } }
    var blob: [UInt8]? { if case .blob(let v) = self { v } else { nil } }
}
