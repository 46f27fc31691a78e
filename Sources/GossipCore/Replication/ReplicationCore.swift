import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timing and fanout of replication.
public struct ReplicationConfiguration: Sendable {
    /// A periodic sync with one random peer, unless some peer's digest agreed with this node's
    /// within the last interval, this often up to 32 nodes; longer in larger clusters (see
    /// ``ReplicationCore/periodicSyncInterval(_:members:)``).
    public var syncIntervalMillis: UInt64 = 10_000
    /// A digest mismatch must persist this long before it starts a sync (pushes in flight
    /// usually settle it first).
    public var mismatchGraceMillis: UInt64 = 500
    /// At most one sync with the same peer per this interval, unless a gap forces one.
    public var syncCooldownMillis: UInt64 = 1_000
    /// Sync sessions this node starts at once.
    public var maxConcurrentSyncs = 2
    /// Eager-push fanout for relayed entries: ceil(ln N) + this random peers, plus the ring
    /// successor. With the ring behind the random peers a second extra peer bought no coverage
    /// (the simulator's 128 nodes reach every node by push with 0, 1 or 2) and cost a datagram
    /// per node per entry: at 1 instead of 2, 128 nodes on 2 cores delivered an event to every
    /// node in a median 77.6 ms against 83.5 (6 interleaved runs each; CPU per event 214 against
    /// 224 ms) with 1/8 fewer copies on the wire.
    public var fanoutExtra = 1
    /// A writer pushes its own entries to every peer while the cluster has at most this many
    /// nodes (one hop to everyone; a federation of one person's or one team's machines), and
    /// the nodes that got an entry straight from its author relay it to `firstHandRelays` peers.
    /// Above it, pushes spread epidemically: ceil(ln N) + `fanoutExtra` random peers per hop,
    /// and each holder's successor on the ring of member ids.
    public var pushToAllBelow = 64
    /// Peers a node relays an entry to when it got it straight from its author in a cluster of
    /// at most `pushToAllBelow` nodes (where the author reached every peer itself). Zero: each
    /// node receives each entry once; a push lost on the way shows as a digest mismatch on the
    /// next probe and is fetched by anti-entropy after the grace. (Relaying to 2 made every node
    /// of a 3-node cluster receive each entry twice: 2.5 × the bytes in a write burst.)
    public var firstHandRelays = 0
    /// A peer holding this many more entries than this node means it is far behind: it syncs at
    /// once instead of waiting out the mismatch grace.
    public var farBehindEntries: UInt64 = 64
    /// While this node's membership changed this recently, a mismatch with a peer holding as
    /// many entries must persist this long (not `mismatchGraceMillis`) before it starts a sync:
    /// the digest folds in who is a member, and during a join wave every node's view is in
    /// motion. Gossip settles that; a session per mismatch would only load every node (128 nodes
    /// started together opened about 4,500 sessions before this rule). A peer holding a
    /// different number of entries is synced after the usual grace.
    public var membershipSettleMillis: UInt64 = 5_000
    /// While a peer is pushing entries to this node (one arrived within `mismatchGraceMillis`),
    /// a mismatch with it must persist this long before it starts a sync: during a write burst
    /// the two digests differ by what is in flight, and a session every cooldown would carry
    /// those entries a second time (a quarter of a 3-node burst's bytes before this rule). A
    /// push lost in a burst is fetched at the latest this long after the mismatch began, or a
    /// grace after the burst ends.
    public var inFlightGraceMillis: UInt64 = 5_000

    public init() {}

    public static var fast: ReplicationConfiguration {
        var c = ReplicationConfiguration()
        c.syncIntervalMillis = 2_000; c.mismatchGraceMillis = 300; c.syncCooldownMillis = 500
        c.membershipSettleMillis = 1_000
        c.inFlightGraceMillis = 1_000
        return c
    }
}

/// One entry, as replication sees it: who wrote it, which seq, how big (bytes on the wire).
public struct EntryKey: Sendable, Hashable {
    public var author: Bytes32
    public var seq: UInt64
    public init(author: Bytes32, seq: UInt64) { self.author = author; self.seq = seq }
}

/// What the replication core asks its shell to do.
public enum ReplicationEffect: Sendable, Equatable {
    /// Send these entries to these peers (UDP when they fit a datagram, else TCP).
    case push([EntryKey], to: [Bytes32])
    /// Open an anti-entropy session with this peer.
    case sync(Bytes32)
}

