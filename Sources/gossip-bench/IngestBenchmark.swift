import CRDTLog
import CSQLite
import Dispatch
import Foundation
import Wire

/// `gossip-bench ingest`: batch ingest of pre-signed entries against the machine's own limits,
/// local append rate, and recall latency. Prints figures, last line
/// `ingest: <N> entries/s, limit <M> entries/s, ratio <R>`.
struct IngestBenchmark {
    var entryCount = 100_000
    var authors = 10
    var batchSize = 1000

    static let domainWords = ("provider model outage retry backoff timeout latency token budget rate limit drops requests night "
        + "anti-pattern lesson breaker opens closes half-open kimi claude gpt mistral deepseek 503 429 context window "
        + "prompt cache eviction slow fast flaky stable regression deploy rollback schema migration sqlite wal fsync").split(separator: " ").map(String.init)

    /// A natural-language-like vocabulary: the domain words, then 20,000 pronounceable made-up
    /// words, drawn with a Zipf(1) distribution (so a few words are everywhere, most are rare).
    struct Vocabulary {
        let words: [String]
        let cdf: [Double]
        init() {
            let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dro", "fen", "gar", "hul", "jis"]
            var w = IngestBenchmark.domainWords
            var n = 0
            while w.count < 20_050 {
                var x = n, s = ""
                repeat { s += syllables[x % syllables.count]; x /= syllables.count } while x > 0
                w.append(s + "x")
                n += 1
            }
            words = w
            var acc = 0.0
            var c: [Double] = []
            for r in 1...w.count { acc += 1 / Double(r); c.append(acc) }
            cdf = c.map { $0 / acc }
        }
        func draw(_ rng: inout SplitMix64) -> String {
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            var lo = 0, hi = cdf.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
            return words[lo]
        }
    }

