import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// SWIM's rules one at a time, against a single instance: what each input does to the member
/// table and which effects it asks for. Membership is authenticated by the members' own keys.
@Suite("SWIM rules")
struct SWIMRuleTests {
    static func key(_ n: UInt8) -> SigningKeyPair { try! SigningKeyPair(seed: [UInt8](repeating: n, count: 32)) }
    let me = key(1), alice = key(2), bob = key(3), mallory = key(4)
    let t0: UInt64 = 1_767_225_600_000

    func addr(_ n: Int) -> String { "10.0.0.\(n):7420" }
    func record(_ k: SigningKeyPair, _ address: String, _ incarnation: UInt64, _ state: MemberState = .alive) -> MemberUpdate {
        MemberUpdate(member: k.publicKey, address: address, incarnation: incarnation, state: state).signed(by: k)
    }
    func claim(_ k: SigningKeyPair, _ incarnation: UInt64, _ state: MemberState) -> MemberUpdate {
        MemberUpdate(member: k.publicKey, address: "", incarnation: incarnation, state: state)
    }
    func packet(from k: SigningKeyPair, _ messages: [Message]) -> Packet { Packet(sender: k.publicKey, sentAtMillis: t0, messages: messages) }
    func swim() -> SWIM {
        var s = SWIM(identity: me, address: addr(1), incarnation: 100, seed: 1)
        _ = s.learn([MemberUpdate(member: alice.publicKey, address: addr(2), incarnation: 5, state: .alive)], now: t0)
        return s
    }
    func records(_ effects: [MembershipEffect]) -> [MemberUpdate] {
        var out: [MemberUpdate] = []
        for case .send(_, _, let ms) in effects { for case .members(let us) in ms { out += us } }
        return out
    }
    func sends(_ effects: [MembershipEffect]) -> [(String, [Message])] {
        effects.compactMap { if case .send(let a, _, let m) = $0 { (a, m) } else { nil } }
    }

    // MARK: Joining and addresses

    @Test func aSignedAliveRecordAddsAMemberAndAnUnsignedOneDoesNot() {
        var s = swim()
        _ = s.handle(packet(from: alice, [.members([MemberUpdate(member: bob.publicKey, address: addr(3), incarnation: 1, state: .alive)])]), from: addr(2), now: t0)
        #expect(s.members[bob.publicKey] == nil)
        #expect(s.rejected["bad_signature"] == 1)
        let effects = s.handle(packet(from: alice, [.members([record(bob, addr(3), 1)])]), from: addr(2), now: t0)
        #expect(s.members[bob.publicKey]?.address == addr(3))
        #expect(effects.contains(.changed(s.members[bob.publicKey]!.update)))
    }

    @Test func aRecordSignedBySomeoneElseCannotMoveAMember() {
        var s = swim()
        // Mallory signs "alice is at mallory's address" with her own key, at a higher incarnation.
        var forged = MemberUpdate(member: alice.publicKey, address: addr(66), incarnation: 6, state: .alive)
        forged.signature = mallory.sign(forged.signingBytes)
        _ = s.handle(packet(from: mallory, [.members([forged])]), from: addr(66), now: t0)
        #expect(s.members[alice.publicKey]?.address == addr(2))
        #expect(s.rejected["bad_signature"] == 1)
        // Alice herself moves (a laptop on a new network).
        _ = s.handle(packet(from: mallory, [.members([record(alice, addr(22), 6)])]), from: addr(66), now: t0)
        #expect(s.members[alice.publicKey]?.address == addr(22))
    }

    @Test func aDatagramsSourceNeverMovesAMember() {
        var s = swim()
        // A packet claiming to be from alice, arriving from elsewhere (anyone with the network key can seal one).
        let effects = s.handle(packet(from: alice, [.ping(probe: 7)]), from: addr(66), now: t0)
        #expect(s.members[alice.publicKey]?.address == addr(2))
        // The ack goes to alice's known address, not back to the source.
        #expect(sends(effects).map(\.0) == [addr(2)])
    }

