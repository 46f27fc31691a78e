import Wire

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

    /// The half-life of an observation's weight in `weightedMean`: one hour.
    public static let halfLifeSeconds: Double = 3600
}

extension LogStore {
    private func trustFilter(column: String, into args: inout [SQLValue]) -> String? {
        guard !configuration.trusted.isEmpty else { return nil }
        var authors = Array(configuration.trusted)
        if let me = identity?.publicKey { authors.append(me) }
        args.append(contentsOf: authors.map { .blob($0.bytes) })
        return "\(column) IN (\(Array(repeating: "?", count: authors.count).joined(separator: ",")))"
    }

    /// Turns free text into an FTS5 query: each word quoted (no operators get through), OR-ed,
    /// so ranking decides. Nil when the text has no words.
    static func ftsQuery(_ text: String) -> String? {
        var words: [String] = []
        var current = ""
        for ch in text {
            if ch.isLetter || ch.isNumber { current.append(ch) } else if !current.isEmpty { words.append(current); current = "" }
        }
        if !current.isEmpty { words.append(current) }
        guard !words.isEmpty else { return nil }
        return words.prefix(32).map { "\"\($0)\"" }.joined(separator: " OR ")
    }

    /// Full-text recall over the memories view, filtered, ranked by BM25 (or newest first).
    public func memories(_ q: MemoryQuery) throws(StoreError) -> [Memory] {
        var args: [SQLValue] = []
        var conditions: [String] = []
        let match = q.text.flatMap(Self.ftsQuery)
        if let match { conditions.append("memories_fts MATCH ?"); args.append(.text(match)) }
        if let c = q.category { conditions.append("m.category = ?"); args.append(.text(c)) }
        if let t = q.tag { conditions.append("EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)"); args.append(.text(t)) }
        if let a = q.author { conditions.append("m.author = ?"); args.append(.blob(a.bytes)) }
        if let p = q.project { conditions.append("m.project = ?"); args.append(.text(p)) }
        if let s = q.sinceMillis { conditions.append("m.hlc >= ?"); args.append(.int(max(0, s) << 16)) }
        if q.trustedOnly, let f = trustFilter(column: "m.author", into: &args) { conditions.append(f) }
        let columns = "m.key, m.category, m.content, m.tags, m.project, m.meta, m.author, m.host, m.hlc, m.entry_id, m.seq"
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = match != nil
            ? "SELECT \(columns) FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid \(whereClause) ORDER BY bm25(memories_fts, 1.0, 0.5, 2.0), m.hlc DESC LIMIT ?"
            : "SELECT \(columns) FROM memories m \(whereClause) ORDER BY m.hlc DESC LIMIT ?"
        args.append(.int(Int64(max(0, min(q.limit, 1000)))))
        do {
            return try db.query(sql, args).compactMap(memory(from:))
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

    private func memory(from row: [SQLValue]) -> Memory? {
        guard let author = row[6].blob.flatMap(Bytes32.init), let id = row[9].blob.flatMap(Bytes32.init) else { return nil }
        let tags = PayloadCoding.decode([String].self, Array((row[3].text ?? "[]").utf8)) ?? []
        return Memory(key: row[0].text ?? "", category: row[1].text ?? "", content: row[2].text ?? "", tags: tags,
                      project: row[4].text, metaJSON: row[5].text, author: author, host: row[7].text ?? "",
                      recordedAtMillis: Int64(UInt64(bitPattern: row[8].int ?? 0) >> 16), id: id,
                      seq: UInt64(row[10].int ?? 0), trusted: isTrusted(author))
    }

    /// The merged breaker state per provider/model: the latest event by HLC among the authors
    /// considered (all, or trusted only), ties broken by author id.
    public func breakers(provider: String? = nil, model: String? = nil, trustedOnly: Bool = false, nowMillis: Int64) throws(StoreError) -> [BreakerStatus] {
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
        var args: [SQLValue] = [.int(nowMillis - maxAgeSeconds * 1000)]
        var conditions = ["recorded_at >= ?"]
        if let p = provider { conditions.append("provider = ?"); args.append(.text(p)) }
        if let m = model { conditions.append("model = ?"); args.append(.text(m)) }
        if let m = metric { conditions.append("metric = ?"); args.append(.text(m)) }
        if trustedOnly, let f = trustFilter(column: "author", into: &args) { conditions.append(f) }
        struct Acc { var count = 0; var sum = 0.0; var wsum = 0.0; var wtotal = 0.0; var last = 0.0; var newest = Int64.min; var newestID = EntryID.zero; var hosts = Set<String>() }
        var acc: [[String]: Acc] = [:]
        do {
            let s = try db.statement("""
                SELECT provider, model, metric, value, recorded_at, host, entry_id FROM benchmarks
                WHERE \(conditions.joined(separator: " AND "))
                """)
            try s.bind(args)
            while try s.step() {
                let k = [s.text(0), s.text(1), s.text(2)]
                let value = s.double(3), at = s.int(4)
                let id = Bytes32(s.blob(6)) ?? .zero
                var a = acc[k] ?? Acc()
                a.count += 1; a.sum += value
                let age = max(0, Double(nowMillis - at) / 1000)
                let w = exp2(-age / BenchmarkSummary.halfLifeSeconds)
                a.wsum += w * value; a.wtotal += w
                if (at, id) > (a.newest, a.newestID) { a.newest = at; a.newestID = id; a.last = value }
                a.hosts.insert(s.text(5))
                acc[k] = a
            }
        } catch { throw .storage(error) }
        return acc.map { k, a in
            BenchmarkSummary(provider: k[0], model: k[1], metric: k[2], count: a.count, last: a.last, mean: a.sum / Double(a.count),
                             weightedMean: a.wtotal > 0 ? a.wsum / a.wtotal : a.sum / Double(a.count),
                             hosts: a.hosts.sorted(), newestRecordedAtMillis: a.newest)
        }.sorted { ($0.provider, $0.model, $0.metric) < ($1.provider, $1.model, $1.metric) }
    }

    /// Counts for status: entries served, authors served, quarantined authors.
    public func counts() -> (entries: UInt64, authors: Int, quarantined: Int) {
        (entryCount(), heads.count, quarantined.count)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
