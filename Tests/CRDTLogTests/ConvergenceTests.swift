import Foundation
import Testing
import Wire
@testable import CRDTLog

/// The CRDT property: any order and batching of the same entries gives the same state.
@Suite("Convergence")
struct ConvergenceTests {
    let now = Fixtures.t0 + 3_600_000

    /// Entries of 4 authors mixing memories (with superseding keys), retractions, breakers,
    /// benchmarks and an unknown kind.
    static func corpus() -> [Entry] {
        var out: [Entry] = []
        for n in 1...4 {
            let kp = Fixtures.keyPair(UInt8(n))
            out += Fixtures.chain(kp, count: 25, startMillis: Fixtures.t0 + UInt64(n * 7), kind: "memory", payload: { i in
                switch i % 5 {
                case 0: PayloadCoding.encode(BreakerPayload(provider: "p\(i % 3)", model: "m", state: i % 2 == 0 ? .open : .closed,
                                                            resetsAt: RFC3339.format(millis: Int64(Fixtures.t0) + 7_200_000), host: "h\(n)"))
                case 1: PayloadCoding.encode(BenchmarkPayload(provider: "p", model: "m", metric: "ms", value: Double(i * n), host: "h\(n)"))
                default: Fixtures.memory("c\(i % 2)", "author \(n) memory \(i) about provider \(i % 3)", tags: ["t\(i % 4)"], host: "h\(n)")
                }
            }, key: { i in "key\(i % 7)" })
        }
        // Re-sign with the right kinds: rebuild the chains per author with kinds by position.
        var fixed: [Entry] = []
        for n in 1...4 {
            let kp = Fixtures.keyPair(UInt8(n))
            var prev = EntryID.zero
            for (i, e) in out.filter({ $0.author == kp.publicKey }).enumerated() {
                let kind = switch i % 5 { case 0: "breaker"; case 1: "benchmark"; case 4: i % 10 == 4 ? "memory.retract" : "memory"; default: i == 7 ? "x-unknown" : "memory" }
                let r = try! Entry.sign(keyPair: kp, seq: e.seq, prev: prev, hlc: e.hlc, kind: kind,
                                        key: kind == "breaker" ? "p\(i % 3)/m" : e.key, payload: e.payload)
                fixed.append(r)
                prev = r.id
            }
        }
        return fixed
    }

    struct Snapshot: Equatable {
        var digest: Bytes32
        var memories: [Memory]
        var recall: [String]
        var breakers: [BreakerStatus]
        var benchmarks: [BenchmarkSummary]
    }

    func snapshot(_ s: LogStore) async throws -> Snapshot {
        let mems = try await s.memories(MemoryQuery(limit: 1000)).sorted { ($0.author, $0.key) < ($1.author, $1.key) }
        let recall = try await s.memories(MemoryQuery(text: "provider 2 memory", limit: 1000)).map { "\($0.author.short)/\($0.key)" }
        return Snapshot(digest: await s.digest(), memories: mems, recall: recall,
                        breakers: try await s.breakers(nowMillis: Int64(now)),
                        benchmarks: try await s.benchmarks(nowMillis: Int64(now)))
    }

    @Test func randomOrdersAndBatchingsConverge() async throws {
        let corpus = Self.corpus()
        let reference = try Fixtures.store()
        let r = try await reference.ingest(corpus, now: now)
        #expect(r.stored.count == corpus.count)
        let expected = try await snapshot(reference)
        #expect(expected.memories.count > 10 && !expected.breakers.isEmpty && !expected.benchmarks.isEmpty)
        var rng = SeededRandom(seed: 42)
        for _ in 0..<24 {
            let s = try Fixtures.store()
            var shuffled = corpus
            shuffled.shuffle(using: &rng)
            var i = 0
            while i < shuffled.count {
                let n = Int.random(in: 1...17, using: &rng)
                _ = try await s.ingest(Array(shuffled[i..<min(i + n, shuffled.count)]), now: now)
                i += n
            }
            #expect(try await snapshot(s) == expected)
            #expect(try await s.verify().isClean)
        }
    }

    @Test func ingestingTwiceEqualsOnce() async throws {
        let corpus = Self.corpus()
        let s = try Fixtures.store()
        _ = try await s.ingest(corpus, now: now)
        let once = try await snapshot(s)
        let again = try await s.ingest(corpus.reversed(), now: now)
        #expect(again.stored.isEmpty && again.duplicates == corpus.count)
        #expect(try await snapshot(s) == once)
    }
}
