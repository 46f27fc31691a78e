import Testing
@testable import GossipCore
@testable import GossipNode

/// Handing freed heap back: the process goes on, and the resident size is read.
@Suite("Memory release")
struct MemoryReleaseTests {
    #if os(Linux)
    @Test func freedHeapGoesBackAndTheProcessGoesOn() {
        // A large allocation, touched and freed, leaves heap that malloc_trim can return.
        var big = [UInt8](repeating: 1, count: 32 << 20)
        big[big.count - 1] = 2
        #expect(big.last == 2)
        big = []
        guard let report = MemoryRelease.release() else { Issue.record("no report on Linux"); return }
        #expect(report.residentBeforeKiB > 0)
        #expect(report.residentAfterKiB > 0)
        var x: UInt64 = 0
        for i in 0..<10_000 { x = x &* 31 &+ UInt64(i) }
        #expect(x != 0)
        #expect(String(describing: [1, 2, 3]) == "[1, 2, 3]")
    }
    #endif
}
