import Wire

/// SWIM membership with suspicion, incarnation numbers, refutation and Lifeguard-style local
/// health, as a sans-IO state machine: packets and time in, effects out. No sockets, no clocks,
/// no randomness of its own.
public struct SWIM: Sendable {
    public let me: Bytes32
    public private(set) var myAddress: String
    public private(set) var incarnation: UInt64
    public let configuration: SWIMConfiguration
    public private(set) var members: [Bytes32: Member] = [:]
    /// Lifeguard's local health multiplier: 0 when healthy.
    public private(set) var localHealth = 0

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
    private struct Relay { var requester: String; var requesterID: Bytes32; var probe: UInt64; var deadline: UInt64 }
    private var relays: [UInt64: Relay] = [:]
    private var suspectedAt: [Bytes32: UInt64] = [:]
    /// Updates waiting to be piggybacked: member → (update, transmissions left).
    private var broadcasts: [Bytes32: (update: MemberUpdate, left: Int)] = [:]

    public init(me: Bytes32, address: String, incarnation: UInt64, configuration: SWIMConfiguration = .init(), seed: UInt64) {
        self.me = me
        myAddress = address
        self.incarnation = incarnation
        self.configuration = configuration
        rng = SplitMix64(seed: seed)
    }

    // MARK: - Queries

    public var aliveMembers: [Bytes32] { members.values.filter { $0.state == .alive }.map(\.id) }
    /// Members worth talking to: alive or suspect.
    public var reachableMembers: [Bytes32] { members.values.filter { $0.state == .alive || $0.state == .suspect }.map(\.id) }
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

    public var selfUpdate: MemberUpdate { MemberUpdate(member: me, address: myAddress, incarnation: incarnation, state: .alive) }

    // MARK: - Inputs

    /// Adds members learned out of band (persisted peers, a join reply), with the usual
    /// incarnation rules. Not news: nothing is gossiped on its account.
    public mutating func learn(_ updates: [MemberUpdate], now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        for u in updates { apply(u, now: now, gossip: false, effects: &effects) }
        return effects
    }

    /// Our own gossip address changed (a laptop on a new network).
    public mutating func setAddress(_ address: String) {
        guard address != myAddress else { return }
        myAddress = address
        incarnation += 1
        enqueue(selfUpdate)
    }

    /// Leaving gracefully: tell a few members.
    public mutating func leave(now: UInt64) -> [MembershipEffect] {
        incarnation += 1
        let bye = MemberUpdate(member: me, address: myAddress, incarnation: incarnation, state: .left)
        return sample(count: max(configuration.gossipNodes, 3), where: { $0.state == .alive }).compactMap { id in
            members[id].map { .send(to: $0.address, member: id, messages: [.members([bye])]) }
        }
    }