/// Decides when to push and when to sync: eager push of newly stored entries (fanout growing
/// with ln N, everyone while the cluster is small), anti-entropy when digests differ for a
/// while, a periodic sync with a random peer. Sans-IO: events and time in, effects out.
public struct ReplicationCore: Sendable {
    public let me: Bytes32
    public let configuration: ReplicationConfiguration
    public private(set) var myDigest: Bytes32
    private var myEntries: UInt64 = 0
    private var peers: Set<Bytes32> = []
    /// Since when each peer's digest has differed from ours, and the digest it had then (the
    /// mismatch is the same one only while the peer's digest stays put).
    private var mismatchSince: [Bytes32: (since: UInt64, theirs: Bytes32)] = [:]
    private var lastSync: [Bytes32: UInt64] = [:]
    private var active: Set<Bytes32> = []
    /// When each peer's digest last equalled ours.
    private var agreedAt: [Bytes32: UInt64] = [:]
    private var wanted: [Bytes32] = []
    private var nextPeriodicSync: UInt64 = 0
    /// When a member last joined, left, or changed state here.
    private var membershipChangedAt: UInt64?
    /// When each peer last pushed entries to this node (bounded by the peers: dropped with them).
    private var lastPushFrom: [Bytes32: UInt64] = [:]
    private var rng: SplitMix64

    public init(me: Bytes32, digest: Bytes32, configuration: ReplicationConfiguration = .init(), seed: UInt64) {
        self.me = me; myDigest = digest; self.configuration = configuration
        rng = SplitMix64(seed: seed)
    }

    public var activeSyncs: Set<Bytes32> { active }
    public var peerCount: Int { peers.count }

    public mutating func peerUp(_ p: Bytes32) { if p != me { peers.insert(p) } }
    public mutating func peerDown(_ p: Bytes32) {
        peers.remove(p); mismatchSince[p] = nil; agreedAt[p] = nil; lastPushFrom[p] = nil; wanted.removeAll { $0 == p }
    }

    /// A member pushed entries to this node (see ``ReplicationConfiguration/inFlightGraceMillis``).
    public mutating func pushReceived(from peer: Bytes32, now: UInt64) { if peers.contains(peer) { lastPushFrom[peer] = now } }

    /// A member joined, left, or changed state (see ``ReplicationConfiguration/membershipSettleMillis``).
    public mutating func membershipChanged(now: UInt64) { membershipChangedAt = now }

    /// The local digest changed (an entry or a fork proof was stored).
    public mutating func setDigest(_ d: Bytes32, entries: UInt64) { myDigest = d; myEntries = entries }

    /// A peer's digest arrived piggybacked on a probe.
    public mutating func digestReceived(_ d: Bytes32, entries theirs: UInt64, from peer: Bytes32, now: UInt64) -> [ReplicationEffect] {
        guard d.fingerprint != myDigest.fingerprint else { mismatchSince[peer] = nil; agreedAt[peer] = now; return [] }
        // A peer whose digest moved since the mismatch began is taking in entries (pushes in
        // flight): the clock starts over. Only a digest that stayed put for the grace while still
        // differing is behind or ahead for good. The clock runs per digest, not per peer: at 200
        // nodes a node hears a given peer's digest seconds to a minute apart, so a node left
        // behind after a partition healed, surrounded by peers that all hold the same newer set,
        // would wait to hear one of them twice (in the simulator, with no periodic sync, the last
        // of 200 nodes caught up 19 s after healing). A digest that another peer has shown us for
        // the grace is as settled as one this peer has.
        var since = now
        for m in mismatchSince.values where m.theirs.fingerprint == d.fingerprint { since = min(since, m.since) }
        mismatchSince[peer] = (since, d)
        // Far behind (back from a long absence): no grace for pushes in flight, and this node
        // starts the session itself, whichever id is smaller.
        if theirs >= myEntries + configuration.farBehindEntries { return request(peer, now: now, force: false) }
        let settling = theirs == myEntries && membershipChangedAt.map { now < $0 &+ configuration.membershipSettleMillis } == true
        let inFlight = lastPushFrom[peer].map { now < $0 &+ configuration.mismatchGraceMillis } == true
        let grace = max(configuration.mismatchGraceMillis, settling ? configuration.membershipSettleMillis : 0,
                        inFlight ? configuration.inFlightGraceMillis : 0)
        guard now >= since + grace else { return [] }
        // Both sides see the mismatch, one starts: the one holding fewer entries (it is the one
        // behind, and in a large cluster it may hear this peer again long before the peer hears
        // it), on a tie the one with the smaller id, unless the other has been quiet for too
        // long (it may be unable to dial us).
        let quietTooLong = now >= (lastSync[peer] ?? 0) + 2 * configuration.syncIntervalMillis
        let mine = theirs > myEntries || (theirs == myEntries && me < peer)
        guard mine || quietTooLong else { return [] }
        return request(peer, now: now, force: false)
    }

    /// Entries were stored for the first time: where to push them. `from` is the peer they came
    /// from (nil for local writes); they never go back to it.
    public mutating func stored(_ keys: [EntryKey], from: Bytes32?, now: UInt64) -> [ReplicationEffect] {
        guard !keys.isEmpty else { return [] }
        var candidates = peers
        if let from { candidates.remove(from) }
        guard !candidates.isEmpty else { return [] }
        let n = peers.count + 1
        let fanout: Int
        var epidemic = false
        if from == nil && n <= configuration.pushToAllBelow {
            fanout = candidates.count
        } else if let from, n <= configuration.pushToAllBelow, keys.allSatisfy({ $0.author == from }) {
            fanout = configuration.firstHandRelays  // the author reached everyone it knows already
        } else {
            fanout = Int(log(Double(n)).rounded(.up)) + configuration.fanoutExtra
            epidemic = true
        }
        var list = candidates.sorted()
        list.shuffle(using: &rng)
        var targets = Array(list.prefix(fanout))
        // Random fanout alone misses a node with probability about e^-fanout per entry (at 128
        // nodes, one node of 128 for about one entry in eight, left to anti-entropy). Each holder
        // also pushes to its successor on the ring of member ids, so a node is missed only if its
        // predecessor was missed too.
        if epidemic, let next = ringSuccessor(), next != from, !targets.contains(next) { targets.append(next) }
        return [.push(keys, to: targets)]
    }

