import Wire

/// The whole protocol of one node as one sans-IO value: membership (``SWIM``), replication
/// (``ReplicationCore``), push batching, seed retries and the start-up write fence, with the one
/// interpreter of the cores' effects. The node's actor and the simulator both hold a `NodeCore`
/// and carry out its ``Effect``s (seal and send a datagram, dial, persist a member); neither
/// interprets a core's effect itself, so the simulator runs every decision the node makes.
/// (Sync sessions are ``SyncSession`` machines sharing the node's ``SessionRegistry``.)
public struct NodeCore: Sendable {
    public private(set) var swim: SWIM
    public private(set) var repl: ReplicationCore
    /// Where seeds are dialled (when they are not alive members): configured and remembered ones.
    public private(set) var seeds: [String]
    public let reconnectIntervalMillis: UInt64
    private var logDigest = Bytes32.zero
    private var entryCount: UInt64 = 0
    private var seedRetryAt: UInt64 = 0
    /// The pause before the next seed dial of a node that has not joined yet: from
    /// ``firstSeedRetryMillis``, doubling, up to ``maxUnjoinedSeedRetryMillis``.
    private var seedBackoff: UInt64 = 0
    /// Whether some member has been alive since this node started.
    private var hasJoined = false
    /// The first pause between seed dials of a node that has not joined (nominal; see ``tick(now:)``).
    public static let firstSeedRetryMillis: UInt64 = 250
    /// The longest nominal pause between seed dials of a node that has not joined.
    public static let maxUnjoinedSeedRetryMillis: UInt64 = 2_000
    /// Jitter for seed retries, seeded from this node's id (deterministic in the simulator).
    private var rng: SplitMix64
    /// Writes wait until this time (or a first completed sync) after a start with known peers.
    public private(set) var fenceUntil: UInt64?
    /// Members whose equal digest lifts the fence (see ``fence(until:confirmers:)``).
    private var fenceConfirmers: Set<Bytes32> = []
    /// While no member is alive, the last known ones are dialled again, with a growing pause.
    private var lonelyRetryAt: UInt64 = 0
    private var lonelyBackoff: UInt64 = 0
    /// The longest pause between two tries of a lonely node.
    public static let maxLonelyBackoffMillis: UInt64 = 300_000
    /// Hinted handoff: entries written here while a member was unreachable (suspect, dead or
    /// left), pushed to it the moment it is alive again, so a node back from a restart or a short
    /// absence gets the few entries it missed in a datagram instead of a sync session. At most
    /// ``maxHintsPerMember`` per member and ``maxHintBytes`` in all; a member that missed more is
    /// left to anti-entropy (its hints are dropped, and no more are kept until it is back).
    private var hints: [Bytes32: [[UInt8]]] = [:]
    private var hintOverflow: Set<Bytes32> = []
    private var hintBytes = 0
    /// Entries remembered for one unreachable member.
    public static let maxHintsPerMember = 64
    /// Bytes of hinted entries over all members.
    public static let maxHintBytes = 1 << 20

    /// What the shell carries out.
    public enum Effect: Sendable, Equatable {
        /// Seal these messages into one datagram to this address.
        case datagram(to: String, [Message])
        /// Open a sync session with this member at its address (the shell dials if it may; when
        /// it does not, it calls ``syncFinished(_:now:)``).
        case dial(peer: Bytes32, address: String)
        /// Dial a seed, whoever answers there.
        case dialSeed(String)
        /// A member's record changed: persist it.
        case memberChanged(MemberUpdate)
        /// Forget a member for good (and its persisted record).
        case memberForgotten(Bytes32)
        /// The start-up write fence lifts: writes are accepted again.
        case liftFence
    }

    public init(swim: SWIM, replication: ReplicationCore, seeds: [String] = [], reconnectIntervalMillis: UInt64 = 10_000) {
        self.swim = swim; repl = replication; self.seeds = seeds; self.reconnectIntervalMillis = reconnectIntervalMillis
        rng = SplitMix64(seed: swim.me.w0 ^ 0x5eed)
    }

