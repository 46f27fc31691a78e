import CRDTLog
import Foundation
import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// The per-author quota and the new-author limit, as the node applies them to entries from
/// peers: charged after the signature verifies, for entries the node does not hold yet.
@Suite("Admission")
struct AdmissionTests {
    static let t0: UInt64 = 1_767_225_600_000

    static func node(quotaPerHour: Int = 1_000, newAuthorsPerPeer: Int = 256, newAuthors: Int = 1_024, trusted: Set<Bytes32> = []) throws -> Node {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-admit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let identity = SigningKeyPair.generate()
        let store = try LogStore(path: dir + "/node.db", identity: identity, configuration: .init(trusted: trusted, durableCommits: false))
        var c = NodeConfiguration()
        c.bind = HostPort(host: "127.0.0.1", port: 0)
        c.quotaPerHour = quotaPerHour
        c.newAuthorsPerPeerPerHour = newAuthorsPerPeer
        c.newAuthorsPerHour = newAuthors
        return Node(identity: identity, networkKey: [UInt8](repeating: 1, count: 32), store: store, configuration: c, clock: { t0 })
    }

    static func chain(_ k: SigningKeyPair, count: Int) -> [Entry] {
        var out: [Entry] = []
        var prev = EntryID.zero
        for i in 0..<count {
            let e = try! Entry.sign(keyPair: k, seq: UInt64(i + 1), prev: prev, hlc: HLCTimestamp(millis: t0 - 60_000 + UInt64(i)),
                                    kind: EntryKind.memory, key: "k\(i)", payload: Array("{\"category\":\"c\",\"content\":\"n\(i)\",\"host\":\"h\"}".utf8))
            out.append(e)
            prev = e.id
        }
        return out
    }

    /// `e` with its signature bytes damaged: decodes, names the same author and seq, does not verify.
    static func forged(_ e: Entry) -> [UInt8] {
        var b = e.encoded
        b[e.signedHeader.count - 1] ^= 0xff
        return b
    }

    @Test func forgedStubsNamingAnAuthorDoNotDrainItsQuota() async throws {
        let node = try Self.node(quotaPerHour: 10)
        let victim = SigningKeyPair.generate(), peer = SigningKeyPair.generate().publicKey
        let real = Self.chain(victim, count: 10)
        // A hostile member sends 1,000 stubs in the victim's name first.
        for _ in 0..<10 { await node.ingest((0..<100).map { Self.forged(real[$0 % 10]) }, from: peer, viaSync: true) }
        // The victim's ten real entries all fit its quota of ten.
        let report = await node.ingest(real.map(\.encoded), from: peer, viaSync: true)
        #expect(report?.stored.count == 10)
        #expect(await node.metrics.entriesRejected["bad_signature"] == 1_000)
        #expect(await node.metrics.entriesRejected["quota_deferred"] == nil)
    }

    @Test func duplicatesAndReOffersCostNothing() async throws {
        let node = try Self.node(quotaPerHour: 10)
        let author = SigningKeyPair.generate(), peer = SigningKeyPair.generate().publicKey
        let chain = Self.chain(author, count: 12)
        #expect(await node.ingest(chain.prefix(5).map(\.encoded), from: peer, viaSync: true)?.stored.count == 5)
        // The same five again, twenty times (every copy a push, relay or sync re-offer brings).
        for _ in 0..<20 { await node.ingest(chain.prefix(5).map(\.encoded), from: peer, viaSync: true) }
        // Five new ones still fit; the quota of ten was charged once per entry, not per copy.
        #expect(await node.ingest(chain.dropFirst(5).prefix(5).map(\.encoded), from: peer, viaSync: true)?.stored.count == 5)
        // Past the quota: deferred, lowest seq first, not refused for good.
        let over = await node.ingest(chain.dropFirst(10).map(\.encoded), from: peer, viaSync: true)
        #expect(over?.stored.isEmpty == true)
        #expect(await node.metrics.entriesRejected["quota_deferred"] == 2)
    }

    @Test func throwawayAuthorsAreLimitedPerPeerAndInAll() async throws {
        let node = try Self.node(newAuthorsPerPeer: 5, newAuthors: 8)
        let peerA = SigningKeyPair.generate().publicKey, peerB = SigningKeyPair.generate().publicKey
        let authors = (0..<20).map { _ in SigningKeyPair.generate() }
        let firsts = authors.map { Self.chain($0, count: 1)[0].encoded }
        let fromA = await node.ingest(Array(firsts[0..<10]), from: peerA, viaSync: true)
        #expect(fromA?.stored.count == 5)  // per peer
        let fromB = await node.ingest(Array(firsts[10..<20]), from: peerB, viaSync: true)
        #expect(fromB?.stored.count == 3)  // the total of 8 is reached
        #expect(await node.metrics.entriesRejected["new_author_limit"] == 12)
        // An author already stored is not new: its next entries are not charged again.
        var storedAuthor: SigningKeyPair?
        for a in authors where await node.store.head(of: a.publicKey) != nil { storedAuthor = a; break }
        let next = Self.chain(try #require(storedAuthor), count: 2)[1].encoded
        #expect(await node.ingest([next], from: peerB, viaSync: true)?.stored.count == 1)
    }

    @Test func trustedAuthorsAreNeverLimitedAsNew() async throws {
        let friend = SigningKeyPair.generate()
        let node = try Self.node(newAuthorsPerPeer: 1, newAuthors: 1, trusted: [friend.publicKey])
        let peer = SigningKeyPair.generate().publicKey
        _ = await node.ingest([Self.chain(SigningKeyPair.generate(), count: 1)[0].encoded], from: peer, viaSync: true)  // uses the one slot
        #expect(await node.ingest([Self.chain(friend, count: 1)[0].encoded], from: peer, viaSync: true)?.stored.count == 1)
    }

    @Test func newAuthorLimitRefillsOverTheHour() {
        var limit = NewAuthorLimit(perPeerPerHour: 2, totalPerHour: 100)
        let peer = Bytes32(w0: 9, w1: 0, w2: 0, w3: 0)
        func author(_ n: UInt64) -> Bytes32 { Bytes32(w0: n, w1: 1, w2: 0, w3: 0) }
        do { let ok = limit.admit(author(1), from: peer, now: 0); #expect(ok) }
        do { let ok = limit.admit(author(2), from: peer, now: 0); #expect(ok) }
        do { let ok = limit.admit(author(3), from: peer, now: 0); #expect(!ok) }
        do { let ok = limit.admit(author(1), from: peer, now: 10); #expect(ok) }   // accepted already: not charged again
        do { let ok = limit.admit(author(3), from: peer, now: 1_800_000); #expect(ok) }  // half an hour: one more
        do { let ok = limit.admit(author(4), from: peer, now: 1_800_000); #expect(!ok) }
        do { let ok = limit.admit(author(4), from: peer, now: 0); #expect(!ok) }   // a clock stepping back refills nothing
    }
}
