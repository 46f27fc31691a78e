import Wire

/// SWIM membership with suspicion, incarnation numbers, refutation and Lifeguard-style local
/// health, as a sans-IO state machine: packets and time in, effects out. No sockets, no clocks,
/// no randomness of its own.
///
/// Membership is authenticated by the members themselves, not only by the network key: a
/// member's own record (alive or left, address, incarnation) is signed with its identity key and
/// verified before it changes anything; claims about others (suspect, dead) count only at an
/// incarnation the member signed and never move an address; datagrams are answered, and pings
/// relayed, only to known members at their known addresses (never to a datagram's source, which
/// anyone can forge). Every refusal is counted in ``rejected``.
public struct SWIM: Sendable {
    public let me: Bytes32
    public private(set) var myAddress: String
    public private(set) var incarnation: UInt64
    public let configuration: SWIMConfiguration
    public private(set) var members: [Bytes32: Member] = [:]
    /// Lifeguard's local health multiplier: 0 when healthy.
    public private(set) var localHealth = 0
    /// Membership input refused, by reason (`bad_signature`, `unverifiable_claim`, `unknown_sender`,
    /// `bad_address`, `member_limit`, `relay_limit`); exported as metrics.
    public private(set) var rejected: [String: Int] = [:]

    private let identity: SigningKeyPair
    private let acceptsAddress: @Sendable (String) -> Bool
    /// This node's own record, signed; re-signed when the address or incarnation changes.
    public private(set) var selfUpdate: MemberUpdate
    /// Set by ``leave(now:)``: this node's own `left` record is then its last word, not a claim
    /// to refute.
    public private(set) var hasLeft = false
    /// Members that answered a ping of ours or sent us a datagram of their own (a member sends
    /// only to members whose signed record it holds), so they know our record: datagrams to
    /// anyone else carry it.
    private var knowsMe: Set<Bytes32> = []

    private var rng: SplitMix64
    private var probeOrder: [Bytes32] = []
    /// Every known member id, in insertion order, for cheap random picks.
    private var memberIDs: [Bytes32] = []
    private var probeIndex = 0
    private var nextProbeAt: UInt64 = 0
    private var nextGossipAt: UInt64 = 0
    private var nextReconnectAt: UInt64 = 0
    private var lastTick: UInt64?
    private var nextProbeID: UInt64 = 1
    /// Greetings of newly learned members left in this probe interval (see ``introduce(_:effects:)``).
    private var introductionsLeft: Int
    /// Members learned from someone else that are still owed a greeting (past the interval's
    /// allowance), oldest first; sent in the next intervals. At most one per member
    /// (``greetingOwed``), so bounded by ``SWIMConfiguration/maxMembers``.
    private var greetingQueue: [Bytes32] = []
    private var greetingOwed: Set<Bytes32> = []

    private enum ProbePhase { case direct, indirect }
    private struct Probe {
        var target: Bytes32
        var sentAt: UInt64
        var phase: ProbePhase
        var nacks = 0
        var asked = 0
    }
    private var probes: [UInt64: Probe] = [:]
    /// Pings sent on another member's behalf: our probe id → (requester address, its probe id, deadline).
    private struct Relay { var requesterID: Bytes32; var target: Bytes32; var probe: UInt64; var deadline: UInt64 }
    private var relays: [UInt64: Relay] = [:]
    private var suspectedAt: [Bytes32: UInt64] = [:]
    /// Updates waiting to be piggybacked: member → (update, transmissions left).
    private var broadcasts: [Bytes32: (update: MemberUpdate, left: Int)] = [:]

