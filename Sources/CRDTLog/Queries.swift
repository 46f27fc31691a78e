import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A recall request against the memories view.
public struct MemoryQuery: Sendable {
    /// Free text, ranked by BM25; nil or without words: newest first.
    public var text: String?
    public var category: String?
    public var tag: String?
    public var author: AuthorID?
    public var project: String?
    public var trustedOnly: Bool
    /// Only memories recorded at or after this time (ms since the epoch).
    public var sinceMillis: Int64?
    public var limit: Int

    public init(text: String? = nil, category: String? = nil, tag: String? = nil, author: AuthorID? = nil,
                project: String? = nil, trustedOnly: Bool = false, sinceMillis: Int64? = nil, limit: Int = 20) {
        self.text = text; self.category = category; self.tag = tag; self.author = author; self.project = project
        self.trustedOnly = trustedOnly; self.sinceMillis = sinceMillis; self.limit = limit
    }
}

/// The current memory of one (author, key), with its provenance.
public struct Memory: Sendable, Hashable {
    public var key: String
    public var category: String
    public var content: String
    public var tags: [String]
    public var project: String?
    /// The `meta` object as canonical JSON text, if any.
    public var metaJSON: String?
    public var author: AuthorID
    public var host: String
    public var recordedAtMillis: Int64
    public var id: EntryID
    public var seq: UInt64
    public var trusted: Bool
}

/// The merged current state of one provider/model's circuit breaker.
public struct BreakerStatus: Sendable, Hashable {
    public var provider: String
    public var model: String
    /// The effective state: an open breaker whose `resets_at` has passed reads as closed.
    public var state: BreakerState
    public var reason: String?
    public var resetsAtMillis: Int64?
    public var recordedAtMillis: Int64
    public var host: String
    public var author: AuthorID
    public var id: EntryID
    public var trusted: Bool
}

/// Aggregated benchmark observations of one provider/model/metric.
public struct BenchmarkSummary: Sendable, Hashable {
    public var provider: String
    public var model: String
    public var metric: String
    public var count: Int
    /// The newest observation's value.
    public var last: Double
    public var mean: Double
    /// Mean weighted by 2^(−age / ``BenchmarkSummary/halfLifeSeconds``): recent observations count more.
    public var weightedMean: Double
    /// Host names that contributed, sorted.
    public var hosts: [String]
    public var newestRecordedAtMillis: Int64
    /// Provenance: the authors that contributed (sorted), the newest observation's entry and
    /// author, and whether every contributing author reads as trusted.
    public var authors: [AuthorID]
    public var newestID: EntryID
    public var newestAuthor: AuthorID
    public var trusted: Bool

    /// The half-life of an observation's weight in `weightedMean`: one hour.
    public static let halfLifeSeconds: Double = 3600
}

extension LogStore {
    private nonisolated func trustFilter(column: String, into args: inout [SQLValue]) -> String? {
        let p = trustPolicy
        guard !p.trusted.isEmpty else { return nil }
        let authors = Array(p.trustedAuthors)
        args.append(contentsOf: authors.map { .blob($0.bytes) })
        return "\(column) IN (\(Array(repeating: "?", count: authors.count).joined(separator: ",")))"
    }

    /// The words of free text, lowercased, at most 32.
    /// The words of a query: runs of letters and digits, judged per Unicode scalar (not per
    /// grapheme, whose first scalar alone decides `isLetter`), so no quote, colon, star or other
    /// FTS5 syntax can be part of a word.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            let p = scalar.properties
            if p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark {
                if !current.isEmpty || p.generalCategory != .nonspacingMark { current.append(scalar) }
            } else if !current.isEmpty {
                words.append(String(current)); current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        var seen = Set<String>()
        return Array(words.filter { seen.insert($0).inserted }.prefix(32))
    }

    /// An FTS5 string: the word in double quotes, any quote inside doubled (none can be there
    /// after ``words(_:)``; this is the second line of defence).
    static func quoted(_ w: String) -> String { "\"" + w.replacing("\"", with: "\"\"") + "\"" }

    /// A word held by more memories than this is "common": its IDF is near zero, so it barely
    /// moves BM25, yet ranking it means scoring much of the table (FTS5 scores every match).
    static let commonWordDocs = 1000
    /// The rare words kept for ranking are the rarest whose matches add up to at most this.
    static let maxRankedDocs = 3000