    /// One datagram arrived from `address`, sealed by `packet.sender`.
    public mutating func handle(_ packet: Packet, from address: String, now: UInt64) -> [MembershipEffect] {
        var effects: [MembershipEffect] = []
        let sender = packet.sender
        guard sender != me else { return [] }
        // Membership news first, so the rest sees the newest state.
        for case .members(let updates) in packet.messages {
            for u in updates { apply(u, now: now, effects: &effects) }
        }
        if var m = members[sender] {
            m.lastSeen = now
            if m.address != address, m.state == .alive {
                // Same member, new address (a laptop that moved): follow it.
                m.address = address
                effects.append(.changed(m.update))
            }
            members[sender] = m
        } else {
            // An unknown member talking to us: it is alive; its own update will follow.
            members[sender] = Member(id: sender, address: address, incarnation: 0, state: .alive, stateSince: now, lastSeen: now)
            probeOrder.append(sender)
            memberIDs.append(sender)
            effects.append(.changed(members[sender]!.update))
        }
        var reply: [Message] = []
        for message in packet.messages {
            switch message {
            case .ping(let probe):
                reply.append(.ack(probe: probe))
            case .ack(let probe):
                if let relay = relays.removeValue(forKey: probe) {
                    effects.append(.send(to: relay.requester, member: relay.requesterID, messages: [.ack(probe: relay.probe)] + piggyback(for: relay.requesterID)))
                } else if let p = probes[probe], p.target == sender || p.phase == .indirect {
                    probes[probe] = nil
                    if localHealth > 0 { localHealth -= 1 }
                }
            case .pingRequest(let probe, let target, let targetAddress):
                let id = newProbeID()
                relays[id] = Relay(requester: address, requesterID: sender, probe: probe, deadline: now + configuration.probeTimeoutMillis)
                effects.append(.send(to: targetAddress, member: target, messages: [.ping(probe: id)] + piggyback(for: target)))
            case .nack(let probe):
                probes[probe]?.nacks += 1
            default:
                break
            }
        }
        if !reply.isEmpty {
            // A sender we think dead or suspect hears so, and can refute.
            if let m = members[sender], m.state != .alive { enqueue(m.update, boost: true) }
            effects.append(.send(to: address, member: sender, messages: reply + piggyback(for: sender)))
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
        for (id, p) in probes {
            let timeout = configuration.probeTimeoutMillis * scale
            if p.phase == .direct, now >= p.sentAt + timeout {
                let helpers = sample(count: configuration.indirectProbes, where: { $0.state == .alive && $0.id != p.target })
                probes[id]?.phase = .indirect
                probes[id]?.asked = helpers.count
                if let target = members[p.target] {
                    for h in helpers {
                        guard let hm = members[h] else { continue }
                        effects.append(.send(to: hm.address, member: h,
                                             messages: [.pingRequest(probe: id, target: p.target, address: target.address)] + piggyback(for: h)))
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
        for (id, r) in relays where now >= r.deadline {
            relays[id] = nil
            effects.append(.send(to: r.requester, member: r.requesterID, messages: [.nack(probe: r.probe)]))
        }
        // Suspicions that ran out.
        let timeout = configuration.suspicionTimeout(members: members.count) * scale
        for (id, since) in suspectedAt where now >= since + timeout {
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
            for m in members.values where (m.state == .dead || m.state == .left) && now > m.stateSince + configuration.deadRetentionMillis {
                members[m.id] = nil
                broadcasts[m.id] = nil
                memberIDs.removeAll { $0 == m.id }
                effects.append(.forget(m.id))
            }
        }
        return effects
    }

    // MARK: - Rules

    private mutating func apply(_ u: MemberUpdate, now: UInt64, gossip: Bool = true, effects: inout [MembershipEffect]) {
        if u.member == me {
            // Someone thinks we are suspect, dead or gone: refute with a higher incarnation.
            if u.state != .alive, u.incarnation >= incarnation {
                incarnation = u.incarnation + 1
                localHealth = min(localHealth + 1, configuration.maxLocalHealth)
                enqueue(selfUpdate, boost: true)
            } else if u.state == .alive, u.incarnation > incarnation {
                incarnation = u.incarnation + 1
                enqueue(selfUpdate, boost: true)
            }
            return
        }
        guard var m = members[u.member] else {
            guard u.state == .alive || u.state == .suspect else { return }  // no news in a stranger's death
            let m = Member(id: u.member, address: u.address, incarnation: u.incarnation, state: u.state, stateSince: now, lastSeen: 0)
            members[u.member] = m
            memberIDs.append(u.member)
            probeOrder.append(u.member)
            if u.state == .suspect { suspectedAt[u.member] = now }
            if gossip { enqueue(u) }
            effects.append(.changed(m.update))
            return
        }
        let overrides: Bool
        switch u.state {
        case .alive: overrides = u.incarnation > m.incarnation
        case .suspect: overrides = (u.incarnation > m.incarnation) || (u.incarnation == m.incarnation && m.state == .alive)
        case .dead, .left: overrides = (u.incarnation > m.incarnation) || (u.incarnation == m.incarnation && m.state != .dead && m.state != .left)
        }
        guard overrides else { return }
        let changed = m.state != u.state || m.address != u.address
        m.incarnation = u.incarnation
        m.address = u.address
        if m.state != u.state { m.state = u.state; m.stateSince = now }
        members[u.member] = m
        switch u.state {
        case .suspect: if suspectedAt[u.member] == nil { suspectedAt[u.member] = now }
        default: suspectedAt[u.member] = nil
        }
        if gossip { enqueue(u) }
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

    /// Membership updates for one datagram to `target`, within the byte budget, most needed first.
    private mutating func piggyback(for target: Bytes32) -> [Message] {
        guard !broadcasts.isEmpty else { return [] }
        var chosen: [MemberUpdate] = []
        var bytes = 4
        for (id, b) in broadcasts.sorted(by: { ($0.value.left, $0.key) > ($1.value.left, $1.key) }) {
            let size = 32 + 1 + b.update.address.utf8.count + 10 + 1
            if bytes + size > configuration.piggybackBudgetBytes { break }
            bytes += size
            chosen.append(b.update)
            if b.left <= 1 { broadcasts[id] = nil } else { broadcasts[id]?.left -= 1 }
        }
        return chosen.isEmpty ? [] : [.members(chosen)]
    }

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
