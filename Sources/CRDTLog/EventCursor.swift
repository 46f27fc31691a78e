import Wire

/// Reading the log in this node's storage order, for event streams that resume: the entries
/// table's rowid is the cursor (an event's `id`). A cursor is local to one node.
extension LogStore {
    /// The newest row stored (0 when empty): where a stream without a cursor starts.
    public func lastRow() throws(StoreError) -> Int64 {
        do { return try db.query("SELECT coalesce(max(rowid), 0) FROM entries").first?.first?.int ?? 0 } catch { throw .storage(error) }
    }

    /// Up to `limit` entries stored after row `after`, oldest first, with their rows, and the row
    /// the next read starts after. Entries this node does not serve (a quarantined author at or
    /// past its fork point) are skipped, their rows passed.
    public func storedEntries(afterRow after: Int64, limit: Int) throws(StoreError) -> (entries: [(row: Int64, entry: Entry)], next: Int64) {
        var out: [(row: Int64, entry: Entry)] = []
        var next = after
        do {
            let s = try db.statement("SELECT rowid, header, payload, author, seq FROM entries WHERE rowid > ? ORDER BY rowid LIMIT ?")
            try s.bind([.int(after), .int(Int64(max(1, limit)))])
            while try s.step() {
                next = s.int(0)
                guard let author = Bytes32(s.blob(3)) else { continue }
                if let f = forkPoints[author], UInt64(max(0, s.int(4))) >= f { continue }
                if let e = try? Entry(signedHeader: s.blob(1), payload: s.blob(2)) { out.append((next, e)) }
            }
        } catch { throw .storage(error) }
        return (out, next)
    }
}