    /// - Parameters:
    ///   - identity: this node's key pair; its own record is signed with it.
    ///   - acceptsAddress: whether an address in someone's record is usable (the node accepts IP
    ///     literals only, so sending never resolves names; the simulator accepts its own names).
    public init(identity: SigningKeyPair, address: String, incarnation: UInt64, configuration: SWIMConfiguration = .init(), seed: UInt64,
                acceptsAddress: @escaping @Sendable (String) -> Bool = HostPort.isIPAddressWithPort) {
        self.identity = identity
        me = identity.publicKey
        myAddress = address
        self.incarnation = min(incarnation, WireLimits.maxIncarnation - 1)
        self.configuration = configuration
        self.acceptsAddress = acceptsAddress
        rng = SplitMix64(seed: seed)
        introductionsLeft = configuration.maxIntroductions
        selfUpdate = MemberUpdate(member: identity.publicKey, address: address, incarnation: self.incarnation, state: .alive).signed(by: identity)
    }

    /// Bumps the incarnation (never past ``WireLimits/maxIncarnation``) and re-signs this node's record.
    private mutating func setIncarnation(_ value: UInt64) {
        incarnation = min(value, WireLimits.maxIncarnation)
        selfUpdate = MemberUpdate(member: me, address: myAddress, incarnation: incarnation, state: .alive).signed(by: identity)
        knowsMe.removeAll()
    }

    private mutating func reject(_ reason: String) { rejected[reason, default: 0] += 1 }

    // MARK: - Queries

    public var aliveMembers: [Bytes32] { members.values.filter { $0.state == .alive }.map(\.id).sorted() }
    /// Members worth talking to: alive or suspect.
    public var reachableMembers: [Bytes32] { members.values.filter { $0.state == .alive || $0.state == .suspect }.map(\.id).sorted() }
    public func counts() -> (alive: Int, suspect: Int, dead: Int) {
        var a = 0, s = 0, d = 0
        for m in members.values {
            switch m.state { case .alive: a += 1; case .suspect: s += 1; case .dead, .left: d += 1 }
        }
        return (a, s, d)
    }
    /// An order-independent fingerprint of who is a member here (this node and every member
    /// alive or suspect): equal on two nodes that see the same members.
    public var membershipFingerprint: UInt64 {
        members.values.reduce(me.w0) { $1.state == .alive || $1.state == .suspect ? $0 ^ $1.id.w0 : $0 }
    }

    /// Signed records of this node and every member seen alive (what a sync session's greeting
    /// carries); members known only unsigned (remembered from an earlier run) are left out.
    public var signedRecords: [MemberUpdate] {
        [selfUpdate] + members.values.filter { $0.state == .alive && !$0.signature.isEmpty }.sorted { $0.id < $1.id }.map(\.update)
    }

    // MARK: - Inputs

    /// Adds members learned from a source that needs no signature: this node's own database of
    /// peers, or the address a peer gave in a session it authenticated with its own key. Usual
    /// incarnation rules; not news (nothing is gossiped on its account).
    public mutating func learn(_ updates: [MemberUpdate], now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        for u in updates { apply(u, now: now, gossip: false, trusted: true, effects: &effects) }
        return effects
    }

    /// Member records received in a sync session's greeting: checked like gossip (signatures,
    /// incarnations). What is new here (a member that just joined through the peer) is news,
    /// spread by gossip as a join is in SWIM, and is greeted directly (see ``introduce(_:)``).
    public mutating func receive(records: [MemberUpdate], now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        var new: [Bytes32] = []
        for u in records {
            let known = members[u.member] != nil
            apply(u, now: now, gossip: true, trusted: false, effects: &effects)
            if !known, members[u.member] != nil { new.append(u.member) }
        }
        introduce(new, effects: &effects)
        return effects
    }

