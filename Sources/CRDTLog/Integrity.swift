import Wire

/// The result of ``LogStore/verify()``: what was checked and every problem found.
public struct IntegrityReport: Sendable {
    public var entriesChecked = 0
    public var authorsChecked = 0
    public var forkProofsChecked = 0
    public var problems: [String] = []
    public var isClean: Bool { problems.isEmpty }
}

extension LogStore {
    /// Full offline check: every signature, payload hash and hash chain; author heads; fork
    /// proofs; and every view against a rebuild from the entries into a scratch database.
    public func verify(progress: (@Sendable (Int) -> Void)? = nil) throws(StoreError) -> IntegrityReport {
        var report = IntegrityReport()
        do {
            try checkChains(&report, progress: progress)
            for row in try db.query("SELECT first, second FROM fork_proofs") {
                report.forkProofsChecked += 1
                if (try? ForkProof(first: row[0].blob ?? [], second: row[1].blob ?? [])) == nil {
                    report.problems.append("a stored fork proof does not verify")
                }
            }
            try compareViewsWithRebuild(&report)
        } catch { throw .storage(error) }
        return report
    }

    private func checkChains(_ report: inout IntegrityReport, progress: (@Sendable (Int) -> Void)?) throws(SQLiteError) {
        let authorRows = try db.query("SELECT author, seq, head, quarantined FROM authors ORDER BY author")
        let known = Set(authorRows.compactMap { $0[0].blob.flatMap(Bytes32.init) })
        let orphans = try db.query("SELECT DISTINCT author FROM entries").compactMap { $0[0].blob.flatMap(Bytes32.init) }
            .filter { !known.contains($0) }
        for o in orphans { report.problems.append("entries of author \(o.short) have no author record") }
        for row in authorRows {
            guard let author = row[0].blob.flatMap(Bytes32.init) else { report.problems.append("an author record has a bad id"); continue }
            report.authorsChecked += 1
            // Below an applied checkpoint, only what it keeps must be there (the rest was compacted).
            let cp = checkpoints[author]
            var listedIDs: [UInt64: EntryID] = [:]
            var expectedSeq: UInt64 = 1
            var prev = EntryID.zero
            var prevHLC = HLCTimestamp(rawValue: 0)
            let batchSize = 4096
            while true {
                var rows: [(seq: UInt64, id: [UInt8], header: [UInt8], payload: [UInt8])] = []
                let s = try db.statement("SELECT seq, id, header, payload FROM entries WHERE author = ? AND seq >= ? ORDER BY seq LIMIT ?")
                try s.bind([.blob(author.bytes), .int(Int64(expectedSeq)), .int(Int64(batchSize))])
                while try s.step() { rows.append((UInt64(s.int(0)), s.blob(1), s.blob(2), s.blob(3))) }
                if rows.isEmpty { break }
                let decoded = EntryVerifier.parallelMap(rows.map { (header: $0.header, payload: $0.payload) }) {
                    EntryVerifier.check(header: $0.header, payload: $0.payload)
                }
                for (row, result) in zip(rows, decoded) {
                    report.entriesChecked += 1
                    let label = "\(author.short)#\(row.seq)"
                    if let cp, row.seq < cp.keepFrom, cp.keeps(row.seq) { listedIDs[row.seq] = Bytes32(row.id) }
                    var chained = true
                    if row.seq != expectedSeq {
                        if let cp, row.seq <= cp.seq, !cp.keepsAny(in: expectedSeq..<row.seq) {
                            chained = false  // a compacted gap: nothing kept is missing
                        } else {
                            report.problems.append("\(author.short): seq \(expectedSeq) missing (next stored is \(row.seq))")
                            expectedSeq = row.seq
                            prev = .zero
                            continue
                        }
                    }
                    switch result {
                    case .failure(let why): report.problems.append("\(label): \(why)")
                    case .success(let e):
                        if e.author != author || e.seq != row.seq { report.problems.append("\(label): header names \(e.author.short)#\(e.seq)") }
                        if Bytes32(row.id) != e.id { report.problems.append("\(label): stored id differs from the header's hash") }
                        if chained && e.prev != prev { report.problems.append("\(label): prev does not match entry \(row.seq - 1)") }
                        if chained && row.seq > 1 && e.hlc <= prevHLC { report.problems.append("\(label): timestamp not after its predecessor's") }
                        prev = e.id
                        prevHLC = e.hlc
                    }
                    expectedSeq = row.seq + 1
                }
                progress?(report.entriesChecked)
                if rows.count < batchSize { break }
            }
            if let cp {
                let ids = cp.listed.compactMap { listedIDs[$0] }
                if ids.count != cp.listed.count {
                    report.problems.append("\(author.short): \(cp.listed.count - ids.count) entries its checkpoint \(cp.seq) lists are missing")
                } else if Checkpoint.hash(ids: ids) != cp.listedHash {
                    report.problems.append("\(author.short): the entries its checkpoint \(cp.seq) lists do not match its hash")
                }
            }
            let quarantinedRow = row[3].int == 1
            if !quarantinedRow {
                let recordedSeq = UInt64(row[1].int ?? 0)
                if recordedSeq != expectedSeq - 1 {
                    report.problems.append("\(author.short): author record says seq \(recordedSeq), entries go to \(expectedSeq - 1)")
                } else if row[2].blob.flatMap(Bytes32.init) != prev {
                    report.problems.append("\(author.short): author record's head is not the last entry")
                }
            }
        }
    }

