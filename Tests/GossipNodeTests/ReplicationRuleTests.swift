import Foundation
import Testing
import Wire
@testable import GossipCore

/// The replication core's rules one at a time, and NodeCore's interpretation of them (pushes
/// packed into datagrams, dials, the fence, seeds), in the style of the SWIM rule tests.
@Suite("Replication rules")
struct ReplicationRuleTests {
    static func id(_ n: UInt64) -> Bytes32 { Bytes32(w0: n, w1: 0, w2: 0, w3: 0) }
    let me = id(5)
    let t0: UInt64 = 1_000_000

    func core(peers: [UInt64], configuration: ReplicationConfiguration = .init()) -> ReplicationCore {
        var r = ReplicationCore(me: me, digest: .zero, configuration: configuration, seed: 1)
        for p in peers { r.peerUp(Self.id(p)) }
        return r
    }
    func digest(_ n: UInt64) -> Bytes32 { Bytes32(w0: n, w1: 0, w2: 0, w3: 0) }
    func key(_ author: UInt64, _ seq: UInt64) -> EntryKey { EntryKey(author: Self.id(author), seq: seq) }

    @Test func aWriterPushesToEveryPeerInASmallCluster() {
        var r = core(peers: [1, 2, 3, 4, 6, 7])
        let e = r.stored([key(5, 1)], from: nil, now: t0)
        guard case .push(_, let to)? = e.first else { Issue.record("no push"); return }
        #expect(Set(to) == Set([1, 2, 3, 4, 6, 7].map(Self.id)))
    }

    @Test func aFirstHandReceiverDoesNotRelayInASmallClusterUnlessConfigured() {
        // The author pushed to every peer itself: by default nobody relays (each node receives each entry once).
        var r = core(peers: [1, 2, 3, 4, 6, 7, 8, 9])
        #expect(r.stored([key(1, 1)], from: Self.id(1), now: t0).allSatisfy { if case .push(_, let to) = $0 { to.isEmpty } else { false } })
        // With relays configured, a few peers, never the sender.
        var config = ReplicationConfiguration()
        config.firstHandRelays = 2
        var relaying = core(peers: [1, 2, 3, 4, 6, 7, 8, 9], configuration: config)
        for _ in 0..<50 {
            let e = relaying.stored([key(1, 1)], from: Self.id(1), now: t0)
            guard case .push(_, let to)? = e.first else { Issue.record("no push"); return }
            #expect(to.count == 2)
            #expect(!to.contains(Self.id(1)))
        }
        // An entry of another author (second hand) still spreads epidemically.
        guard case .push(_, let to)? = r.stored([key(2, 1)], from: Self.id(1), now: t0).first else { Issue.record("no push"); return }
        #expect(to.count == Int(log(Double(9)).rounded(.up)) + r.configuration.fanoutExtra)
    }