    /// How a text query runs.
    enum TextPlan {
        /// Rank the memories holding any of these words by BM25.
        case ranked(String)
        /// Every word is common: the most recently stored memories holding any of them.
        case newest(String)
        /// No memory holds any of the words.
        case nothing
    }

    /// Each word quoted (no FTS5 operator gets through) and OR-ed; nil when the text has no words.
    nonisolated func textPlan(_ text: String, db: SQLiteDatabase) throws(SQLiteError) -> TextPlan? {
        let words = Self.words(text)
        guard !words.isEmpty else { return nil }
        // Document frequency, counted only up to the threshold: cheap however common the word.
        var rare: [(String, Int)] = [], common: [String] = []
        for w in words {
            let docs = Int(try db.query("SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT ?)",
                                        [.text(Self.quoted(w)), .int(Int64(Self.commonWordDocs + 1))]).first?.first?.int ?? 0)
            if docs == 0 { continue }
            if docs > Self.commonWordDocs { common.append(w) } else { rare.append((w, docs)) }
        }
        func or(_ ws: [String]) -> String { ws.map(Self.quoted).joined(separator: " OR ") }
        if !rare.isEmpty {
            var kept: [String] = [], total = 0
            for (w, n) in rare.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) where kept.isEmpty || total + n <= Self.maxRankedDocs {
                kept.append(w); total += n
            }
            return .ranked(or(kept))
        }
        if !common.isEmpty { return .newest(or(common)) }
        return .nothing
    }

    /// ``memories(_:)`` and ``pendingWrites()`` in one turn of the store: a recall waits once
    /// (not twice) when a peer's batch is being committed.
    public func memoriesAndPendingWrites(_ q: MemoryQuery) throws(StoreError) -> (memories: [Memory], pending: [PendingWrite]) {
        (try memories(q), try pendingWrites())
    }

    /// Full-text recall over the memories view, filtered, ranked by BM25 (or newest first).
    public func memories(_ q: MemoryQuery) throws(StoreError) -> [Memory] { try memories(q, db: db) }

    /// ``memories(_:)`` on connection `db` (the store's own, or the ``ReadConnection``).
    nonisolated func memories(_ q: MemoryQuery, db: SQLiteDatabase) throws(StoreError) -> [Memory] {
        var filterArgs: [SQLValue] = []
        var conditions: [String] = []
        if let c = q.category { conditions.append("m.category = ?"); filterArgs.append(.text(c)) }
        if let t = q.tag { conditions.append("EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)"); filterArgs.append(.text(t)) }
        if let a = q.author { conditions.append("m.author = ?"); filterArgs.append(.blob(a.bytes)) }
        if let p = q.project { conditions.append("m.project = ?"); filterArgs.append(.text(p)) }
        // hlc = ms << 16: a `since` past what fits (the year 6429) is clamped, never wrapped.
        if let s = q.sinceMillis { conditions.append("m.hlc >= ?"); filterArgs.append(.int(min(max(0, s), Int64.max >> 16) << 16)) }
        if q.trustedOnly, let f = trustFilter(column: "m.author", into: &filterArgs) { conditions.append(f) }
        let columns = "m.key, m.category, m.content, m.tags, m.project, m.meta, m.author, m.host, m.hlc, m.entry_id, m.seq"
        let limit = max(0, min(q.limit, 1000))
        do {
            let inner: String, match: String, order: String, picked: String
            var window: Int
            switch try q.text.map({ (t: String) throws(SQLiteError) in try textPlan(t, db: db) }) ?? nil {
            case .nothing?: return []
            case .ranked(let m)?:
                // FTS5's fast path: ORDER BY rank with a LIMIT, then join and filter.
                (match, picked, inner, order, window) = (m, "rowid AS rid, rank", "ORDER BY rank", "ORDER BY f.rank, m.hlc DESC",
                                                         conditions.isEmpty ? limit : limit * 20)
            case .newest(let m)?:
                // Walk the index newest-stored first and stop early; then order by timestamp.
                // No `rank` here: BM25 counts every row holding each word (its IDF) at the first row,
                // a walk of the whole index for the common words this path serves (3.7 of 3.75 ms
                // for `provider OR model` over 100,000 memories), for an order it does not use.
                (match, picked, inner, order, window) = (m, "rowid AS rid", "ORDER BY rowid DESC", "ORDER BY m.hlc DESC",
                                                         limit * (conditions.isEmpty ? 4 : 20))
            case nil:
                let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
                return try db.query("SELECT \(columns) FROM memories m \(whereClause) ORDER BY m.hlc DESC LIMIT ?",
                                    filterArgs + [.int(Int64(limit))]).compactMap(memory(from:))
            }
            let filters = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            while true {
                let rows = try db.query("""
                    SELECT \(columns) FROM (SELECT \(picked) FROM memories_fts WHERE memories_fts MATCH ? \(inner) LIMIT ?) f
                    JOIN memories m ON m.id = f.rid \(filters) \(order) LIMIT ?
                    """, [.text(match), .int(Int64(window))] + filterArgs + [.int(Int64(limit))])
                // With filters the window may have been too narrow: then look at every match.
                if rows.count >= limit || conditions.isEmpty || window == Int(Int32.max) {
                    return rows.compactMap(memory(from:))
                }
                window = Int(Int32.max)
            }
        } catch { throw .storage(error) }
    }

    /// The current memory of (author, key), nil if none or retracted.
    public func memory(author: AuthorID, key: String) throws(StoreError) -> Memory? {
        do {
            return try db.query("""
                SELECT key, category, content, tags, project, meta, author, host, hlc, entry_id, seq FROM memories m
                WHERE author = ? AND key = ?
                """, [.blob(author.bytes), .text(key)]).first.flatMap(memory(from:))
        } catch { throw .storage(error) }
    }

    private nonisolated func memory(from row: [SQLValue]) -> Memory? {
        guard let author = row[6].blob.flatMap(Bytes32.init), let id = row[9].blob.flatMap(Bytes32.init) else { return nil }
        let tags = (try? JSON.parse(Array((row[3].text ?? "[]").utf8)))?.arrayValue?.compactMap(\.stringValue) ?? []
        return Memory(key: row[0].text ?? "", category: row[1].text ?? "", content: row[2].text ?? "", tags: tags,
                      project: row[4].text, metaJSON: row[5].text, author: author, host: row[7].text ?? "",
                      recordedAtMillis: Int64(UInt64(bitPattern: row[8].int ?? 0) >> 16), id: id,
                      seq: UInt64(row[10].int ?? 0), trusted: isTrusted(author))
    }

    /// The merged breaker state per provider/model: the latest event by HLC among the authors
    /// considered (all, or trusted only), ties broken by author id.
    public func breakers(provider: String? = nil, model: String? = nil, trustedOnly: Bool = false, nowMillis: Int64) throws(StoreError) -> [BreakerStatus] {
        try breakers(provider: provider, model: model, trustedOnly: trustedOnly, nowMillis: nowMillis, db: db)
    }

    /// ``breakers(provider:model:trustedOnly:nowMillis:)`` on connection `db`.
    nonisolated func breakers(provider: String?, model: String?, trustedOnly: Bool, nowMillis: Int64, db: SQLiteDatabase) throws(StoreError) -> [BreakerStatus] {
        var args: [SQLValue] = []
        var conditions: [String] = []
        if let p = provider { conditions.append("provider = ?"); args.append(.text(p)) }
        if let m = model { conditions.append("model = ?"); args.append(.text(m)) }
        if trustedOnly, let f = trustFilter(column: "author", into: &args) { conditions.append(f) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var latest: [String: (hlc: UInt64, status: BreakerStatus)] = [:]
        do {
            for row in try db.query("""
                SELECT provider, model, author, entry_id, hlc, state, reason, resets_at, host FROM breakers \(whereClause)
                """, args) {
                guard let author = row[2].blob.flatMap(Bytes32.init), let id = row[3].blob.flatMap(Bytes32.init),
                      let state = row[5].text.flatMap(BreakerState.init(rawValue:)) else { continue }
                let hlc = UInt64(bitPattern: row[4].int ?? 0)
                let resets = row[7].int
                let effective: BreakerState = (state == .open && (resets ?? Int64.max) <= nowMillis) ? .closed : state
                let s = BreakerStatus(provider: row[0].text ?? "", model: row[1].text ?? "", state: effective, reason: row[6].text,
                                      resetsAtMillis: resets, recordedAtMillis: Int64(hlc >> 16), host: row[8].text ?? "",
                                      author: author, id: id, trusted: isTrusted(author))
                let k = s.provider + "\u{0}" + s.model
                if let cur = latest[k], (cur.hlc, cur.status.author) >= (hlc, author) { continue }
                latest[k] = (hlc, s)
            }
        } catch { throw .storage(error) }
        return latest.values.map(\.status).sorted { ($0.provider, $0.model) < ($1.provider, $1.model) }
    }

    /// Benchmark aggregates over observations no older than `maxAgeSeconds`.
    public func benchmarks(provider: String? = nil, model: String? = nil, metric: String? = nil, maxAgeSeconds: Int64 = 86_400,
                           trustedOnly: Bool = false, nowMillis: Int64) throws(StoreError) -> [BenchmarkSummary] {
        try benchmarks(provider: provider, model: model, metric: metric, maxAgeSeconds: maxAgeSeconds, trustedOnly: trustedOnly,
                       nowMillis: nowMillis, db: db)
    }

    /// ``benchmarks(provider:model:metric:maxAgeSeconds:trustedOnly:nowMillis:)`` on connection `db`.
    nonisolated func benchmarks(provider: String?, model: String?, metric: String?, maxAgeSeconds: Int64, trustedOnly: Bool,
                                nowMillis: Int64, db: SQLiteDatabase) throws(StoreError) -> [BenchmarkSummary] {
        var args: [SQLValue] = [.int(nowMillis - maxAgeSeconds * 1000)]
        var conditions = ["recorded_at >= ?"]
        if let p = provider { conditions.append("provider = ?"); args.append(.text(p)) }
        if let m = model { conditions.append("model = ?"); args.append(.text(m)) }
        if let m = metric { conditions.append("metric = ?"); args.append(.text(m)) }
        if trustedOnly, let f = trustFilter(column: "author", into: &args) { conditions.append(f) }
        struct Acc {
            var count = 0; var sum = 0.0; var wsum = 0.0; var wtotal = 0.0; var last = 0.0; var newest = Int64.min
            var newestID = EntryID.zero; var newestAuthor = AuthorID.zero; var hosts = Set<String>(); var authors = Set<AuthorID>()
        }
        var acc: [[String]: Acc] = [:]
        do {
            let s = try db.statement("""
                SELECT provider, model, metric, value, recorded_at, host, entry_id, author FROM benchmarks
                WHERE \(conditions.joined(separator: " AND "))
                """)
            try s.bind(args)
            while try s.step() {
                let k = [s.text(0), s.text(1), s.text(2)]
                let value = s.double(3), at = s.int(4)
                let id = Bytes32(s.blob(6)) ?? .zero
                let author = Bytes32(s.blob(7)) ?? .zero
                var a = acc[k] ?? Acc()
                a.count += 1; a.sum += value
                let age = max(0, Double(nowMillis - at) / 1000)
                let w = exp2(-age / BenchmarkSummary.halfLifeSeconds)
                a.wsum += w * value; a.wtotal += w
                if (at, id) > (a.newest, a.newestID) { a.newest = at; a.newestID = id; a.newestAuthor = author; a.last = value }
                a.hosts.insert(s.text(5))
                a.authors.insert(author)
                acc[k] = a
            }
        } catch { throw .storage(error) }
        return acc.map { k, a in
            BenchmarkSummary(provider: k[0], model: k[1], metric: k[2], count: a.count, last: a.last, mean: a.sum / Double(a.count),
                             weightedMean: a.wtotal > 0 ? a.wsum / a.wtotal : a.sum / Double(a.count),
                             hosts: a.hosts.sorted(), newestRecordedAtMillis: a.newest, authors: a.authors.sorted(),
                             newestID: a.newestID, newestAuthor: a.newestAuthor, trusted: a.authors.allSatisfy { isTrusted($0) })
        }.sorted { ($0.provider, $0.model, $0.metric) < ($1.provider, $1.model, $1.metric) }
    }

    /// Counts for status: entries served, authors served, quarantined authors.
    public func counts() -> (entries: UInt64, authors: Int, quarantined: Int) {
        (entryCount(), heads.count, quarantined.count)
    }
}
