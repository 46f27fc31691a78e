import Foundation
import Wire
@testable import CRDTLog

/// Deterministic keys, clocks and temporary stores for the tests.
enum Fixtures {
    /// 2026-01-01T00:00:00Z in ms.
    static let t0: UInt64 = 1_767_225_600_000

    static func keyPair(_ n: UInt8) -> SigningKeyPair {
        try! SigningKeyPair(seed: (0..<32).map { UInt8($0) &+ n &* 32 })
    }

    static let vectorSeed: [UInt8] = (0..<32).map { UInt8($0) }

    static func tempDir() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-node-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func store(identity: SigningKeyPair? = nil, configuration: StoreConfiguration = .init(durableCommits: false)) throws -> LogStore {
        try LogStore(path: tempDir() + "/node.db", identity: identity, configuration: configuration)
    }

    static func memory(_ category: String, _ content: String, tags: [String]? = nil, project: String? = nil, host: String = "h") -> [UInt8] {
        PayloadCoding.encode(MemoryPayload(category: category, content: content, tags: tags, project: project, host: host))
    }

    /// A chain of `count` signed entries by `keyPair`, starting after `after`.
    static func chain(_ keyPair: SigningKeyPair, count: Int, startSeq: UInt64 = 1, prev: EntryID = .zero,
                      startMillis: UInt64 = t0, kind: String = EntryKind.memory,
                      payload: (Int) -> [UInt8] = { i in memory("note", "entry number \(i)") },
                      key: (Int) -> String = { "k\($0)" }) -> [Entry] {
        var out: [Entry] = []
        var prev = prev
        for i in 0..<count {
            let seq = startSeq + UInt64(i)
            let e = try! Entry.sign(keyPair: keyPair, seq: seq, prev: prev, hlc: HLCTimestamp(millis: startMillis + UInt64(i)),
                                    kind: kind, key: key(i), payload: payload(i))
            out.append(e)
            prev = e.id
        }
        return out
    }
}

/// Every "random" test is repeatable from its seed.
typealias SeededRandom = SplitMix64