    func greetings(_ effects: [MembershipEffect]) -> [String] {
        sends(effects).filter { $0.1.count == 2 && $0.1.contains { if case .ping = $0 { true } else { false } } && $0.1.contains(.members([swim().selfUpdate])) }.map(\.0)
    }

    @Test func membersLearnedFromASeedsListAreGreetedDirectly() {
        var s = swim()
        let carol = Self.key(5)
        // A session greeting lists bob and carol (new) and alice (known): bob and carol get our record.
        let effects = s.receive(records: [record(alice, addr(2), 5), record(bob, addr(3), 1), record(carol, addr(5), 1)], now: t0)
        #expect(Set(greetings(effects)) == [addr(3), addr(5)])
        // Learning them again greets nobody.
        #expect(greetings(s.receive(records: [record(bob, addr(3), 1)], now: t0)).isEmpty)
    }

    @Test func aMemberLearnedByGossipIsGreetedButTheSenderItselfIsNot() {
        var s = swim()
        // Bob introduces himself (his own record, sent by him): answered with an ack, no greeting.
        let own = s.handle(packet(from: bob, [.members([record(bob, addr(3), 1)]), .ping(probe: 1)]), from: addr(3), now: t0)
        #expect(greetings(own).isEmpty)
        // Alice gossips about carol, who joined elsewhere: carol is greeted at her own address.
        let carol = Self.key(5)
        let news = s.handle(packet(from: alice, [.members([record(carol, addr(5), 1)])]), from: addr(2), now: t0)
        #expect(greetings(news) == [addr(5)])
    }

    @Test func greetingsAreBoundedPerProbeIntervalAndThoseOwedGoOutInTheNext() {
        var config = SWIMConfiguration()
        config.maxIntroductions = 2
        var s = SWIM(identity: me, address: addr(1), incarnation: 100, configuration: config, seed: 1)
        let many = (10..<15).map { n in record(Self.key(UInt8(n)), addr(n), 1) }
        #expect(greetings(s.receive(records: many, now: t0)) == [addr(10), addr(11)])
        #expect(s.members.count == 5)  // all known; three are owed a greeting
        // The next probe interval's allowance goes to the owed greetings, oldest first.
        let next = greetings(s.tick(now: t0 + config.probeIntervalMillis))
        #expect(next == [addr(12), addr(13)])
        // A member learned now waits behind the one still owed.
        #expect(greetings(s.receive(records: [record(Self.key(20), addr(20), 1)], now: t0 + config.probeIntervalMillis)).isEmpty)
        #expect(greetings(s.tick(now: t0 + 2 * config.probeIntervalMillis)) == [addr(14), addr(20)])
        // Nobody is greeted twice.
        #expect(greetings(s.tick(now: t0 + 3 * config.probeIntervalMillis)).isEmpty)
    }

    @Test func anOwedGreetingIsDroppedWhenTheMemberTalksFirst() {
        var config = SWIMConfiguration()
        config.maxIntroductions = 1
        var s = SWIM(identity: me, address: addr(1), incarnation: 100, configuration: config, seed: 1)
        let carol = Self.key(10), dave = Self.key(11)
        #expect(greetings(s.receive(records: [record(carol, addr(10), 1), record(dave, addr(11), 1)], now: t0)) == [addr(10)])
        // Dave, owed a greeting, pings us first: he knows us, and gets an ack, not a greeting.
        #expect(greetings(s.handle(packet(from: dave, [.ping(probe: 9)]), from: addr(11), now: t0)).isEmpty)
        #expect(greetings(s.tick(now: t0 + config.probeIntervalMillis)).isEmpty)
    }

    @Test func aRefutationGoesBackToTheAccuserAtOnce() {
        var s = swim()
        // Alice says we are dead at our own incarnation, in a datagram that asks nothing (no ping).
        let effects = s.handle(packet(from: alice, [.members([claim(me, 100, .dead)])]), from: addr(2), now: t0)
        #expect(s.incarnation == 101)
        #expect(sends(effects).contains { $0.0 == addr(2) && $0.1 == [.members([s.selfUpdate])] })
    }

