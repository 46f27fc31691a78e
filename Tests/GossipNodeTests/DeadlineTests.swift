import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// The node sleeps until its cores' next deadline: each must name the time its tick has work.
@Suite("Core deadlines")
struct DeadlineTests {
    let key = try! SigningKeyPair(seed: [UInt8](repeating: 1, count: 32))
    var me: Bytes32 { key.publicKey }
    let other = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)

    @Test func swimWakesForTheProbeTimeoutThenTheIndirectRoundThenTheNextProbe() {
        let config = SWIMConfiguration()
        var swim = SWIM(identity: key, address: "10.0.0.1:7420", incarnation: 1, configuration: config, seed: 7)
        let t0: UInt64 = 1_000_000
        _ = swim.learn([MemberUpdate(member: other, address: "10.0.0.2:7420", incarnation: 1, state: .alive)], now: t0)
        // Nothing has run yet: the first probe is due at once.
        #expect(swim.nextDeadline(now: t0) <= t0)
        let effects = swim.tick(now: t0)
        #expect(effects.contains { if case .send(_, let m, _) = $0 { m == other } else { false } })
        // A direct probe is out: the next work is its timeout.
        #expect(swim.nextDeadline(now: t0) == t0 + config.probeTimeoutMillis)
        // Nothing happens before it.
        #expect(swim.tick(now: t0 + config.probeTimeoutMillis - 1).isEmpty)
        // At the timeout the probe goes indirect (no helpers here) and ends one interval after it was sent.
        _ = swim.tick(now: t0 + config.probeTimeoutMillis)
        #expect(swim.nextDeadline(now: t0 + config.probeTimeoutMillis) == t0 + config.probeIntervalMillis)
    }

    @Test func anIdleSwimSleepsAboutAProbeInterval() {
        let config = SWIMConfiguration()
        var swim = SWIM(identity: key, address: "10.0.0.1:7420", incarnation: 1, configuration: config, seed: 7)
        let t0: UInt64 = 1_000_000
        _ = swim.tick(now: t0)  // no members: nothing to probe, no gossip pending
        let due = swim.nextDeadline(now: t0)
        #expect(due > t0)
        #expect(due <= t0 + config.probeIntervalMillis)
    }

    @Test func replicationWakesForItsPeriodicSync() {
        let config = ReplicationConfiguration()
        var repl = ReplicationCore(me: me, digest: Bytes32(w0: 0, w1: 0, w2: 0, w3: 0), configuration: config, seed: 1)
        let t0: UInt64 = 5_000
        #expect(repl.nextDeadline(now: t0) == t0)  // first tick schedules the periodic sync
        _ = repl.tick(now: t0)
        #expect(repl.nextDeadline(now: t0) == t0 + config.syncIntervalMillis)
    }
}