    /// Greets members this node has just learned of from someone else (a seed's list, gossip): a
    /// ping carrying this node's own signed record, so the new member knows this node at once
    /// instead of when gossip about it reaches it, and its ack brings back the news it holds (the
    /// other members joining at that moment). A node joining through a seed is thereby known to every
    /// member the seed listed within one round trip, and two nodes that joined at the same moment
    /// (each missing from the other's list) know each other as soon as either hears of the other.
    /// The ping is not a probe: an unanswered one accuses nobody. At most
    /// ``SWIMConfiguration/maxIntroductions`` greetings per probe interval.
    ///
    /// Greetings past the allowance are owed, not dropped, and go out oldest first in the next
    /// intervals (``greetOwed(effects:)``): in a join wave a node learns of every other within a
    /// second or two, and a member it never greeted learned of it only by gossip, which carries
    /// a few records a datagram while the whole wave is news (128 nodes started together: a node
    /// or two still missing one member seconds after the rest had converged).
    private mutating func introduce(_ new: [Bytes32], effects: inout [MembershipEffect]) {
        for id in new {
            guard let m = members[id], m.state == .alive, !knowsMe.contains(id) else { continue }
            if introductionsLeft > 0 {
                greet(m, effects: &effects)
            } else if greetingOwed.insert(id).inserted {
                if greetingQueue.count >= configuration.maxMembers {
                    // Entries whose greeting is no longer owed are left in place until drained; drop them.
                    var seen = Set<Bytes32>()
                    greetingQueue.removeAll { !greetingOwed.contains($0) || !seen.insert($0).inserted }
                }
                greetingQueue.append(id)
            }
        }
    }

    /// Sends owed greetings within this interval's allowance; a member that has since talked to
    /// this node (it knows us), answered one of our pings, or is no longer alive is skipped.
    private mutating func greetOwed(effects: inout [MembershipEffect]) {
        var sent = 0
        while sent < greetingQueue.count, introductionsLeft > 0 {
            let id = greetingQueue[sent]
            sent += 1
            guard greetingOwed.remove(id) != nil, let m = members[id], m.state == .alive, !knowsMe.contains(id) else { continue }
            greet(m, effects: &effects)
        }
        greetingQueue.removeFirst(sent)
    }

    /// One greeting: a ping carrying this node's signed record, out of this interval's allowance.
    private mutating func greet(_ m: Member, effects: inout [MembershipEffect]) {
        introductionsLeft -= 1
        effects.append(.send(to: m.address, member: m.id, messages: [.ping(probe: newProbeID()), .members([selfUpdate])]))
    }

    /// Our own gossip address changed (a laptop on a new network).
    public mutating func setAddress(_ address: String) {
        guard address != myAddress else { return }
        myAddress = address
        setIncarnation(incarnation + 1)
        enqueue(selfUpdate)
    }

    /// Leaving gracefully: tell a few members.
    public mutating func leave(now: UInt64) -> [MembershipEffect] {
        hasLeft = true
        setIncarnation(incarnation + 1)
        let bye = MemberUpdate(member: me, address: myAddress, incarnation: incarnation, state: .left).signed(by: identity)
        return sample(count: max(configuration.gossipNodes, 3), where: { $0.state == .alive }).compactMap { id in
            members[id].map { .send(to: $0.address, member: id, messages: [.members([bye])]) }
        }
    }