    /// `entries` signed memories (about 300-byte payloads of Zipf-drawn words) from `authors`
    /// fixed identities (author `i`'s seed is derived from `seedBase + i`), chained per author,
    /// stamped in the recent past.
    static func makeCorpus(entries entryCount: Int, authors: Int, kind: String = EntryKind.memory, seedBase: Int = 0) throws -> [Entry] {
        var rng = SplitMix64(seed: UInt64(1 + seedBase))
        let keyPairs = (0..<authors).map { i in try! SigningKeyPair(seed: (0..<32).map { UInt8(($0 + (i + seedBase) * 7) & 0xff) }) }
        let perAuthor = entryCount / authors
        let start = UInt64(Date().timeIntervalSince1970 * 1000) - UInt64(entryCount) - 1000
        let vocabulary = Vocabulary()
        var corpus: [Entry] = []
        corpus.reserveCapacity(entryCount)
        for (a, kp) in keyPairs.enumerated() {
            var prev = EntryID.zero
            for i in 0..<perAuthor {
                let content = (0..<36).map { _ in vocabulary.draw(&rng) }.joined(separator: " ")
                let payload = PayloadCoding.encode(MemoryPayload(category: "lesson", content: content, tags: ["t\(i % 10)"], host: "host\(a + seedBase)"))
                let e = try Entry.sign(keyPair: kp, seq: UInt64(i + 1), prev: prev, hlc: HLCTimestamp(millis: start + UInt64(i)),
                                       kind: kind, key: "m\(i)", payload: payload)
                corpus.append(e)
                prev = e.id
            }
        }
        return corpus
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["GOSSIP_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: dir) } else { print("kept \(dir)") } }
        print("machine: \(Machine.describe())")
        print("entries: \(entryCount) from \(authors) authors, batches of \(batchSize)")

        // Pre-sign the corpus (not timed).
        let corpus = try Self.makeCorpus(entries: entryCount, authors: authors,
                                         kind: ProcessInfo.processInfo.environment["GOSSIP_BENCH_KIND"] ?? EntryKind.memory)
        let avgPayload = corpus.reduce(0) { $0 + $1.payload.count } / corpus.count
        print("average payload: \(avgPayload) bytes, average encoded entry: \(corpus.reduce(0) { $0 + $1.encoded.count } / corpus.count) bytes")
        // Delivered the way a sync streams them: per author in seq order, in batches.
        let encoded = corpus.map(\.encoded)
        let signed = corpus

        let decodeOnly = try measure("decode + hash + authenticate (EntryVerifier.check: all cores, one signature per chain run)") {
            EntryVerifier.check(encoded).count
        }
        _ = decodeOnly
        // Limit 1: raw libsodium verify on all cores.
        let verifyRate = try measure("raw verify (libsodium, \(ProcessInfo.processInfo.activeProcessorCount) cores)") {
            let ok = Atomicish()
            DispatchQueue.concurrentPerform(iterations: 64) { c in
                let lo = signed.count * c / 64, hi = signed.count * (c + 1) / 64
                var good = 0
                for i in lo..<hi where signed[i].verifySignature() { good += 1 }
                ok.add(good)
            }
            precondition(ok.value == corpus.count)
            return corpus.count
        }

        // Limit 2: raw SQLite insert of the same rows into the same table shape, one transaction
        // per batch, WAL, synchronous=FULL (as the store).
        let insertRate = try measure("raw SQLite insert (same rows, WAL, synchronous=FULL)") {
            try rawInsert(path: dir + "/raw.db", entries: corpus)
        }
        let limit = 1 / (1 / verifyRate + 1 / insertRate)
        print(String(format: "limit (verify then insert, serial): %.0f entries/s", limit))

        // The store's own share: the same batches, verified beforehand, committed one after another
        // on one thread with nothing beside them (chain checks, rows, views, full-text index).
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let preVerified = stride(from: 0, to: signed.count, by: batchSize).map { lo in
            signed[lo..<min(lo + batchSize, signed.count)].map { Result<Entry, EntryRejection>.success($0) }
        }
        let commitStore = try LogStore(path: dir + "/commit.db", identity: nil)
        let cpu0 = processCPUSeconds()
        _ = try await measureAsync("LogStore commit alone (pre-verified batches, one thread)") {
            var stored = 0
            for b in preVerified { stored += try await commitStore.ingest(checked: b, now: now).stored.count }
            return stored
        }
        print(String(format: "  CPU: %.1f µs per entry (the process's user + system time over the commits)",
                     (processCPUSeconds() - cpu0) * 1e6 / Double(signed.count)))

        // The real thing.
        let store = try LogStore(path: dir + "/node.db", identity: nil)
        let ingestRate = try await measureAsync("LogStore.ingest (decode, verify, chain, store, views + FTS)") {
            // As a sync session does: verify batch k+1 on all cores while batch k commits.
            let batches = stride(from: 0, to: encoded.count, by: batchSize).map { Array(encoded[$0..<min($0 + batchSize, encoded.count)]) }
            var stored = 0
            var next = Task.detached { EntryVerifier.check(batches[0]) }
            var waitingForVerify: UInt64 = 0, committing: UInt64 = 0
            for k in batches.indices {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let checked = await next.value
                let t1 = DispatchTime.now().uptimeNanoseconds
                if k + 1 < batches.count { let b = batches[k + 1]; next = Task.detached { EntryVerifier.check(b) } }
                stored += try await store.ingest(checked: checked, now: now).stored.count
                waitingForVerify += t1 - t0
                committing += DispatchTime.now().uptimeNanoseconds - t1
            }
            print(String(format: "  of which waiting for verification %.3f s, committing %.3f s", Double(waitingForVerify) / 1e9, Double(committing) / 1e9))
            precondition(stored == encoded.count, "stored \(stored) of \(encoded.count)")
            return stored
        }

        if ProcessInfo.processInfo.environment["GOSSIP_BENCH_ONLY_INGEST"] != nil { return }
        // Recall over the 100,000 memories just ingested.
        let vocabulary = Vocabulary()
        var rng = SplitMix64(seed: 99)
        var latencies: [Double] = []
        var emptyRecalls = 0
        for q in 0..<1000 {
            let text = (0..<2).map { _ in vocabulary.draw(&rng) }.joined(separator: " ")
            let t = DispatchTime.now().uptimeNanoseconds
            let hits = try await store.memories(MemoryQuery(text: text, category: q % 4 == 0 ? "lesson" : nil, limit: 20))
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            if hits.isEmpty { emptyRecalls += 1 }
        }
        latencies.sort()
        print(String(format: "recall (FTS5 BM25, 100k memories, limit 20): p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                     latencies[latencies.count / 2], latencies[latencies.count * 99 / 100], latencies.last!))
        print("recall queries: 1000 of two Zipf-drawn words, \(emptyRecalls) with no hit")

        // Local append: one durable transaction per write.
        let own = try LogStore(path: dir + "/own.db", identity: .generate())
        let appendRate = try await measureAsync("local append (sign + one durable transaction each)") {
            for i in 0..<2000 {
                try await own.append(kind: EntryKind.memory, key: "k\(i)", payload: encoded[i].suffix(corpus[i].payload.count).map { $0 },
                                     now: UInt64(Date().timeIntervalSince1970 * 1000))
            }
            return 2000
        }
        let verify = try await measureAsync("verify (offline integrity check of 100k entries)") {
            let report = try await store.verify()
            precondition(report.isClean, "\(report.problems.prefix(3))")
            return report.entriesChecked
        }
        _ = (appendRate, verify)
        print(String(format: "ingest: %.0f entries/s, limit %.0f entries/s, ratio %.2f", ingestRate, limit, ingestRate / limit))
    }

    func rawInsert(path: String, entries: [Entry]) throws -> Int {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("open failed") }
        defer { sqlite3_close(db) }
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nil, nil, nil)
        sqlite3_exec(db, """
            CREATE TABLE entries(author BLOB NOT NULL, seq INTEGER NOT NULL, id BLOB NOT NULL, hlc INTEGER NOT NULL,
              kind TEXT NOT NULL, key TEXT NOT NULL, header BLOB NOT NULL, payload BLOB, received_at INTEGER NOT NULL);
            CREATE UNIQUE INDEX entries_author_seq ON entries(author, seq);
            """, nil, nil, nil)
        var stmt: OpaquePointer?
        sqlite3_prepare_v2(db, "INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?)", -1, &stmt, nil)
        defer { sqlite3_finalize(stmt) }
        var i = 0
        while i < entries.count {
            sqlite3_exec(db, "BEGIN", nil, nil, nil)
            for e in entries[i..<min(i + batchSize, entries.count)] {
                sqlite3_reset(stmt)
                let author = e.author.bytes, id = e.id.bytes
                sqlite3_bind_blob(stmt, 1, author, 32, csqlite_transient())
                sqlite3_bind_int64(stmt, 2, Int64(e.seq))
                sqlite3_bind_blob(stmt, 3, id, 32, csqlite_transient())
                sqlite3_bind_int64(stmt, 4, Int64(bitPattern: e.hlc.rawValue))
                sqlite3_bind_text(stmt, 5, e.kind, -1, csqlite_transient())
                sqlite3_bind_text(stmt, 6, e.key, -1, csqlite_transient())
                sqlite3_bind_blob(stmt, 7, e.signedHeader, Int32(e.signedHeader.count), csqlite_transient())
                sqlite3_bind_blob(stmt, 8, e.payload, Int32(e.payload.count), csqlite_transient())
                sqlite3_bind_int64(stmt, 9, 0)
                guard sqlite3_step(stmt) == SQLITE_DONE else { throw BenchError("insert failed") }
            }
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
            i += batchSize
        }
        return entries.count
    }
}
