import CRDTLog
import Foundation
import Synchronization
import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// The member list a node remembers across restarts: the first change after a quiet spell is
/// saved at once, what follows within the next second in one transaction (not once per member: a
/// join wave of 127 members cost 123 `fdatasync`s a node), and whatever is still queued is saved
/// when the node leaves.
@Suite("Node: saving the member list")
struct MemberListSaveTests {
    final class ManualClock: Sendable {
        let millis = Atomic<UInt64>(AdmissionTests.t0)
        func advance(_ ms: UInt64) { millis.add(ms, ordering: .relaxed) }
        var now: UInt64 { millis.load(ordering: .relaxed) }
    }

    static func node(clock: ManualClock, store configuration: StoreConfiguration = .init(durableCommits: false)) throws -> Node {
        let dir = try SocketRestoreTests.tempDir()
        let identity = SigningKeyPair.generate()
        let store = try LogStore(path: dir + "/node.db", identity: identity, configuration: configuration)
        var c = NodeConfiguration()
        c.bind = HostPort(host: "127.0.0.1", port: 0)
        return Node(identity: identity, networkKey: [UInt8](repeating: 1, count: 32), store: store, configuration: c,
                    clock: { clock.now })
    }

    static func members(_ count: Int, from: Int = 0) -> [MemberUpdate] {
        (from..<from + count).map { i in
            MemberUpdate(member: SigningKeyPair.generate().publicKey, address: "127.0.\(i / 200).\(i % 200 + 2):7420", incarnation: 1, state: .alive)
        }
    }

    @Test func theFirstMemberIsSavedAtOnceAndTheRestOfAJoinWaveTogetherAfterTheDelay() async throws {
        let clock = ManualClock()
        let n = try Self.node(clock: clock)
        let wave = Self.members(50)
        // The seed: written at once.
        await n.perform([.memberChanged(wave[0])])
        #expect(await eventually(5) { (try? await n.store.rememberedPeers().count) == 1 })
        // The rest arrive one datagram at a time over the next 0.4 s, as in a join wave.
        for (i, u) in wave.dropFirst().enumerated() {
            await n.perform([.memberChanged(u)])
            if i % 10 == 9 { clock.advance(100) }
        }
        let saveAt = AdmissionTests.t0 + GossipNodeDefaults.peerSaveDelayMillis
        #expect(await n.peerSaveAt == saveAt)
        #expect(await n.nextDeadline(now: clock.now) <= saveAt, "the timer wakes for the save")
        await n.tick()
        #expect(try await n.store.rememberedPeers().count == 1, "not due yet: nothing written per member")
        clock.advance(GossipNodeDefaults.peerSaveDelayMillis)
        await n.tick()
        let saved = try await n.store.rememberedPeers()
        #expect(Set(saved.map(\.author)) == Set(wave.map(\.member)))
        #expect(await n.peerSaveAt == nil)
    }

    @Test func whatIsStillQueuedIsSavedWhenTheNodeLeaves() async throws {
        let clock = ManualClock()
        let n = try Self.node(clock: clock)
        let early = Self.members(3), late = Self.members(2, from: 3)
        await n.perform(early.map { .memberChanged($0) })
        clock.advance(GossipNodeDefaults.peerSaveDelayMillis)
        await n.tick()
        await n.perform(late.map { .memberChanged($0) } + [.memberForgotten(early[0].member)])
        await n.leave()
        let saved = Set(try await n.store.rememberedPeers().map(\.author))
        #expect(saved == Set((early.dropFirst() + late).map(\.member)))
    }
}