    /// One datagram arrived from `address`, sealed by `packet.sender`.
    ///
    /// The sealed sender proves only that the datagram came from someone holding the network key:
    /// it moves no address and adds no member. A datagram from an unknown sender counts only for
    /// the signed records it carries; replies go to the sender's known address, not to the
    /// datagram's source.
    public mutating func handle(_ packet: Packet, from address: String, now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        let sender = packet.sender
        guard sender != me else { return [] }
        // Membership news first, so the rest sees the newest state (and a joining sender's own record).
        let incarnationBefore = incarnation
        var new: [Bytes32] = []
        for case .members(let updates) in packet.messages {
            for u in updates {
                let known = members[u.member] != nil
                apply(u, now: now, trusted: false, effects: &effects)
                // The sender's own record needs no greeting back: it is talking to us.
                if !known, u.member != sender, members[u.member] != nil { new.append(u.member) }
            }
        }
        introduce(new, effects: &effects)
        guard var known = members[sender] else {
            if packet.messages.contains(where: { if case .members = $0 { false } else if case .digest = $0 { false } else { true } }) {
                reject("unknown_sender")
            }
            return effects
        }
        known.lastSeen = now
        members[sender] = known
        if !greetingOwed.isEmpty { greetingOwed.remove(sender) }  // it is talking to us: it knows this node
        // Nor does it need our record again. (Until a member had answered a ping of ours, our ack to
        // its ping carried our record: at 128 nodes, whose probe rounds take about two minutes,
        // that was 125 bytes on most datagrams for minutes after a join.)
        if known.state == .alive { knowsMe.insert(sender) }
        var reply: [Message] = []
        for message in packet.messages {
            switch message {
            case .ping(let probe):
                reply.append(.ack(probe: probe))
            case .ack(let probe):
                if let relay = relays.removeValue(forKey: probe) {
                    guard relay.target == sender, let requester = members[relay.requesterID] else { continue }
                    effects.append(.send(to: requester.address, member: relay.requesterID, messages: [.ack(probe: relay.probe)] + piggyback(for: relay.requesterID)))
                } else if let p = probes[probe], p.target == sender || p.phase == .indirect {
                    probes[probe] = nil
                    if p.target == sender { knowsMe.insert(sender) }
                    if localHealth > 0 { localHealth -= 1 }
                }
            case .pingRequest(let probe, let target, _):
                // Only to a known member at its known address (the address in the request is
                // ignored: a member cannot make us ping an arbitrary host).
                guard target != me, target != sender, let t = members[target], t.state == .alive || t.state == .suspect else {
                    reject("unknown_target"); continue
                }
                guard relays.count < configuration.maxRelays else { reject("relay_limit"); continue }
                let id = newProbeID()
                relays[id] = Relay(requesterID: sender, target: target, probe: probe, deadline: now + configuration.probeTimeoutMillis)
                effects.append(.send(to: t.address, member: target, messages: [.ping(probe: id)] + piggyback(for: target)))
            case .nack(let probe):
                probes[probe]?.nacks += 1
            default:
                break
            }
        }
        if !reply.isEmpty, let m = members[sender] {
            // A sender we think dead or suspect hears so, and can refute.
            if m.state != .alive { enqueue(m.update, boost: true) }
            effects.append(.send(to: m.address, member: sender, messages: reply + piggyback(for: sender)))
        } else if incarnation != incarnationBefore, let m = members[sender] {
            // The sender thinks we are suspect, dead or gone (a node restarted within the second
            // it left): our refutation goes back to it now, not with the next gossip round.
            effects.append(.send(to: m.address, member: sender, messages: [.members([selfUpdate])]))
        }
        return effects
    }

    /// The earliest time at which ``tick(now:)`` has work: the next probe, a probe or relay
    /// timing out, a suspicion running out, pending gossip, the next reconnect. The node sleeps
    /// until then (an idle node wakes about once per probe interval, not ten times a second).
    public func nextDeadline(now: UInt64) -> UInt64 {
        let scale = UInt64(localHealth + 1)
        var due = min(nextProbeAt, nextReconnectAt)
        if !broadcasts.isEmpty { due = min(due, max(nextGossipAt, now)) }
        for p in probes.values {
            due = min(due, p.sentAt + (p.phase == .direct ? configuration.probeTimeoutMillis : configuration.probeIntervalMillis) * scale)
        }
        for r in relays.values { due = min(due, r.deadline) }
        if !suspectedAt.isEmpty {
            let timeout = configuration.suspicionTimeout(members: members.count) * scale
            for since in suspectedAt.values { due = min(due, since + timeout) }
        }
        return due
    }