    /// The member whose id follows this node's on the ring of ids (wrapping around).
    private func ringSuccessor() -> Bytes32? {
        var after: Bytes32?, first: Bytes32?
        for p in peers {
            if first.map({ p < $0 }) ?? true { first = p }
            if p > me, after.map({ p < $0 }) ?? true { after = p }
        }
        return after ?? first
    }

    /// How often the periodic sync runs with `members` nodes in the cluster:
    /// ``ReplicationConfiguration/syncIntervalMillis`` up to 32 nodes, then once more that per
    /// doubling (64: 2 ×, 128: 3 ×), as memberlist scales its push-pull: the sessions of a
    /// cluster grow with N, not N × the interval's rate.
    public static func periodicSyncInterval(_ configuration: ReplicationConfiguration, members: Int) -> UInt64 {
        guard members > 32 else { return configuration.syncIntervalMillis }
        let doublings = UInt64((log2(Double(members)) - 5).rounded(.up))
        return configuration.syncIntervalMillis * (doublings + 1)
    }

    /// An entry from `peer` arrived before its predecessor: fetch the gap now.
    public mutating func gap(from peer: Bytes32, now: UInt64) -> [ReplicationEffect] {
        request(peer, now: now, force: true)
    }

    /// A session with `peer` started (dialled by us or by it).
    public mutating func syncStarted(_ peer: Bytes32, now: UInt64) {
        active.insert(peer)
        lastSync[peer] = now
    }

    /// A session with `peer` ended.
    public mutating func syncFinished(_ peer: Bytes32, now: UInt64) -> [ReplicationEffect] {
        active.remove(peer)
        lastSync[peer] = now
        mismatchSince[peer] = nil
        return drainWanted(now: now)
    }

    /// The earliest time at which ``tick(now:)`` has work (the periodic sync; the first tick
    /// at once, to schedule it).
    public func nextDeadline(now: UInt64) -> UInt64 {
        nextPeriodicSync == 0 ? now : nextPeriodicSync
    }

    public mutating func tick(now: UInt64) -> [ReplicationEffect] {
        var effects = drainWanted(now: now)
        // The first periodic sync comes one interval after start: at start the node already
        // dials its remembered peers and seeds, and digests on probes catch any difference.
        let interval = Self.periodicSyncInterval(configuration, members: peers.count + 1)
        if nextPeriodicSync == 0 { nextPeriodicSync = now + interval }
        if now >= nextPeriodicSync {
            nextPeriodicSync = now + interval
            // A digest rides on every probe and ack, and a mismatch opens a session by itself
            // (after its grace, from the side holding fewer entries or on a tie the smaller id,
            // or from either side once the pair has been quiet for two intervals). The periodic
            // sync is for a node that hears no digests (UDP blocked, every datagram lost): while
            // some peer agreed with us lately, digests are reaching us and it is skipped, so an
            // idle, converged cluster opens no sessions at all. A mismatch does not bring it
            // back: at 128 nodes every node's first periodic sync fell about 10 s after start,
            // within 10 s of a mismatch heard during the join wave (the digest folds in who is a
            // member), and the cluster ran about 40 sessions of two 128-record member lists after
            // it had converged.
            let window = configuration.syncIntervalMillis
            let converged = agreedAt.values.contains { now < $0 &+ window }
            if !converged, let p = peers.filter({ !active.contains($0) }).sorted().randomElement(using: &rng) {
                effects += request(p, now: now, force: true)
            }
        }
        return effects
    }

    private mutating func request(_ peer: Bytes32, now: UInt64, force: Bool) -> [ReplicationEffect] {
        guard !active.contains(peer) else { return [] }
        if !force, let last = lastSync[peer], now < last + configuration.syncCooldownMillis { return [] }
        guard active.count < configuration.maxConcurrentSyncs else {
            if !wanted.contains(peer) { wanted.append(peer) }
            return []
        }
        active.insert(peer)
        lastSync[peer] = now
        return [.sync(peer)]
    }

    private mutating func drainWanted(now: UInt64) -> [ReplicationEffect] {
        var effects: [ReplicationEffect] = []
        while active.count < configuration.maxConcurrentSyncs, !wanted.isEmpty {
            let p = wanted.removeFirst()
            if peers.contains(p), !active.contains(p) {
                active.insert(p); lastSync[p] = now
                effects.append(.sync(p))
            }
        }
        return effects
    }
}