    /// What probes carry: the log digest with the membership folded in, so two nodes that hold
    /// the same entries but see different members also differ, and the sync that follows
    /// exchanges the member lists.
    public var gossipDigest: Bytes32 { logDigest.mixing(swim.membershipFingerprint) }

    /// The log changed (an entry or a fork proof was stored).
    public mutating func setLog(digest: Bytes32, entries: UInt64) {
        logDigest = digest
        entryCount = entries
        repl.setDigest(gossipDigest, entries: entryCount)
    }

    /// Seeds remembered from earlier starts, dialled like the configured ones.
    public mutating func addSeeds(_ more: [String]) {
        for a in more where !seeds.contains(a) { seeds.append(a) }
    }

    /// Addresses found by discovery (the tailnet's peers, a peers file): each is dialled, like a
    /// seed, unless an alive member is there already or it is this node's own address.
    public func discovered(_ addresses: [String]) -> [Effect] {
        let alive = Set(swim.members.values.filter { $0.state == .alive }.map(\.address))
        return addresses.filter { $0 != swim.myAddress && !alive.contains($0) }.map { .dialSeed($0) }
    }

    /// Writes wait for a first sync, at most until `until` (fork-safe restore). A digest equal to
    /// this node's from one of `confirmers` (members this node knew before it started: its own
    /// database's peers, never an identity met since) also ends the wait.
    public mutating func fence(until: UInt64, confirmers: Set<Bytes32> = []) {
        fenceUntil = until
        fenceConfirmers = confirmers
    }

    // MARK: Inputs

    /// A datagram from `address`, sealed by `packet.sender`. Returns the effects and the
    /// entries it pushed, when the sender is a member (the shell verifies and stores them, then
    /// calls ``stored(_:from:now:)``); pushes and digests from a sender the membership does not
    /// know start nothing.
    public mutating func datagram(_ packet: Packet, from address: String, now: UInt64) -> (effects: [Effect], pushed: [[UInt8]]) {
        var out = interpret(swim.handle(packet, from: address, now: now), now: now)
        guard swim.members[packet.sender] != nil else { return (out, []) }
        var pushed: [[UInt8]] = []
        for message in packet.messages {
            switch message {
            case .digest(let d, let n):
                repl.setDigest(gossipDigest, entries: entryCount)
                // A member known before this start, holding exactly what this node holds (same
                // digest), confirms this node's latest entries as a completed sync would: the
                // start-up fence lifts. (A fresh identity could copy our log and echo our digest.)
                if fenceUntil != nil, fenceConfirmers.contains(packet.sender), d.fingerprint == gossipDigest.fingerprint {
                    fenceUntil = nil
                    out.append(.liftFence)
                }
                out += interpret(repl.digestReceived(d, entries: n, from: packet.sender, now: now), now: now)
            case .push(let entries):
                pushed += entries
                repl.pushReceived(from: packet.sender, now: now)
            default:
                break
            }
        }
        return (out, pushed)
    }

    /// Time passes: probes, timeouts, gossip, the periodic sync, seed retries, the fence.
    public mutating func tick(now: UInt64) -> [Effect] {
        var out = interpret(swim.tick(now: now), now: now)
        out += interpret(repl.tick(now: now), now: now)
        if let f = fenceUntil, now >= f {
            fenceUntil = nil
            out.append(.liftFence)
        }
        if now >= seedRetryAt {
            let alive = Set(swim.members.values.filter { $0.state == .alive }.map(\.address))
            // A node that has not joined yet (its seed was still starting, or refused a session
            // at its limit while a whole cluster joined) tries again soon, then less often, each
            // pause drawn from 0.5-1.5 times the nominal one so that nodes refused together do
            // not return together; a node that has been joined since it started re-dials missing
            // seeds every reconnect interval (its peers come back by themselves, and its hints
            // reach them without a session).
            if alive.isEmpty, !hasJoined {
                seedBackoff = min(seedBackoff == 0 ? Self.firstSeedRetryMillis : seedBackoff * 2, Self.maxUnjoinedSeedRetryMillis, reconnectIntervalMillis)
                seedRetryAt = now + seedBackoff / 2 + rng.next() % max(seedBackoff, 1)
            } else {
                seedBackoff = 0
                seedRetryAt = now + reconnectIntervalMillis
            }
            for seed in seeds where !alive.contains(seed) { out.append(.dialSeed(seed)) }
        }
        out += retryWhenAlone(now: now)
        return out
    }

