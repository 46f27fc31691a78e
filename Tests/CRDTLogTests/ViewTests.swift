import Foundation
import Testing
import Wire
@testable import CRDTLog

@Suite("Views")
struct ViewTests {
    let now = Fixtures.t0 + 3_600_000

    @Test func memoriesSupersedeAndRetractPerAuthorAndKey() async throws {
        let me = Fixtures.keyPair(1)
        let s = try Fixtures.store(identity: me)
        try await s.append(kind: "memory", key: "x", payload: Fixtures.memory("anti-pattern", "first version"), now: now)
        try await s.append(kind: "memory", key: "x", payload: Fixtures.memory("anti-pattern", "second version"), now: now)
        try await s.append(kind: "memory", key: "y", payload: Fixtures.memory("anti-pattern", "other"), now: now)
        var all = try await s.memories(MemoryQuery())
        #expect(all.map(\.content).sorted() == ["other", "second version"])
        #expect(try await s.memory(author: me.publicKey, key: "x")?.seq == 2)
        try await s.append(kind: EntryKind.memoryRetraction, key: "x", payload: PayloadCoding.encode(RetractionPayload()), now: now)
        all = try await s.memories(MemoryQuery())
        #expect(all.map(\.key) == ["y"])
        #expect(try await s.memory(author: me.publicKey, key: "x") == nil)
        #expect(try await s.memories(MemoryQuery(text: "version")).isEmpty)
        #expect(try await s.verify().isClean)
    }

    @Test func recallRanksByBM25AndFilters() async throws {
        let me = Fixtures.keyPair(1)
        let s = try Fixtures.store(identity: me)
        let docs: [(String, String, [String], String?)] = [
            ("outage", "Provider X drops requests at 03:00 UTC; retry after 03:10", ["provider-x", "night"], "sf"),
            ("outage", "Model Y is down until 14:00", ["model-y"], "sf"),
            ("anti-pattern", "Never retry a provider X request without backoff: provider X rate limits hard", ["provider-x"], "other"),
            ("note", "Lunch is at noon", [], nil),
        ]
        for (i, d) in docs.enumerated() {
            try await s.append(kind: "memory", key: "m\(i)", payload: Fixtures.memory(d.0, d.1, tags: d.2, project: d.3), now: now + UInt64(i))
        }
        let hits = try await s.memories(MemoryQuery(text: "provider X"))
        #expect(hits.count == 2)
        #expect(hits.first?.key == "m2")  // mentions provider X most
        #expect(try await s.memories(MemoryQuery(text: "provider", category: "outage")).map(\.key) == ["m0"])
        #expect(try await s.memories(MemoryQuery(tag: "provider-x")).map(\.key).sorted() == ["m0", "m2"])
        #expect(try await s.memories(MemoryQuery(project: "sf")).map(\.key) == ["m1", "m0"])
        #expect(try await s.memories(MemoryQuery(sinceMillis: Int64(now) + 2)).map(\.key) == ["m3", "m2"])
        #expect(try await s.memories(MemoryQuery(limit: 1)).map(\.key) == ["m3"])
        // Operators and quotes in user text are words, not FTS syntax.
        #expect(try await s.memories(MemoryQuery(text: "\"NEAR( model* OR -y:")).map(\.key) == ["m1"])
        #expect(try await s.memories(MemoryQuery(text: "???")).count == 4)
        let m = try #require(hits.first)
        #expect(m.author == me.publicKey && m.trusted && m.host == "h" && m.tags == ["provider-x"])
    }

    /// A word in more than ``LogStore/commonWordDocs`` memories is answered newest first (the
    /// path that reads no BM25 rank); a rare word in the same query is ranked instead.
    @Test func aCommonWordIsAnsweredNewestFirstAndARareOneRanked() async throws {
        let writer = Fixtures.keyPair(2)
        let s = try Fixtures.store(identity: Fixtures.keyPair(1))
        let count = LogStore.commonWordDocs + 200
        let chain = Fixtures.chain(writer, count: count, payload: { i in
            Fixtures.memory(i % 2 == 0 ? "outage" : "lesson", i == 7 ? "provider zebra outage at night" : "provider note \(i)")
        })
        for start in stride(from: 0, to: chain.count, by: 500) {
            _ = try await s.ingest(Array(chain[start..<min(start + 500, chain.count)]), now: now)
        }
        let newest = try await s.memories(MemoryQuery(text: "provider", limit: 5))
        #expect(newest.map(\.key) == (0..<5).map { "k\(count - 1 - $0)" })
        let outages = try await s.memories(MemoryQuery(text: "provider", category: "outage", limit: 3))
        #expect(outages.map(\.key) == ["k\(count - 2)", "k\(count - 4)", "k\(count - 6)"])
        #expect(try await s.memories(MemoryQuery(text: "provider zebra", limit: 5)).map(\.key) == ["k7"])
    }

