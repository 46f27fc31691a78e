import Testing
@testable import GossipCore

/// The duplicate filter in front of push ingest.
@Suite("RecentEntries")
struct RecentEntriesTests {
    func entry(_ i: Int) -> [UInt8] { [UInt8(i & 0xff), UInt8(i >> 8 & 0xff), 7, 7, 7] }

    @Test func aByteIdenticalCopyMatchesAndADifferentEntryDoesNot() {
        var r = RecentEntries(capacity: 8)
        let first = r.insert(entry(1))
        #expect(first)
        #expect(r.contains(entry(1)))
        let again = r.insert(entry(1))
        #expect(!again)
        #expect(!r.contains(entry(2)))
        // One byte different (another entry at the same place in a log: a fork) is not a copy.
        var fork = entry(1); fork[4] = 8
        #expect(!r.contains(fork))
    }

    @Test func atCapacityTheOldestIsForgottenFirst() {
        var r = RecentEntries(capacity: 3)
        for i in 1...3 { r.insert(entry(i)) }
        r.insert(entry(4))
        #expect(r.count == 3)
        #expect(!r.contains(entry(1)))
        #expect(r.contains(entry(2)) && r.contains(entry(3)) && r.contains(entry(4)))
        for i in 5...100 { r.insert(entry(i)) }
        #expect(r.count == 3)
        #expect(r.contains(entry(98)) && r.contains(entry(99)) && r.contains(entry(100)))
        #expect(!r.contains(entry(97)))
    }

    @Test func reinsertingAHeldFingerprintDoesNotEvictAnything() {
        var r = RecentEntries(capacity: 2)
        r.insert(entry(1)); r.insert(entry(2))
        let again = r.insert(entry(2))
        #expect(!again)
        #expect(r.contains(entry(1)) && r.contains(entry(2)))
    }
}