    /// A node with no alive member dials its last known peers (up to three, most recently seen
    /// first), then waits twice as long each time, up to ``maxLonelyBackoffMillis``, for as long
    /// as it runs; the pause starts over once a member is alive. The first dial comes one
    /// reconnect interval after the node found itself alone: its last member has just left or
    /// been declared dead, and a dial at that moment reaches nobody, or (a restart) a member whose
    /// own probe is about to bring it back, and becomes a session for what a push would carry.
    private mutating func retryWhenAlone(now: UInt64) -> [Effect] {
        guard !swim.members.values.contains(where: { $0.state == .alive }) else {
            lonelyBackoff = 0
            lonelyRetryAt = 0
            return []
        }
        if lonelyRetryAt == 0 {
            lonelyRetryAt = now + reconnectIntervalMillis
            return []
        }
        guard now >= lonelyRetryAt else { return [] }
        lonelyBackoff = lonelyBackoff == 0 ? reconnectIntervalMillis : min(lonelyBackoff * 2, Self.maxLonelyBackoffMillis)
        lonelyRetryAt = now + lonelyBackoff
        let known = swim.members.values.sorted { ($0.lastSeen, $0.id) > ($1.lastSeen, $1.id) }.prefix(3)
        return known.map { .dial(peer: $0.id, address: $0.address) }
    }

    /// The earliest time ``tick(now:)`` has work.
    public func nextDeadline(now: UInt64) -> UInt64 {
        var due = min(swim.nextDeadline(now: now), repl.nextDeadline(now: now), seedRetryAt)
        if lonelyRetryAt > 0 { due = min(due, lonelyRetryAt) }
        if let f = fenceUntil { due = min(due, f) }
        return due
    }

    /// Entries were stored for the first time (written here when `from` is nil): where to push
    /// them, packed into datagrams of at most ``WireLimits/maxDatagramPayload`` (an entry too
    /// large for one goes by a sync session).
    public mutating func stored(_ entries: [(key: EntryKey, encoded: [UInt8])], from: Bytes32?, now: UInt64) -> [Effect] {
        guard !entries.isEmpty else { return [] }
        var byKey: [EntryKey: [UInt8]] = [:]
        for e in entries { byKey[e.key] = e.encoded }
        if from == nil { hint(entries.map(\.encoded)) }
        return interpret(repl.stored(entries.map(\.key), from: from, now: now), entries: byKey, now: now)
    }

    /// Keeps this node's own new entries for the members that cannot get their push now (see
    /// ``hints``), in a cluster small enough that writers push to everyone.
    private mutating func hint(_ encoded: [[UInt8]]) {
        guard swim.members.count + 1 <= repl.configuration.pushToAllBelow else { return }
        let size = encoded.reduce(0) { $0 + $1.count }
        for m in swim.members.values where m.state != .alive && !hintOverflow.contains(m.id) {
            let held = hints[m.id]?.count ?? 0
            guard held + encoded.count <= Self.maxHintsPerMember, hintBytes + size <= Self.maxHintBytes else {
                dropHints(m.id)
                hintOverflow.insert(m.id)
                continue
            }
            hints[m.id, default: []] += encoded
            hintBytes += size
        }
    }

    private mutating func dropHints(_ member: Bytes32) {
        if let dropped = hints.removeValue(forKey: member) { hintBytes -= dropped.reduce(0) { $0 + $1.count } }
    }

    /// Entries kept for members that were unreachable when they were written (for tests).
    public var hintedEntries: Int { hints.values.reduce(0) { $0 + $1.count } }

    /// An entry from `peer` arrived before its predecessor: fetch the gap now.
    public mutating func gap(from peer: Bytes32, now: UInt64) -> [Effect] { interpret(repl.gap(from: peer, now: now), now: now) }

    /// Members from this node's own database or an authenticated session's `hello`.
    public mutating func learn(_ updates: [MemberUpdate], now: UInt64) -> [Effect] { interpret(swim.learn(updates, now: now), now: now) }