    /// Advances time: probes, timeouts, suspicion, gossip, reconnects.
    public mutating func tick(now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        let scale = UInt64(localHealth + 1)
        if let last = lastTick, now > last + configuration.sleepGapIntervals * configuration.probeIntervalMillis * scale {
            // We were asleep: nothing in flight means anything now. Suspicions we started keep
            // running from now, and others will tell us what they decided about us.
            probes.removeAll()
            relays.removeAll()
            for k in suspectedAt.keys { suspectedAt[k] = now }
            nextProbeAt = now
        }
        lastTick = now

        // Pending probes.
        for (id, p) in probes.sorted(by: { $0.key < $1.key }) {
            let timeout = configuration.probeTimeoutMillis * scale
            if p.phase == .direct, now >= p.sentAt + timeout {
                // No answer: it may have forgotten us; the next ping carries our record again.
                knowsMe.remove(p.target)
                let helpers = sample(count: configuration.indirectProbes, where: { $0.state == .alive && $0.id != p.target })
                probes[id]?.phase = .indirect
                probes[id]?.asked = helpers.count
                if let target = members[p.target] {
                    for h in helpers {
                        guard let hm = members[h] else { continue }
                        effects.append(.send(to: hm.address, member: h,
                                             messages: [.pingRequest(probe: id, target: p.target, address: target.address)] + piggyback(for: h, withSelf: false)))
                    }
                }
            } else if p.phase == .indirect, now >= p.sentAt + configuration.probeIntervalMillis * scale {
                probes[id] = nil
                // Lifeguard: if no helper even answered with a nack, our own network may be the problem.
                if p.asked > 0, p.nacks == 0 { localHealth = min(localHealth + 1, configuration.maxLocalHealth) }
                if let m = members[p.target], m.state == .alive {
                    suspect(m, now: now, effects: &effects)
                }
            }
        }
        // Relays that got no ack: tell the requester we tried (a nack).
        for (id, r) in relays.sorted(by: { $0.key < $1.key }) where now >= r.deadline {
            relays[id] = nil
            if let requester = members[r.requesterID] {
                effects.append(.send(to: requester.address, member: r.requesterID, messages: [.nack(probe: r.probe)]))
            }
        }
        // Suspicions that ran out.
        let timeout = configuration.suspicionTimeout(members: members.count) * scale
        for (id, since) in suspectedAt.sorted(by: { $0.key < $1.key }) where now >= since + timeout {
            suspectedAt[id] = nil
            guard var m = members[id], m.state == .suspect else { continue }
            m.state = .dead; m.stateSince = now
            members[id] = m
            enqueue(m.update)
            effects.append(.changed(m.update))
        }
        // Probe the next member.
        if now >= nextProbeAt {
            nextProbeAt = now + configuration.probeIntervalMillis * scale
            introductionsLeft = configuration.maxIntroductions
            greetOwed(effects: &effects)
            if let target = nextProbeTarget(), let m = members[target] {
                let id = newProbeID()
                probes[id] = Probe(target: target, sentAt: now, phase: .direct)
                effects.append(.send(to: m.address, member: target, messages: [.ping(probe: id)] + piggyback(for: target)))
            }
        }
        // Gossip pending updates.
        if now >= nextGossipAt {
            nextGossipAt = now + configuration.gossipIntervalMillis
            if !broadcasts.isEmpty {
                for id in sample(count: configuration.gossipNodes, where: { $0.state == .alive || $0.state == .suspect }) {
                    guard let m = members[id] else { continue }
                    let news = piggyback(for: id)
                    if !news.isEmpty { effects.append(.send(to: m.address, member: id, messages: news)) }
                }
            }
        }
        // Try one dead member again, and forget the long dead.
        if now >= nextReconnectAt {
            nextReconnectAt = now + configuration.reconnectIntervalMillis
            if let id = sample(count: 1, where: { $0.state == .dead }).first, let m = members[id] {
                effects.append(.send(to: m.address, member: id, messages: [.ping(probe: newProbeID()), .members([m.update, selfUpdate])]))
            }
            // Only while someone is reachable: a node alone (a laptop away for a long weekend)
            // keeps its last known peers, its way back.
            let someoneAlive = members.values.contains { $0.state == .alive }
            for m in members.values.sorted(by: { $0.id < $1.id }) where someoneAlive && (m.state == .dead || m.state == .left)
                && now > m.stateSince &+ configuration.deadRetentionMillis {
                members[m.id] = nil
                broadcasts[m.id] = nil
                memberIDs.removeAll { $0 == m.id }
                knowsMe.remove(m.id)
                greetingOwed.remove(m.id)
                effects.append(.forget(m.id))
            }
        }
        return effects
    }