    @Test func whileAPeerPushesAMismatchWithItWaitsForWhatIsInFlight() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        let grace = r.configuration.mismatchGraceMillis, inFlight = r.configuration.inFlightGraceMillis
        _ = r.digestReceived(digest(2), entries: 20, from: Self.id(9), now: t0)
        r.pushReceived(from: Self.id(9), now: t0 + grace - 10)
        #expect(r.digestReceived(digest(2), entries: 20, from: Self.id(9), now: t0 + grace).isEmpty)
        // Pushes keep coming, the mismatch persists: synced once it is as old as the in-flight grace.
        r.pushReceived(from: Self.id(9), now: t0 + inFlight - 10)
        #expect(r.digestReceived(digest(2), entries: 20, from: Self.id(9), now: t0 + inFlight) == [.sync(Self.id(9))])
        // Pushes stopped a grace ago: the usual grace applies.
        var quiet = core(peers: [9])
        quiet.setDigest(digest(1), entries: 10)
        quiet.pushReceived(from: Self.id(9), now: t0)
        _ = quiet.digestReceived(digest(2), entries: 20, from: Self.id(9), now: t0 + grace)
        #expect(quiet.digestReceived(digest(2), entries: 20, from: Self.id(9), now: t0 + 2 * grace) == [.sync(Self.id(9))])
    }

    @Test func aboveThePushToAllSizeFanoutGrowsWithLnN() {
        var config = ReplicationConfiguration()
        config.pushToAllBelow = 4
        var r = core(peers: Array(1...99).filter { $0 != 5 }, configuration: config)
        let e = r.stored([key(5, 1)], from: nil, now: t0)
        guard case .push(_, let to)? = e.first else { Issue.record("no push"); return }
        let random = Int(log(Double(99)).rounded(.up)) + config.fanoutExtra
        // The random fanout, and the ring successor (id 6 follows 5) unless drawn already.
        #expect(to.count == random + 1 || (to.count == random && to.contains(Self.id(6))))
        #expect(to.contains(Self.id(6)))
    }

    @Test func anEpidemicRelayAlwaysReachesTheRingSuccessorButNeverTheSender() {
        var config = ReplicationConfiguration()
        config.pushToAllBelow = 4
        // The largest id wraps around to the smallest.
        var top = ReplicationCore(me: Self.id(99), digest: .zero, configuration: config, seed: 1)
        for p in 1...98 { top.peerUp(Self.id(UInt64(p))) }
        for seq in 1...20 as ClosedRange<UInt64> {
            guard case .push(_, let to)? = top.stored([key(7, seq)], from: Self.id(50), now: t0).first else { Issue.record("no push"); return }
            #expect(to.contains(Self.id(1)))
            #expect(!to.contains(Self.id(50)))
        }
        // Received from the successor itself: it has the entry; no push back.
        var r = core(peers: Array(1...99).filter { $0 != 5 }, configuration: config)
        for seq in 1...20 as ClosedRange<UInt64> {
            guard case .push(_, let to)? = r.stored([key(7, seq)], from: Self.id(6), now: t0).first else { Issue.record("no push"); return }
            #expect(!to.contains(Self.id(6)))
        }
    }

    @Test func thePeriodicSyncSlowsDownPerDoublingAbove32Nodes() {
        let c = ReplicationConfiguration()
        #expect(ReplicationCore.periodicSyncInterval(c, members: 3) == c.syncIntervalMillis)
        #expect(ReplicationCore.periodicSyncInterval(c, members: 32) == c.syncIntervalMillis)
        #expect(ReplicationCore.periodicSyncInterval(c, members: 33) == 2 * c.syncIntervalMillis)
        #expect(ReplicationCore.periodicSyncInterval(c, members: 64) == 2 * c.syncIntervalMillis)
        #expect(ReplicationCore.periodicSyncInterval(c, members: 128) == 3 * c.syncIntervalMillis)
        #expect(ReplicationCore.periodicSyncInterval(c, members: 4_096) == 8 * c.syncIntervalMillis)
    }

    @Test func aDigestMismatchSyncsAfterTheGraceAndOnlyFromTheSmallerID() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0).isEmpty)  // grace
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + r.configuration.mismatchGraceMillis) == [.sync(Self.id(9))])
        // At equal counts the larger id waits for the smaller to start (they synced lately).
        var big = ReplicationCore(me: Self.id(50), digest: digest(1), configuration: .init(), seed: 1)
        big.setDigest(digest(1), entries: 10)
        big.peerUp(Self.id(9))
        big.syncStarted(Self.id(9), now: t0)
        _ = big.syncFinished(Self.id(9), now: t0)
        let later = t0 + big.configuration.syncCooldownMillis
        _ = big.digestReceived(digest(2), entries: 10, from: Self.id(9), now: later)
        #expect(big.digestReceived(digest(2), entries: 10, from: Self.id(9), now: later + 600).isEmpty)
        // A peer holding more entries: this node is behind and starts whatever the ids.
        #expect(big.digestReceived(digest(3), entries: 11, from: Self.id(9), now: later + 700).isEmpty)  // grace
        #expect(big.digestReceived(digest(3), entries: 11, from: Self.id(9), now: later + 1_200) == [.sync(Self.id(9))])
    }

    @Test func aDigestAnotherPeerShowedForTheGraceIsSyncedOnFirstHearing() {
        // At 200 nodes a given peer is heard seconds apart; a node left behind after a partition
        // heals hears the same newer set from one peer after another.
        var r = core(peers: [7, 8, 9])
        r.setDigest(digest(1), entries: 10)
        #expect(r.digestReceived(digest(2), entries: 12, from: Self.id(7), now: t0).isEmpty)
        #expect(r.digestReceived(digest(2), entries: 12, from: Self.id(8), now: t0 + 200).isEmpty)  // still within the grace
        #expect(r.digestReceived(digest(2), entries: 12, from: Self.id(9), now: t0 + r.configuration.mismatchGraceMillis) == [.sync(Self.id(9))])
        // Another digest starts its own clock.
        #expect(r.digestReceived(digest(3), entries: 12, from: Self.id(7), now: t0 + 2 * r.configuration.mismatchGraceMillis).isEmpty)
    }

    @Test func aMismatchStartsOverWhileThePeersDigestMoves() {
        var r = ReplicationCore(me: Self.id(1), digest: digest(1), seed: 1)
        r.peerUp(Self.id(9))
        let grace = r.configuration.mismatchGraceMillis
        _ = r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0)
        // The peer took in something meanwhile: what differs now may still be in flight.
        #expect(r.digestReceived(digest(3), entries: 11, from: Self.id(9), now: t0 + 5 * grace).isEmpty)
        #expect(r.digestReceived(digest(3), entries: 11, from: Self.id(9), now: t0 + 6 * grace - 1).isEmpty)
        // It stayed put for the grace and still differs: a session.
        #expect(r.digestReceived(digest(3), entries: 11, from: Self.id(9), now: t0 + 6 * grace) == [.sync(Self.id(9))])
    }

    @Test func aPeerFarAheadIsSyncedAtOnce() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        #expect(r.digestReceived(digest(2), entries: 10 + r.configuration.farBehindEntries, from: Self.id(9), now: t0) == [.sync(Self.id(9))])
    }

    @Test func agreeingDigestsEndTheMismatch() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        _ = r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0)
        _ = r.digestReceived(digest(1), entries: 10, from: Self.id(9), now: t0 + 100)
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + 700).isEmpty)  // grace starts over
    }

    @Test func aSyncCooldownHoldsUnlessAGapForcesIt() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        r.syncStarted(Self.id(9), now: t0)
        _ = r.syncFinished(Self.id(9), now: t0)
        _ = r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0)
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + r.configuration.mismatchGraceMillis).isEmpty)  // cooldown
        #expect(r.gap(from: Self.id(9), now: t0 + 10) == [.sync(Self.id(9))])  // a gap does not wait
        #expect(r.gap(from: Self.id(9), now: t0 + 20).isEmpty)  // one session at a time
    }

    @Test func sessionsBeyondTheLimitWaitTheirTurn() {
        var r = core(peers: [1, 2, 3])
        #expect(r.gap(from: Self.id(1), now: t0) == [.sync(Self.id(1))])
        #expect(r.gap(from: Self.id(2), now: t0) == [.sync(Self.id(2))])
        #expect(r.gap(from: Self.id(3), now: t0).isEmpty)  // maxConcurrentSyncs = 2
        #expect(r.syncFinished(Self.id(1), now: t0 + 5) == [.sync(Self.id(3))])
    }

    @Test func thePeriodicSyncIsSkippedWhileAPeerAgrees() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 1)
        _ = r.tick(now: t0)
        _ = r.digestReceived(digest(1), entries: 1, from: Self.id(9), now: t0 + r.configuration.syncIntervalMillis - 10)
        #expect(r.tick(now: t0 + r.configuration.syncIntervalMillis).isEmpty)
        // Nobody agreed lately: a random peer is synced.
        #expect(r.tick(now: t0 + 3 * r.configuration.syncIntervalMillis) == [.sync(Self.id(9))])
    }

    @Test func aMismatchDoesNotStartThePeriodicSyncWhileAnotherPeerAgrees() {
        var r = core(peers: [7, 9])
        let interval = r.configuration.syncIntervalMillis
        r.setDigest(digest(1), entries: 1)
        _ = r.tick(now: t0)
        // Peer 9 differs (heard just before the tick); peer 7 agreed lately: digests are
        // reaching us, so the periodic sync is skipped.
        _ = r.digestReceived(digest(1), entries: 1, from: Self.id(7), now: t0 + interval - 20)
        _ = r.digestReceived(digest(2), entries: 1, from: Self.id(9), now: t0 + interval - 10)
        #expect(r.tick(now: t0 + interval).isEmpty)
        // The mismatch opens its own session once it has lasted the grace.
        #expect(r.digestReceived(digest(2), entries: 1, from: Self.id(9), now: t0 + interval + r.configuration.mismatchGraceMillis) == [.sync(Self.id(9))])
        _ = r.syncFinished(Self.id(9), now: t0 + interval + 600)
        // Only mismatches lately, nobody agreeing: the periodic sync runs.
        _ = r.digestReceived(digest(3), entries: 1, from: Self.id(9), now: t0 + 3 * interval - 10)
        #expect(r.tick(now: t0 + 3 * interval).count == 1)
    }

    // MARK: NodeCore

    static func key(_ n: UInt8) -> SigningKeyPair { try! SigningKeyPair(seed: [UInt8](repeating: n, count: 32)) }

    func nodeCore(seeds: [String] = []) -> (NodeCore, peer: SigningKeyPair) {
        let mine = Self.key(1), peer = Self.key(2)
        var c = NodeCore(swim: SWIM(identity: mine, address: "10.0.0.1:7420", incarnation: 100, seed: 1),
                         replication: ReplicationCore(me: mine.publicKey, digest: .zero, seed: 2), seeds: seeds)
        _ = c.learn([MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 1, state: .alive)], now: t0)
        return (c, peer)
    }

    @Test func pushesArePackedIntoDatagramsAndTooLargeOnesGoBySession() {
        var (c, peer) = nodeCore()
        let small = (1...10).map { (key: EntryKey(author: Self.id(1), seq: UInt64($0)), encoded: [UInt8](repeating: 7, count: 300)) }
        let effects = c.stored(small, from: nil, now: t0)
        let datagrams = effects.compactMap { e -> [[UInt8]]? in if case .datagram(_, let ms) = e, case .push(let es)? = ms.first { es } else { nil } }
        #expect(datagrams.count == 3)  // 4 + 4 + 2 entries of 303 bytes within the budget
        #expect(datagrams.allSatisfy { p in (try? Packet(sender: Self.id(1), sentAtMillis: t0, messages: [.push(p)]).seal(packetKey: [UInt8](repeating: 0, count: 32))) != nil })
        let big = [(key: EntryKey(author: Self.id(1), seq: 11), encoded: [UInt8](repeating: 7, count: 5_000))]
        #expect(c.stored(big, from: nil, now: t0).contains(.dial(peer: peer.publicKey, address: "10.0.0.2:7420")))
    }

    @Test func pushesFromStrangersAreNotTaken() {
        var (c, peer) = nodeCore()
        let stranger = Self.key(9)
        let (_, fromStranger) = c.datagram(Packet(sender: stranger.publicKey, sentAtMillis: t0, messages: [.push([[1, 2, 3]])]), from: "10.0.0.9:7420", now: t0)
        #expect(fromStranger.isEmpty)
        let (_, fromPeer) = c.datagram(Packet(sender: peer.publicKey, sentAtMillis: t0, messages: [.push([[1, 2, 3]])]), from: "10.0.0.2:7420", now: t0)
        #expect(fromPeer == [[1, 2, 3]])
    }

    @Test func theFenceLiftsAtItsDeadlineOrAfterACompletedSync() {
        var (c, peer) = nodeCore()
        c.fence(until: t0 + 10_000)
        #expect(!c.tick(now: t0 + 100).contains(.liftFence))
        #expect(c.tick(now: t0 + 10_000).contains(.liftFence))
        c.fence(until: t0 + 50_000)
        #expect(!c.syncFinished(peer.publicKey, completed: false, now: t0 + 20_000).contains(.liftFence))
        #expect(c.syncFinished(peer.publicKey, completed: true, now: t0 + 20_000).contains(.liftFence))
    }

    @Test func theFenceAlsoLiftsWhenAMemberKnownBeforeHoldsExactlyWhatWeHold() {
        var (c, peer) = nodeCore()
        // A member met since the start cannot confirm (it could have copied our log to echo our digest).
        c.fence(until: t0 + 60_000)
        let echo = Packet(sender: peer.publicKey, sentAtMillis: t0, messages: [.digest(c.gossipDigest, entries: 0)])
        #expect(!c.datagram(echo, from: "10.0.0.2:7420", now: t0).effects.contains(.liftFence))
        c.fence(until: t0 + 60_000, confirmers: [peer.publicKey])
        let other = Packet(sender: peer.publicKey, sentAtMillis: t0, messages: [.digest(digest(99), entries: 5)])
        #expect(!c.datagram(other, from: "10.0.0.2:7420", now: t0).effects.contains(.liftFence))
        let same = Packet(sender: peer.publicKey, sentAtMillis: t0, messages: [.digest(c.gossipDigest, entries: 0)])
        #expect(c.datagram(same, from: "10.0.0.2:7420", now: t0 + 10).effects.contains(.liftFence))
        #expect(c.fenceUntil == nil)
    }

    func pushedEntries(_ effects: [NodeCore.Effect], to address: String) -> [[UInt8]] {
        effects.flatMap { e -> [[UInt8]] in
            guard case .datagram(let a, let ms) = e, a == address else { return [] }
            return ms.flatMap { m -> [[UInt8]] in if case .push(let es) = m { es } else { [] } }
        }
    }

    @Test func aMemberBackFromAnAbsenceGetsWhatWasWrittenMeanwhileByPush() {
        var (c, peer) = nodeCore()
        let away = MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 2, state: .left)
        _ = c.learn([away], now: t0)
        let entry = (key: EntryKey(author: Self.id(1), seq: 1), encoded: [UInt8](repeating: 7, count: 400))
        #expect(pushedEntries(c.stored([entry], from: nil, now: t0 + 10), to: "10.0.0.2:7420").isEmpty)  // not reachable now
        #expect(c.hintedEntries == 1)
        // It is back: the entry goes to it at once, in a datagram.
        let back = MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 3, state: .alive)
        #expect(pushedEntries(c.learn([back], now: t0 + 20), to: "10.0.0.2:7420") == [entry.encoded])
        #expect(c.hintedEntries == 0)
        // Entries received from others are not kept for it (their authors push them), only our own.
        _ = c.learn([MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 4, state: .left)], now: t0 + 30)
        _ = c.stored([(key: EntryKey(author: Self.id(7), seq: 1), encoded: [1, 2, 3])], from: Self.id(7), now: t0 + 40)
        #expect(c.hintedEntries == 0)
    }

    @Test func aMemberThatMissedMoreThanTheHintLimitIsLeftToAntiEntropy() {
        var (c, peer) = nodeCore()
        _ = c.learn([MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 2, state: .left)], now: t0)
        for seq in 1...UInt64(NodeCore.maxHintsPerMember + 1) {
            _ = c.stored([(key: EntryKey(author: Self.id(1), seq: seq), encoded: [UInt8](repeating: 7, count: 100))], from: nil, now: t0 + seq)
        }
        #expect(c.hintedEntries == 0)
        let back = MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 3, state: .alive)
        #expect(pushedEntries(c.learn([back], now: t0 + 1_000), to: "10.0.0.2:7420").isEmpty)
    }

    @Test func seedsAreRetriedWhileTheyAreNotAliveMembers() {
        var (c, _) = nodeCore(seeds: ["10.0.0.2:7420", "10.0.0.3:7420"])
        let first = c.tick(now: t0)
        #expect(first.contains(.dialSeed("10.0.0.3:7420")))
        #expect(!first.contains(.dialSeed("10.0.0.2:7420")))  // an alive member already
        #expect(!c.tick(now: t0 + 100).contains(.dialSeed("10.0.0.3:7420")))
        #expect(c.tick(now: t0 + c.reconnectIntervalMillis).contains(.dialSeed("10.0.0.3:7420")))
    }

    @Test func aNodeThatHasNotJoinedRetriesItsSeedSoonThenLessOften() {
        let mine = Self.key(1)
        var c = NodeCore(swim: SWIM(identity: mine, address: "10.0.0.1:7420", incarnation: 1, seed: 1),
                         replication: ReplicationCore(me: mine.publicKey, digest: .zero, seed: 2), seeds: ["10.0.0.2:7420"])
        // No member alive: dials at once, then after about 250, 500, 1000, 2000, 2000 ... ms, each
        // pause 0.5-1.5 times its nominal value (nodes refused together spread out).
        var dials: [UInt64] = []
        var t = t0
        while t < t0 + 40_000 {
            if c.tick(now: t).contains(.dialSeed("10.0.0.2:7420")) { dials.append(t - t0) }
            t = max(t + 1, c.nextDeadline(now: t))
        }
        let gaps = zip(dials, dials.dropFirst()).map { $1 - $0 }
        #expect(dials.first == 0)
        for (gap, nominal) in zip(gaps, [250, 500, 1_000, 2_000, 2_000, 2_000] as [UInt64]) {
            #expect(gap >= nominal / 2 && gap < nominal / 2 + nominal, "gap \(gap) for nominal \(nominal)")
        }
        #expect(gaps.allSatisfy { $0 < 3_000 })
        #expect(Set(gaps.suffix(5)).count > 1)  // jittered, not lockstep
        // Once a member is alive, a missing seed is dialled every reconnect interval.
        // (The member answers no probe here; a fresh incarnation each step keeps it alive.)
        let peer = Self.key(2)
        var later: [UInt64] = []
        let start = t
        var incarnation: UInt64 = 1
        while t < start + 35_000 {
            incarnation += 1
            _ = c.learn([MemberUpdate(member: peer.publicKey, address: "10.0.0.9:7420", incarnation: incarnation, state: .alive)], now: t)
            if c.tick(now: t).contains(.dialSeed("10.0.0.2:7420")) { later.append(t) }
            t = max(t + 1, c.nextDeadline(now: t))
        }
        #expect(zip(later, later.dropFirst()).allSatisfy { $1 - $0 == c.reconnectIntervalMillis })
        #expect(later.count >= 3)
        // The member is gone again (no refresh: it turns suspect, then dead). Joined once, the node
        // does not hammer its seed: every reconnect interval still.
        var alone: [UInt64] = []
        let gone = t
        while t < gone + 45_000 {
            if c.tick(now: t).contains(.dialSeed("10.0.0.2:7420")) { alone.append(t) }
            t = max(t + 1, c.nextDeadline(now: t))
        }
        #expect(c.swim.aliveMembers.isEmpty)
        #expect(zip(alone, alone.dropFirst()).allSatisfy { $1 - $0 == c.reconnectIntervalMillis })
        #expect(alone.count >= 3)
    }

    /// A node that joined between two of its seed retries, and whose member then left, is
    /// joined: it does not go back to the unjoined pace (every 125-375 ms at first), and it does
    /// not dial the member that just said goodbye; the first dial of either comes one reconnect
    /// interval later. (In a 2-node cluster whose other node restarted at once, such a dial
    /// reached it just before its own probe did, and became a session for what one push carried.)
    @Test func aMemberThatJoinedAndLeftBetweenSeedRetriesIsDialledOneReconnectIntervalLater() {
        let mine = Self.key(1), peer = Self.key(2)
        var c = NodeCore(swim: SWIM(identity: mine, address: "10.0.0.1:7420", incarnation: 1, seed: 1),
                         replication: ReplicationCore(me: mine.publicKey, digest: .zero, seed: 2), seeds: ["10.0.0.2:7420"])
        #expect(c.tick(now: t0).contains(.dialSeed("10.0.0.2:7420")))  // not joined: at once
        let hello = MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 7, state: .alive).signed(by: peer)
        _ = c.receive(records: [hello], now: t0 + 20)
        #expect(c.swim.members[peer.publicKey]?.state == .alive)
        let bye = MemberUpdate(member: peer.publicKey, address: "10.0.0.2:7420", incarnation: 8, state: .left).signed(by: peer)
        _ = c.datagram(Packet(sender: peer.publicKey, sentAtMillis: t0 + 60, messages: [.members([bye])]), from: "10.0.0.2:7420", now: t0 + 60)
        #expect(c.swim.members[peer.publicKey]?.state == .left)
        var dials: [UInt64] = []
        var t = t0 + 60
        while t < t0 + 3 * c.reconnectIntervalMillis {
            for e in c.tick(now: t) {
                switch e {
                case .dialSeed, .dial: dials.append(t - t0)
                default: break
                }
            }
            t = max(t + 1, min(c.nextDeadline(now: t), t + 100))
        }
        #expect(!dials.isEmpty)
        #expect(dials.allSatisfy { $0 >= 20 + c.reconnectIntervalMillis }, "dialled at \(dials) ms")
    }

    @Test func whileMembershipSettlesAMismatchAtEqualCountsWaitsLonger() {
        var r = core(peers: [9])
        r.setDigest(digest(1), entries: 10)
        r.membershipChanged(now: t0)
        let grace = r.configuration.mismatchGraceMillis, settle = r.configuration.membershipSettleMillis
        // Equal entry counts, members changing: likely only the member lists differ; gossip settles them.
        _ = r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0)
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + grace).isEmpty)
        #expect(r.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + settle) == [.sync(Self.id(9))])
        // Different counts: the logs differ; the usual grace.
        var other = core(peers: [9])
        other.setDigest(digest(1), entries: 10)
        other.membershipChanged(now: t0)
        _ = other.digestReceived(digest(2), entries: 11, from: Self.id(9), now: t0)
        #expect(other.digestReceived(digest(2), entries: 11, from: Self.id(9), now: t0 + grace) == [.sync(Self.id(9))])
        // Members quiet for longer than the settle time: the usual grace again.
        var quiet = core(peers: [9])
        quiet.setDigest(digest(1), entries: 10)
        quiet.membershipChanged(now: t0)
        _ = quiet.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + settle)
        #expect(quiet.digestReceived(digest(2), entries: 10, from: Self.id(9), now: t0 + settle + grace) == [.sync(Self.id(9))])
    }

    @Test func probesCarryTheLogDigestWithTheMembershipFoldedIn() {
        var (c, _) = nodeCore()
        c.setLog(digest: digest(77), entries: 3)
        let sends = c.tick(now: t0).compactMap { e -> [Message]? in if case .datagram(_, let ms) = e { ms } else { nil } }
        #expect(sends.contains { $0.contains(.digest(c.gossipDigest, entries: 3)) })
        #expect(c.gossipDigest != digest(77))
    }
}
