import Wire

/// A local write accepted while this node does not yet know its own latest seq (the start-up
/// check: a data directory restored from an old copy must not sign a seq it already used). It is
/// on disk when it is acknowledged (`synchronous = FULL`), survives `kill -9`, reads as pending,
/// and is signed, in acceptance order, once the check lifts (``LogStore/signPending(now:)``).
public struct PendingWrite: Sendable, Hashable {
    /// Its place in the outbox (acceptance order).
    public let id: Int64
    public let kind: String
    public let key: String
    public let payload: [UInt8]
    public let acceptedAtMillis: Int64
}

extension LogStore {
    /// True once this node's identity has signed an entry stored here: only then can a restored
    /// copy of the data directory fork it, and only then does a start need the check.
    public var hasSignedBefore: Bool { identity.map { heads[$0.publicKey] != nil || quarantined.contains($0.publicKey) } ?? false }

    /// Keeps a write for later signing; durable when it returns.
    public func enqueue(kind: String, key: String, payload: [UInt8], now: UInt64) throws(StoreError) -> PendingWrite {
        guard EntryKind.isWellFormed(kind) else { throw .invalidEntry(.badKind) }
        guard key.utf8.count <= LogLimits.maxKeyBytes else { throw .invalidEntry(.malformed("key longer than \(LogLimits.maxKeyBytes) bytes")) }
        guard payload.count <= LogLimits.maxPayloadBytes else { throw .invalidEntry(.payloadTooLarge(payload.count)) }
        do {
            try syncMode(full: true)
            try db.run("INSERT INTO outbox(kind, key, payload, accepted_at) VALUES (?, ?, ?, ?)",
                       [.text(kind), .text(key), .blob(payload), .int(Int64(clamping: now))])
            let id = try db.query("SELECT last_insert_rowid()").first?.first?.int ?? 0
            return PendingWrite(id: id, kind: kind, key: key, payload: payload, acceptedAtMillis: Int64(clamping: now))
        } catch { throw .storage(error) }
    }

    /// The writes waiting to be signed, in acceptance order.
    public func pendingWrites() throws(StoreError) -> [PendingWrite] { try pendingWrites(db: db) }

    /// ``pendingWrites()`` on connection `db`.
    nonisolated func pendingWrites(db: SQLiteDatabase) throws(StoreError) -> [PendingWrite] {
        do {
            return try db.query("SELECT id, kind, key, payload, accepted_at FROM outbox ORDER BY id").compactMap { r in
                guard let id = r[0].int, let kind = r[1].text, let key = r[2].text else { return nil }
                return PendingWrite(id: id, kind: kind, key: key, payload: r[3].blob ?? [], acceptedAtMillis: r[4].int ?? 0)
            }
        } catch { throw .storage(error) }
    }

    /// Signs every pending write, in acceptance order, each with its outbox row removed in the
    /// same transaction as its entry is stored. Returns the entries signed.
    public func signPending(now: UInt64) throws(StoreError) -> [Entry] {
        var signed: [Entry] = []
        for w in try pendingWrites() {
            let e: Entry
            do { e = try append(kind: w.kind, key: w.key, payload: w.payload, now: now, outboxRow: w.id) } catch {
                if case .invalidEntry = error {
                    // Cannot become an entry (it was checked when accepted): drop it rather than block the rest.
                    do { try db.run("DELETE FROM outbox WHERE id = ?", [.int(w.id)]) } catch { throw .storage(error) }
                    continue
                }
                throw error
            }
            signed.append(e)
        }
        return signed
    }
}