    // MARK: - Rules

    /// The incarnation rules, with authentication: `trusted` updates (this node's own database,
    /// an authenticated session peer's own address) need no signature; all others do for alive
    /// and left, and suspect/dead claims count only at the incarnation the member signed.
    private mutating func apply(_ u: MemberUpdate, now: UInt64, gossip: Bool = true, trusted: Bool, effects: inout [MembershipEffect]) {
        if u.member == me {
            if u.isOwnClaim {
                // Our own record from an earlier run (a clock that stepped back, or a run that
                // left at the incarnation this one started with): outrank it. A `left` at our
                // own incarnation is an earlier run's goodbye unless this run has left.
                let earlierRun = u.incarnation > incarnation || (u.state == .left && u.incarnation == incarnation && !hasLeft)
                guard earlierRun, trusted || u.hasValidSignature else { return }
                setIncarnation(min(u.incarnation, WireLimits.maxIncarnation - 1) + 1)  // trusted input may come from a database
                enqueue(selfUpdate, boost: true)
            } else if u.incarnation == incarnation {
                // Someone thinks we are suspect or dead: refute with a higher incarnation.
                setIncarnation(incarnation + 1)
                localHealth = min(localHealth + 1, configuration.maxLocalHealth)
                enqueue(selfUpdate, boost: true)
            } else if u.incarnation > incarnation {
                reject("unverifiable_claim")  // we never signed that incarnation
            }
            return
        }
        // (An address this node holds for the member already passed the check: a join wave
        // repeats every record many times, and parsing each one was a visible share of its CPU.)
        if u.isOwnClaim, members[u.member]?.address != u.address, !acceptsAddress(u.address) { reject("bad_address"); return }
        guard var m = members[u.member] else {
            // A stranger becomes a member only by its own signed alive record.
            guard u.state == .alive else { if !u.isOwnClaim { reject("unverifiable_claim") }; return }
            guard members.count < configuration.maxMembers else { reject("member_limit"); return }
            guard trusted || u.hasValidSignature else { reject("bad_signature"); return }
            let m = Member(id: u.member, address: u.address, incarnation: u.incarnation, state: .alive, stateSince: now, lastSeen: 0,
                           signature: u.signature)
            members[u.member] = m
            memberIDs.append(u.member)
            probeOrder.append(u.member)
            if gossip, !u.signature.isEmpty { enqueue(u) }
            effects.append(.changed(m.update))
            return
        }
        let overrides: Bool
        switch u.state {
        case .alive: overrides = u.incarnation > m.incarnation
        case .left: overrides = u.incarnation > m.incarnation || (u.incarnation == m.incarnation && m.state != .left)
        case .suspect, .dead:
            // Only at the incarnation the member itself signed: a higher one is unverifiable.
            if u.incarnation > m.incarnation { reject("unverifiable_claim"); return }
            overrides = u.incarnation == m.incarnation && (u.state == .suspect ? m.state == .alive : m.state == .alive || m.state == .suspect)
        }
        guard overrides else { return }
        if u.isOwnClaim {
            guard trusted || u.hasValidSignature else { reject("bad_signature"); return }
        }
        let changed = m.state != u.state || (u.isOwnClaim && m.address != u.address)
        m.incarnation = u.incarnation
        if u.isOwnClaim {
            m.address = u.address
            m.signature = u.signature
        }
        if m.state != u.state { m.state = u.state; m.stateSince = now }
        members[u.member] = m
        switch u.state {
        case .suspect: if suspectedAt[u.member] == nil { suspectedAt[u.member] = now }
        default: suspectedAt[u.member] = nil
        }
        if gossip, !u.isOwnClaim || !u.signature.isEmpty { enqueue(m.update) }
        if changed { effects.append(.changed(m.update)) }
    }