    @Test func aLeftRecordAtOurOwnIncarnationIsAnEarlierRunsAndIsRefuted() {
        var s = swim()
        // A run that left signed `left` at the incarnation this run started with.
        let effects = s.handle(packet(from: alice, [.members([record(me, addr(1), 100, .left)])]), from: addr(2), now: t0)
        #expect(s.incarnation == 101)
        #expect(sends(effects).contains { $0.0 == addr(2) && $0.1 == [.members([s.selfUpdate])] })
        // Unsigned, or signed by someone else, it is nobody's word.
        var other = swim()
        let forged = MemberUpdate(member: me.publicKey, address: addr(1), incarnation: 100, state: .left).signed(by: mallory)
        _ = other.handle(packet(from: alice, [.members([forged, MemberUpdate(member: me.publicKey, address: addr(1), incarnation: 100, state: .left)])]),
                         from: addr(2), now: t0)
        #expect(other.incarnation == 100)
    }

    @Test func aNodeThatLeftDoesNotRefuteItsOwnGoodbye() {
        var s = swim()
        _ = s.leave(now: t0)
        #expect(s.incarnation == 101)
        let effects = s.handle(packet(from: alice, [.members([record(me, addr(1), 101, .left)])]), from: addr(2), now: t0)
        #expect(s.incarnation == 101)
        #expect(records(effects).filter { $0.member == me.publicKey }.isEmpty)
    }

    @Test func aNodeRestartedAtTheIncarnationItLeftWithIsAliveAgainAfterOneRoundTrip() {
        // Alice knows us; we leave (incarnation 101) and a new run starts at 101, as a restart
        // within the same clock unit as the leave would.
        var a = SWIM(identity: alice, address: addr(2), incarnation: 5, seed: 2)
        _ = a.learn([MemberUpdate(member: me.publicKey, address: addr(1), incarnation: 100, state: .alive)], now: t0)
        var old = swim()
        for (to, ms) in sends(old.leave(now: t0)) where to == addr(2) { _ = a.handle(packet(from: me, ms), from: addr(1), now: t0) }
        #expect(a.members[me.publicKey]?.state == .left)
        var restarted = SWIM(identity: me, address: addr(1), incarnation: 101, seed: 3)
        _ = restarted.learn([MemberUpdate(member: alice.publicKey, address: addr(2), incarnation: 5, state: .alive)], now: t0)
        // Its probe carries its alive record at 101, which alice holds as stale ...
        var toAlice = sends(restarted.tick(now: t0 + 1_000)).filter { $0.0 == addr(2) }
        #expect(!toAlice.isEmpty)
        var t = t0 + 1_000
        for _ in 0..<3 where a.members[me.publicKey]?.state != .alive {
            // ... alice answers with the `left` it holds, the new run refutes at 102, alice takes it.
            var toMe: [(String, [Message])] = []
            for (_, ms) in toAlice { toMe += sends(a.handle(packet(from: me, ms), from: addr(1), now: t)).filter { $0.0 == addr(1) } }
            toAlice = []
            for (_, ms) in toMe { toAlice += sends(restarted.handle(packet(from: alice, ms), from: addr(2), now: t)).filter { $0.0 == addr(2) } }
            t += 10
        }
        #expect(restarted.incarnation == 102)
        #expect(a.members[me.publicKey]?.state == .alive)
        #expect(a.members[me.publicKey]?.incarnation == 102)
    }