    private func compareViewsWithRebuild(_ report: inout IntegrityReport) throws(SQLiteError) {
        try db.execute("ATTACH DATABASE ':memory:' AS rebuild")
        defer { try? db.execute("DETACH DATABASE rebuild") }
        try db.execute(Schema.viewTables("rebuild"))
        let writer = ViewWriter(db: db, schema: "rebuild")
        let authors = try db.query("SELECT author FROM authors ORDER BY author").compactMap { $0[0].blob.flatMap(Bytes32.init) }
        try db.transaction { () throws(SQLiteError) in
            for a in authors {
                // A quarantined author counts below its fork point only.
                let below = forkPoints[a] ?? UInt64(Int64.max)
                let s = try db.statement("SELECT header, payload FROM entries WHERE author = ? AND seq < ? ORDER BY seq")
                try s.bind([.blob(a.bytes), .int(Int64(clamping: below))])
                var entries: [Entry] = []
                while try s.step() { if let e = try? Entry(signedHeader: s.blob(0), payload: s.blob(1)) { entries.append(e) } }
                for e in entries { try writer.apply(e) }
            }
        }
        let tables: [(String, String)] = [
            ("memories", "author, key, seq, entry_id, hlc, category, content, tags, project, meta, host"),
            ("breakers", "provider, model, author, seq, entry_id, hlc, state, reason, resets_at, host"),
            ("benchmarks", "author, seq, entry_id, provider, model, metric, value, recorded_at, host"),
            ("successions", "successor, predecessor, predecessor_seq, predecessor_head, hlc, host"),
        ]
        for (table, columns) in tables {
            let extra = try db.query("SELECT count(*) FROM (SELECT \(columns) FROM main.\(table) EXCEPT SELECT \(columns) FROM rebuild.\(table))")
            let missing = try db.query("SELECT count(*) FROM (SELECT \(columns) FROM rebuild.\(table) EXCEPT SELECT \(columns) FROM main.\(table))")
            let e = extra.first?.first?.int ?? 0, m = missing.first?.first?.int ?? 0
            if e > 0 || m > 0 { report.problems.append("view \(table): \(e) row(s) not derivable from the entries, \(m) row(s) missing") }
        }
        // rank = 1: also check the index against the memories table it indexes.
        do { try db.execute("INSERT INTO main.memories_fts(memories_fts, rank) VALUES('integrity-check', 1)") } catch {
            report.problems.append("full-text index integrity-check failed: \(error.message)")
        }
    }
}