    private mutating func suspect(_ member: Member, now: UInt64, effects: inout [MembershipEffect]) {
        var m = member
        m.state = .suspect; m.stateSince = now
        members[m.id] = m
        suspectedAt[m.id] = now
        enqueue(m.update)
        effects.append(.changed(m.update))
    }

    private mutating func enqueue(_ u: MemberUpdate, boost: Bool = false) {
        let n = configuration.retransmits(members: members.count)
        broadcasts[u.member] = (u, boost ? n * 2 : n)
    }

    /// Membership updates for one datagram to `target`, within the byte budget, most needed
    /// first; this node's own record first when `target` has not answered us yet (it drops
    /// datagrams from senders it does not know).
    private mutating func piggyback(for target: Bytes32, withSelf: Bool = true) -> [Message] {
        let introduce = withSelf && !knowsMe.contains(target) && broadcasts[me] == nil
        guard !broadcasts.isEmpty || introduce else { return [] }
        var chosen: [MemberUpdate] = introduce ? [selfUpdate] : []
        var bytes = 4 + (introduce ? Self.recordSize(selfUpdate) : 0)
        // Most retransmissions left first; the order is sorted on (left, id) pairs only, not on
        // whole records (a join wave holds ~N records and sorted them for every datagram).
        let order = broadcasts.map { (left: $0.value.left, id: $0.key) }.sorted { ($0.left, $0.id) > ($1.left, $1.id) }
        for (_, id) in order {
            guard let b = broadcasts[id] else { continue }
            if b.update.isOwnClaim, b.update.signature.isEmpty { broadcasts[id] = nil; continue }  // unsigned: nobody would take it
            let size = Self.recordSize(b.update)
            if bytes + size > configuration.piggybackBudgetBytes { break }
            bytes += size
            chosen.append(b.update)
            if b.left <= 1 { broadcasts[id] = nil } else { broadcasts[id]?.left -= 1 }
        }
        return chosen.isEmpty ? [] : [.members(chosen)]
    }

    /// Bytes of one record on the wire (an upper bound: varints at their longest).
    static func recordSize(_ u: MemberUpdate) -> Int { 32 + 2 + u.address.utf8.count + 10 + 1 + (u.isOwnClaim ? 64 : 0) }

    private mutating func nextProbeTarget() -> Bytes32? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let id = probeOrder[probeIndex]
                probeIndex += 1
                if let m = members[id], m.state == .alive || m.state == .suspect { return id }
            }
            // A new round, in a new random order (SWIM's round-robin keeps detection bounded).
            probeOrder = members.values.filter { $0.state == .alive || $0.state == .suspect }.map(\.id).sorted()
            probeOrder.shuffle(using: &rng)
            probeIndex = 0
            if probeOrder.isEmpty { return nil }
        }
        return nil
    }

    private mutating func newProbeID() -> UInt64 {
        defer { nextProbeID += 1 }
        return nextProbeID
    }

    /// Up to `count` distinct random members matching `predicate`: random probes into the id
    /// list first (cheap when most match), then a scan of the rest in random order.
    private mutating func sample(count: Int, where predicate: (Member) -> Bool) -> [Bytes32] {
        guard count > 0, !memberIDs.isEmpty else { return [] }
        var chosen: [Bytes32] = []
        var tried = Set<Int>()
        for _ in 0..<(count * 3) where chosen.count < count {
            let i = Int.random(in: 0..<memberIDs.count, using: &rng)
            guard tried.insert(i).inserted, let m = members[memberIDs[i]], predicate(m) else { continue }
            chosen.append(m.id)
        }
        if chosen.count < count {
            let start = Int.random(in: 0..<memberIDs.count, using: &rng)
            for k in 0..<memberIDs.count where chosen.count < count {
                let i = (start + k) % memberIDs.count
                guard !tried.contains(i), let m = members[memberIDs[i]], predicate(m) else { continue }
                chosen.append(m.id)
            }
        }
        return chosen
    }
}