    @Test func anUnknownSenderGetsNoAnswerAndBecomesNoMember() {
        var s = swim()
        let effects = s.handle(packet(from: bob, [.ping(probe: 1)]), from: addr(3), now: t0)
        #expect(sends(effects).isEmpty)
        #expect(s.members[bob.publicKey] == nil)
        #expect(s.rejected["unknown_sender"] == 1)
        // With its own signed record in the same datagram it is a member, and answered.
        let joined = s.handle(packet(from: bob, [.members([record(bob, addr(3), 1)]), .ping(probe: 2)]), from: addr(3), now: t0)
        #expect(s.members[bob.publicKey] != nil)
        #expect(sends(joined).contains { $0.0 == addr(3) && $0.1.contains(.ack(probe: 2)) })
    }

    @Test func recordsWithNamesInsteadOfAddressesAreRefused() {
        var s = swim()
        _ = s.handle(packet(from: alice, [.members([record(bob, "bob.example.com:7420", 1)])]), from: addr(2), now: t0)
        #expect(s.members[bob.publicKey] == nil)
        #expect(s.rejected["bad_address"] == 1)
    }

    // MARK: Incarnations, suspicion, refutation

    @Test func suspicionCountsOnlyAtTheIncarnationTheMemberSigned() {
        var s = swim()
        _ = s.handle(packet(from: alice, [.members([claim(bob, 1, .suspect)])]), from: addr(2), now: t0)
        #expect(s.members[bob.publicKey] == nil)  // no news in a stranger's suspicion
        _ = s.handle(packet(from: mallory, [.members([claim(alice, 6, .suspect)])]), from: addr(66), now: t0)
        #expect(s.members[alice.publicKey]?.state == .alive)  // alice never signed incarnation 6
        #expect(s.rejected["unverifiable_claim"] == 2)
        _ = s.handle(packet(from: mallory, [.members([claim(alice, 5, .suspect)])]), from: addr(66), now: t0)
        #expect(s.members[alice.publicKey]?.state == .suspect)
        #expect(s.members[alice.publicKey]?.address == addr(2))  // a claim never moves an address
        // Alice refutes with a signed record at a higher incarnation.
        _ = s.handle(packet(from: alice, [.members([record(alice, addr(2), 6)])]), from: addr(2), now: t0)
        #expect(s.members[alice.publicKey]?.state == .alive)
        #expect(s.members[alice.publicKey]?.incarnation == 6)
    }

