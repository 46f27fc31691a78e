import Testing
@testable import GossipCore
@testable import GossipNode

/// Handing unused memory back must never touch a page the process wrote.
@Suite("Memory release")
struct MemoryReleaseTests {
    #if os(Linux)
    @Test func releasesCleanCodePagesAndTheProcessGoesOn() {
        let mappings = MemoryRelease.cleanFileMappings()
        #expect(!mappings.isEmpty)
        #expect(mappings.allSatisfy { $0.start < $0.end && $0.start % 4096 == 0 })
        guard let report = MemoryRelease.release() else { Issue.record("no report on Linux"); return }
        #expect(report.advisedBytes > 0)
        #expect(report.residentBeforeKiB > 0)
        // Code, relocated data and the heap still work after the release.
        var x: UInt64 = 0
        for i in 0..<10_000 { x = x &* 31 &+ UInt64(i) }
        #expect(x != 0)
        #expect(String(describing: [1, 2, 3]) == "[1, 2, 3]")
        #expect(MemoryRelease.residentKiB() > 0)
    }

    @Test func writableAndAnonymousMappingsAreNeverCandidates() throws {
        let candidates = MemoryRelease.cleanFileMappings()
        let maps = try #require(MemoryRelease.readFile("/proc/self/maps"))
        for line in maps.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 5 else { continue }
            let r = f[0].split(separator: "-")
            guard let start = Int(r[0], radix: 16) else { continue }
            let writable = f[1].contains("w"), fileBacked = f.count >= 6 && f[5].hasPrefix("/")
            if writable || !fileBacked { #expect(!candidates.contains { $0.start == start }) }
        }
    }
    #endif
}