    @Test func trustedOnlyFiltersByTheTrustList() async throws {
        let me = Fixtures.keyPair(1), friend = Fixtures.keyPair(2), stranger = Fixtures.keyPair(3)
        let s = try Fixtures.store(identity: me, configuration: .init(trusted: [friend.publicKey], durableCommits: false))
        try await s.append(kind: "memory", key: "mine", payload: Fixtures.memory("c", "shared lesson"), now: now)
        _ = try await s.ingest(Fixtures.chain(friend, count: 1, payload: { _ in Fixtures.memory("c", "shared lesson friend") }), now: now)
        _ = try await s.ingest(Fixtures.chain(stranger, count: 1, payload: { _ in Fixtures.memory("c", "shared lesson poison") }), now: now)
        let all = try await s.memories(MemoryQuery(text: "lesson"))
        #expect(all.count == 3)
        #expect(all.filter(\.trusted).count == 2)
        let trusted = try await s.memories(MemoryQuery(text: "lesson", trustedOnly: true))
        #expect(Set(trusted.map(\.author)) == [me.publicKey, friend.publicKey])
        #expect(try await s.memories(MemoryQuery(author: stranger.publicKey)).map(\.content) == ["shared lesson poison"])
    }

    @Test func breakersMergeLatestByHLCAndExpire() async throws {
        let a = Fixtures.keyPair(1), b = Fixtures.keyPair(2)
        let s = try Fixtures.store(identity: a, configuration: .init(trusted: [], durableCommits: false))
        let resets = RFC3339.format(millis: Int64(now) + 600_000)
        let open = PayloadCoding.encode(BreakerPayload(provider: "kimi", model: "k2", state: .open, reason: "503", resetsAt: resets, host: "a"))
        try await s.append(kind: "breaker", key: "kimi/k2", payload: open, now: now)
        var v = try await s.breakers(nowMillis: Int64(now) + 1000)
        #expect(v.count == 1 && v[0].state == .open && v[0].reason == "503" && v[0].host == "a")
        // Past resets_at it reads closed.
        v = try await s.breakers(nowMillis: Int64(now) + 600_001)
        #expect(v[0].state == .closed)
        // A later close by another author wins; an earlier one does not.
        let closeEarly = PayloadCoding.encode(BreakerPayload(provider: "kimi", model: "k2", state: .closed, host: "b"))
        _ = try await s.ingest(Fixtures.chain(b, count: 1, startMillis: now - 5000, kind: "breaker", payload: { _ in closeEarly }, key: { _ in "kimi/k2" }), now: now)
        v = try await s.breakers(nowMillis: Int64(now) + 1000)
        #expect(v[0].state == .open && v[0].author == a.publicKey)
        let bHead = try #require(await s.head(of: b.publicKey))
        _ = try await s.ingest(Fixtures.chain(b, count: 1, startSeq: 2, prev: bHead.head, startMillis: now + 5000, kind: "breaker",
                                              payload: { _ in closeEarly }, key: { _ in "kimi/k2" }), now: now)
        v = try await s.breakers(nowMillis: Int64(now) + 6000)
        #expect(v[0].state == .closed && v[0].author == b.publicKey)
        #expect(try await s.breakers(provider: "other", nowMillis: Int64(now)).isEmpty)
    }

    @Test func benchmarksAggregateWithinMaxAge() async throws {
        let a = Fixtures.keyPair(1)
        let s = try Fixtures.store(identity: a)
        func obs(_ v: Double, agoSeconds: Int64, host: String) -> [UInt8] {
            PayloadCoding.encode(BenchmarkPayload(provider: "p", model: "m", metric: "latency_ms", value: v,
                                                  recordedAt: RFC3339.format(millis: Int64(now) - agoSeconds * 1000), host: host))
        }
        try await s.append(kind: "benchmark", key: "", payload: obs(100, agoSeconds: 7200, host: "h1"), now: now)
        try await s.append(kind: "benchmark", key: "", payload: obs(200, agoSeconds: 0, host: "h2"), now: now)
        try await s.append(kind: "benchmark", key: "", payload: obs(999, agoSeconds: 200_000, host: "h3"), now: now)
        let r = try await s.benchmarks(nowMillis: Int64(now))
        #expect(r.count == 1)
        let b = try #require(r.first)
        #expect(b.count == 2 && b.last == 200 && b.mean == 150 && b.hosts == ["h1", "h2"])
        // Two half-lives: weights 1 and 1/4.
        #expect(abs(b.weightedMean - (200 + 100 * 0.25) / 1.25) < 1e-9)
        #expect(b.newestRecordedAtMillis == Int64(now))
        #expect(try await s.benchmarks(maxAgeSeconds: 3600, nowMillis: Int64(now)).first?.count == 1)
        #expect(try await s.benchmarks(metric: "other", nowMillis: Int64(now)).isEmpty)
    }
}