    @Test func incarnationOverrideOrder() {
        var s = swim()
        _ = s.handle(packet(from: bob, [.members([claim(alice, 5, .dead)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .dead)
        // A suspicion at the same incarnation does not revive or downgrade a dead member.
        _ = s.handle(packet(from: bob, [.members([claim(alice, 5, .suspect)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .dead)
        // An older alive record changes nothing; a newer one revives.
        _ = s.handle(packet(from: bob, [.members([record(alice, addr(2), 4)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .dead)
        _ = s.handle(packet(from: bob, [.members([record(alice, addr(2), 7)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .alive)
        // Only alice can say she left.
        _ = s.handle(packet(from: bob, [.members([MemberUpdate(member: alice.publicKey, address: addr(2), incarnation: 7, state: .left)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .alive)
        _ = s.handle(packet(from: bob, [.members([record(alice, addr(2), 7, .left)])]), from: addr(3), now: t0)
        #expect(s.members[alice.publicKey]?.state == .left)
    }

    @Test func aNodeRefutesSuspicionOfItselfOnlyAtItsOwnIncarnation() {
        var s = swim()
        let before = s.incarnation
        _ = s.handle(packet(from: alice, [.members([claim(me, before, .suspect)])]), from: addr(2), now: t0)
        #expect(s.incarnation == before + 1)
        #expect(s.selfUpdate.hasValidSignature && s.selfUpdate.incarnation == before + 1)
        #expect(s.localHealth == 1)  // Lifeguard: being suspected hints at our own trouble
        // A claim at an incarnation we never had (the crash: 2^64 - 1 + 1) is ignored.
        _ = s.handle(packet(from: mallory, [.members([claim(me, WireLimits.maxIncarnation, .dead)])]), from: addr(66), now: t0)
        #expect(s.incarnation == before + 1)
        #expect(s.rejected["unverifiable_claim"] == 1)
        // Our own record from an earlier run (clock stepped back) is outranked.
        let old = MemberUpdate(member: me.publicKey, address: addr(1), incarnation: before + 50, state: .alive).signed(by: me)
        _ = s.handle(packet(from: alice, [.members([old])]), from: addr(2), now: t0)
        #expect(s.incarnation == before + 51)
    }

    @Test func aSuspectIsDeclaredDeadWhenItsSuspicionRunsOut() {
        var s = swim()
        _ = s.handle(packet(from: bob, [.members([claim(alice, 5, .suspect)])]), from: addr(3), now: t0)
        let timeout = s.configuration.suspicionTimeout(members: s.members.count)
        _ = s.tick(now: t0 + timeout - 1)
        #expect(s.members[alice.publicKey]?.state == .suspect)
        let effects = s.tick(now: t0 + timeout)
        #expect(s.members[alice.publicKey]?.state == .dead)
        #expect(effects.contains { if case .changed(let u) = $0 { u.member == alice.publicKey && u.state == .dead } else { false } })
    }

    @Test func aProbeThatTimesOutGoesIndirectThenSuspects() {
        var s = swim()
        _ = s.learn([MemberUpdate(member: bob.publicKey, address: addr(3), incarnation: 1, state: .alive)], now: t0)
        let first = sends(s.tick(now: t0))
        #expect(first.count == 1)
        let target = first[0].0 == addr(2) ? alice : bob, helper = target.publicKey == alice.publicKey ? bob : alice
        // No ack: after the probe timeout a ping-request goes to the other member.
        let indirect = sends(s.tick(now: t0 + s.configuration.probeTimeoutMillis))
        #expect(indirect.contains { $0.0 == (helper.publicKey == alice.publicKey ? addr(2) : addr(3)) && $0.1.contains { if case .pingRequest = $0 { true } else { false } } })
        // Nothing by the end of the interval, and no nack: suspect, and our own health degrades.
        _ = s.tick(now: t0 + s.configuration.probeIntervalMillis)
        #expect(s.members[target.publicKey]?.state == .suspect)
        #expect(s.localHealth == 1)
    }

    // MARK: Ping-requests

    @Test func pingRequestsGoOnlyToKnownMembersAtTheirKnownAddresses() {
        var s = swim()
        _ = s.learn([MemberUpdate(member: bob.publicKey, address: addr(3), incarnation: 1, state: .alive)], now: t0)
        // Ask us to ping "bob" at a victim's address: we ping bob where we know him.
        let relayed = sends(s.handle(packet(from: alice, [.pingRequest(probe: 9, target: bob.publicKey, address: "192.0.2.1:53")]), from: addr(2), now: t0))
        #expect(relayed.map(\.0) == [addr(3)])
        // An unknown target: nothing is sent.
        let unknown = sends(s.handle(packet(from: alice, [.pingRequest(probe: 10, target: mallory.publicKey, address: "192.0.2.1:53")]), from: addr(2), now: t0))
        #expect(unknown.isEmpty)
        #expect(s.rejected["unknown_target"] == 1)
    }

    @Test func relaysAreBounded() {
        var config = SWIMConfiguration()
        config.maxRelays = 3
        var s = SWIM(identity: me, address: addr(1), incarnation: 100, configuration: config, seed: 1)
        _ = s.learn([MemberUpdate(member: alice.publicKey, address: addr(2), incarnation: 5, state: .alive),
                     MemberUpdate(member: bob.publicKey, address: addr(3), incarnation: 1, state: .alive)], now: t0)
        for p in 0..<10 { _ = s.handle(packet(from: alice, [.pingRequest(probe: UInt64(p), target: bob.publicKey, address: "")]), from: addr(2), now: t0) }
        #expect(s.rejected["relay_limit"] == 7)
    }

    @Test func theMemberTableIsBounded() {
        var config = SWIMConfiguration()
        config.maxMembers = 10
        var s = SWIM(identity: me, address: addr(1), incarnation: 100, configuration: config, seed: 1)
        let records = (0..<20).map { i in record(Self.key(UInt8(100 + i)), addr(100 + i), 1) }
        _ = s.handle(packet(from: alice, [.members(Array(records.prefix(5)))]), from: addr(2), now: t0)
        _ = s.handle(packet(from: alice, [.members(Array(records.suffix(15)))]), from: addr(2), now: t0)
        #expect(s.members.count == 10)
        #expect(s.rejected["member_limit"] == 10)
    }

    // MARK: Introductions and gossip

    @Test func pingsCarryOurRecordUntilTheTargetAnswers() {
        var s = swim()
        let ping = sends(s.tick(now: t0))
        #expect(ping.count == 1)
        #expect(ping[0].1.contains { if case .members(let us) = $0 { us.contains { $0.member == me.publicKey && $0.hasValidSignature } } else { false } })
        guard case .ping(let probe)? = ping[0].1.first else { Issue.record("no ping"); return }
        _ = s.handle(packet(from: alice, [.ack(probe: probe)]), from: addr(2), now: t0 + 10)
        let next = sends(s.tick(now: t0 + s.configuration.probeIntervalMillis))
        #expect(!next.contains { $0.1.contains { if case .members(let us) = $0 { us.contains { $0.member == me.publicKey } } else { false } } })
    }

    @Test func aMemberThatPingsUsKnowsOurRecordSoOurAnswersDoNotCarryIt() {
        var s = swim()
        let carriesOurs = { (messages: [Message]) in
            messages.contains { if case .members(let us) = $0 { us.contains { $0.member == me.publicKey } } else { false } }
        }
        let ack = sends(s.handle(packet(from: alice, [.ping(probe: 7)]), from: addr(2), now: t0))
        #expect(ack.count == 1 && ack[0].1.first == .ack(probe: 7))
        #expect(!carriesOurs(ack[0].1))
        // Nor does our own next ping to it.
        let ping = sends(s.tick(now: t0 + 10))
        #expect(ping.count == 1 && !carriesOurs(ping[0].1))
        // A member that has not talked to us still gets it with our ping (bob, learned from a list).
        var t = swim()
        _ = t.learn([record(bob, addr(3), 1)], now: t0)
        _ = t.handle(packet(from: alice, [.ping(probe: 8)]), from: addr(2), now: t0)
        var toBob: [[Message]] = []
        for k in 0..<4 where toBob.isEmpty {  // a probe round covers both members
            toBob = sends(t.tick(now: t0 + 10 + UInt64(k) * t.configuration.probeIntervalMillis)).filter { $0.0 == addr(3) && $0.1.contains { if case .ping = $0 { true } else { false } } }.map(\.1)
        }
        #expect(!toBob.isEmpty && toBob.allSatisfy(carriesOurs))
    }

    @Test func newsIsRelayedWithTheMembersOwnSignature() {
        var s = swim()
        _ = s.handle(packet(from: alice, [.members([record(bob, addr(3), 1)])]), from: addr(2), now: t0)
        let relayed = records(s.tick(now: t0 + 1_000)).filter { $0.member == bob.publicKey }
        #expect(!relayed.isEmpty && relayed.allSatisfy { $0.hasValidSignature })
    }

    @Test func leavingIsSignedAndOnlyTheLeaverCanSayIt() {
        var s = swim()
        let bye = s.leave(now: t0)
        #expect(records(bye).contains { $0.member == me.publicKey && $0.state == .left && $0.hasValidSignature })
    }

    @Test func aLongSleepForgetsProbesInsteadOfAccusing() {
        var s = swim()
        _ = s.tick(now: t0)  // a probe to alice is out
        let gap = s.configuration.sleepGapIntervals * s.configuration.probeIntervalMillis + 1
        _ = s.tick(now: t0 + gap)
        #expect(s.members[alice.publicKey]?.state == .alive)
    }
}
