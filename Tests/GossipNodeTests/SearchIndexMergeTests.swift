@testable import CRDTLog
import Testing
import Wire
@testable import GossipNode

/// A node that is never quiet for ``GossipNodeDefaults/searchIndexQuietMillis`` still merges its
/// search index, once rewrites have grown it past twice its merged size
/// (``LogStore/searchIndexNeedsMerge()``), and only then.
@Suite("Node: a busy node merges its search index when rewrites have grown it")
struct SearchIndexMergeTests {
    @Test func aNodeNeverQuietMergesTheIndexOnceItHasGrownAndKeepsItBounded() async throws {
        let clock = MemberListSaveTests.ManualClock()
        // No slack (see LogStore.searchIndexNeedsMerge): 40 memories' index doubles within the run.
        let n = try MemberListSaveTests.node(clock: clock, store: .init(durableCommits: false, searchIndexSlackRows: 0))
        var largest: Int64 = 0
        var mergedSizes: [Int64] = []
        for i in 0..<3_000 {
            let payload = PayloadCoding.encode(MemoryPayload(category: "lesson", content: "write \(i): provider \(i % 7) drops requests at night"))
            _ = try await n.write(kind: EntryKind.memory, key: "k\(i % 40)", payload: payload)
            clock.advance(10)  // 30 s of writes, one every 10 ms: never quiet
            if i % 50 == 49 {
                let merges = await n.metrics.searchIndexMerges["grown"] ?? 0
                await n.retentionPass()
                let rows = try await n.store.searchIndexRows()
                largest = max(largest, rows)
                if (await n.metrics.searchIndexMerges["grown"] ?? 0) > merges {
                    mergedSizes.append(rows)
                    #expect(try await n.store.searchIndexSegments() == 1)
                }
            }
        }
        let merges = await n.metrics.searchIndexMerges
        #expect(merges["quiet"] == nil)
        #expect(mergedSizes.count >= 2, "merges: \(merges), largest index \(largest) rows")
        // Between merges the index stays within twice its merged size, plus what 50 writes add
        // before the next pass looks (at most a page each).
        let bound = (mergedSizes.max() ?? 0) * LogStore.searchIndexGrowthFactor + 50
        #expect(largest <= bound)
        // Every key answers with its latest content.
        let found = try await n.store.recall(MemoryQuery(text: "provider", limit: 100)).memories
        #expect(found.count == 40)
        #expect(Set(found.map(\.content)) == Set((2_960..<3_000).map { "write \($0): provider \($0 % 7) drops requests at night" }))
    }
}