    /// Member records from a session's greeting.
    public mutating func receive(records: [MemberUpdate], now: UInt64) -> [Effect] { interpret(swim.receive(records: records, now: now), now: now) }

    /// Leaving gracefully.
    public mutating func leave(now: UInt64) -> [Effect] { interpret(swim.leave(now: now), now: now) }

    /// This node's gossip address changed.
    public mutating func setAddress(_ address: String) { swim.setAddress(address) }

    /// A session with `peer` started (dialled here or there).
    public mutating func syncStarted(_ peer: Bytes32, now: UInt64) { repl.syncStarted(peer, now: now) }

    /// A session with `peer` ended (or a dial the core asked for did not happen). A completed
    /// session lifts the start-up fence.
    public mutating func syncFinished(_ peer: Bytes32, completed: Bool = false, now: UInt64) -> [Effect] {
        var out = interpret(repl.syncFinished(peer, now: now), now: now)
        if completed, fenceUntil != nil {
            fenceUntil = nil
            out.append(.liftFence)
        }
        return out
    }

    // MARK: The interpreter

    private mutating func interpret(_ effects: [MembershipEffect], now: UInt64) -> [Effect] {
        var out: [Effect] = []
        for e in effects {
            switch e {
            case .send(let address, _, var messages):
                messages.append(.digest(gossipDigest, entries: entryCount))
                out.append(.datagram(to: address, messages))
            case .changed(let u):
                if u.state == .alive { repl.peerUp(u.member) } else { repl.peerDown(u.member) }
                if u.state == .alive {
                    // Not alone any more: a later loneliness starts its own clock.
                    lonelyBackoff = 0
                    lonelyRetryAt = 0
                    if !hasJoined {
                        // Joined: missing seeds are dialled every reconnect interval from now on,
                        // even if this member goes again before the next seed retry (the first
                        // tick still dials every seed not alive at once).
                        hasJoined = true
                        seedBackoff = 0
                        if seedRetryAt > 0 { seedRetryAt = max(seedRetryAt, now + reconnectIntervalMillis) }
                    }
                }
                repl.membershipChanged(now: now)
                out.append(.memberChanged(u))
                if u.state == .alive {
                    // Back: what it missed while away, if it was little, goes as a push now.
                    hintOverflow.remove(u.member)
                    if let missed = hints[u.member] {
                        dropHints(u.member)
                        out += push(missed, to: u.member)
                    }
                }
            case .forget(let id):
                repl.peerDown(id)
                dropHints(id)
                hintOverflow.remove(id)
                out.append(.memberForgotten(id))
            }
        }
        return out
    }

    private mutating func interpret(_ effects: [ReplicationEffect], entries: [EntryKey: [UInt8]] = [:], now: UInt64) -> [Effect] {
        var out: [Effect] = []
        for e in effects {
            switch e {
            case .push(let keys, let peers):
                let encoded = keys.compactMap { entries[$0] }
                for p in peers { out += push(encoded, to: p) }
            case .sync(let peer):
                if let m = swim.members[peer] {
                    out.append(.dial(peer: peer, address: m.address))
                } else {
                    out += interpret(repl.syncFinished(peer, now: now), now: now)
                }
            }
        }
        return out
    }

    /// Pushes entries to one peer in as few datagrams as they fit; an entry too large for a
    /// datagram asks for a session. Pushes carry no digest (it rides on every probe and ack).
    private func push(_ encoded: [[UInt8]], to peer: Bytes32) -> [Effect] {
        guard let m = swim.members[peer] else { return [] }
        let budget = WireLimits.maxDatagramPayload - 60
        var out: [Effect] = []
        var batch: [[UInt8]] = []
        var size = 4
        var needsSession = false
        for e in encoded {
            let s = e.count + 3
            if s > budget { needsSession = true; continue }
            if size + s > budget, !batch.isEmpty {
                out.append(.datagram(to: m.address, [.push(batch)]))
                batch = []; size = 4
            }
            batch.append(e); size += s
        }
        if !batch.isEmpty { out.append(.datagram(to: m.address, [.push(batch)])) }
        if needsSession { out.append(.dial(peer: peer, address: m.address)) }
        return out
    }
}
