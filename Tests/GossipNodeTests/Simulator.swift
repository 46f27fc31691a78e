import Wire
@testable import GossipCore
@testable import GossipNode

/// A deterministic network simulator that runs the very same protocol cores as the real node:
/// membership, replication, and every sync session through the same ``SyncSession`` machine and
/// ``SessionRegistry`` (see SimulatedSessions.swift): virtual clock, seeded randomness, latency,
/// loss, partitions, crashes and restarts. Entries are modelled by (author, seq) and a size;
/// sessions carry real frames of those sizes over links with a bandwidth, and a receiver spends
/// a per-entry commit cost, so the bytes of a simulated sync are those of a real one.
final class Simulation {
    struct Config {
        var nodes = 10
        var latencyMillis: UInt64 = 5
        var jitterMillis: UInt64 = 5
        var loss = 0.0
        /// The longest a node sleeps between ticks; it ticks at its cores' next deadline, as the
        /// real node does.
        var tickMillis: UInt64 = 1_000
        var entryBytes = 300
        /// TCP throughput of one session direction, in bytes per millisecond.
        var tcpBytesPerMillisecond = 50_000
        /// What verifying and committing one received entry costs the receiver (verification
        /// overlaps the commit on the real node; this is the pipeline's rate, about 16,000/s).
        var commitMicrosPerEntry = 60
        var swim = SWIMConfiguration()
        var replication = ReplicationConfiguration()
        var seed: UInt64 = 1
    }

    final class Node {
        let id: Bytes32
        let index: Int
        /// The node's protocol, as on the real node (membership, replication, pushes).
        var core: NodeCore
        var swim: SWIM { core.swim }
        var heads: [Bytes32: UInt64] = [:]
        var held: [Bytes32: Set<UInt64>] = [:]
        var digestAcc: UInt64 = 0
        var up = true
        /// When (and after how many hops) this node first stored an entry being traced.
        var firstSeen: [EntryKey: (time: UInt64, hops: Int)] = [:]
        var bytesSent = 0
        /// When this node's timer fires next, and which timer that is (older ones are stale).
        var wakeAt: UInt64 = .max
        var timerGeneration = 0
        /// The sync sessions' shared bookkeeping and the sessions running, as on the real node.
        var registry = SessionRegistry()
        var sessions: [UInt64: SimSession] = [:]
        init(id: Bytes32, index: Int, core: NodeCore) { self.id = id; self.index = index; self.core = core }

        var digest: Bytes32 { Bytes32(w0: digestAcc, w1: UInt64(heads.count), w2: 0, w3: 0) }
        var entryCount: UInt64 { heads.values.reduce(0, +) }
    }

    enum Event {
        case tick(Int, generation: Int)
        case udp(to: Int, from: Int, packet: Packet)
        case sessionOpen(a: Int, b: Int)
        case frame(to: Int, session: UInt64, message: Message)
        case finalFrame(to: Int, session: UInt64)
        case sessionFailed(node: Int, session: UInt64)
    }

    let config: Config
    var now: UInt64 = 1_000_000
    var nodes: [Node] = []
    var rng: SplitMix64
    private var heap = EventHeap()
    var group: [Int] = []          // partition group per node
    var traced: Set<EntryKey> = []
    var messagesDelivered = 0
    var bytesOnWire = 0
    var syncs = 0
    /// Every event handled so far, folded (see ``record(_:)``).
    var trace: UInt64 = 0
    /// Dials that found nobody, per dialling node (failed after the connect timeout).
    var pendingDialFailures: [Int: [Bytes32]] = [:]
    /// Every session side that ended: who sent how many bytes to whom.
    var sessionBytes: [(from: Int, to: Int, bytes: Int, failed: Bool)] = []
    /// Node index by identity.
    var indexByID: [Bytes32: Int] = [:]

    init(_ config: Config) {
        self.config = config
        rng = SplitMix64(seed: config.seed)
        for i in 0..<config.nodes {
            let key = Self.keyPair(i)
            let id = key.publicKey
            let swim = SWIM(identity: key, address: "n\(i)", incarnation: 1, configuration: config.swim, seed: config.seed &+ UInt64(i) &* 7919,
                            acceptsAddress: { _ in true })
            let repl = ReplicationCore(me: id, digest: Bytes32(w0: 0, w1: 0, w2: 0, w3: 0), configuration: config.replication, seed: config.seed &+ UInt64(i) &* 104_729)
            nodes.append(Node(id: id, index: i, core: NodeCore(swim: swim, replication: repl)))
            indexByID[id] = i
            group.append(0)
        }
        for n in nodes {
            n.wakeAt = now + UInt64.random(in: 0..<100, using: &rng)
            schedule(.tick(n.index, generation: 0), at: n.wakeAt)
        }
    }

    /// Node `i`'s identity, derived from `i` (deterministic across runs and processes).
    static func keyPair(_ i: Int) -> SigningKeyPair {
        try! SigningKeyPair(seed: Bytes32(w0: UInt64(i) &* 0x9E37_79B9_7F4A_7C15 | 1, w1: UInt64(i), w2: 0x51, w3: 0).bytes)
    }

    /// Every node learns every other one (as after joining through a seed).
    func joinAll() {
        let updates = nodes.map { MemberUpdate(member: $0.id, address: "n\($0.index)", incarnation: 1, state: .alive) }
        for n in nodes { process(n, n.core.learn(updates, now: now)) }
    }

    /// Every node but `seed` joins as the real node does with `--seed`: it dials the seed, and the
    /// session's greeting (hello, signed member records) and SWIM gossip do the rest.
    func join(through seed: Int) {
        for n in nodes where n.index != seed {
            n.core.syncStarted(nodes[seed].id, now: now)
            startSync(n, nodes[seed])
        }
    }

    /// Every node but `seed` is started with `--seed` at the seed's address, as the real node:
    /// its core dials the seed (a session the seed refuses past its session limit, retried with
    /// backoff) until some member is alive. Nodes start within 100 ms of each other.
    func configureSeed(_ seed: Int) {
        for n in nodes where n.index != seed { n.core.addSeeds(["n\(seed)"]) }
    }

    /// True when every up node lists every other up node alive.
    func everyoneSeesEveryone() -> Bool {
        let up = upNodes
        return up.allSatisfy { n in up.allSatisfy { $0.id == n.id || n.swim.members[$0.id]?.state == .alive } }
    }

    func schedule(_ e: Event, at t: UInt64) { heap.push(t, e) }

    func run(until t: UInt64) {
        while let (time, e) = heap.peek(), time <= t {
            heap.pop()
            now = time
            record(e)
            handle(e)
        }
        now = t
    }

    /// Folds an event into ``trace``: two runs with one seed must produce the same trace, in one
    /// process or in two (no order may depend on hashing or addresses).
    private func record(_ e: Event) {
        func fold(_ values: UInt64...) { for v in values { trace = Self.mix(trace ^ v) } }
        switch e {
        case .tick(let i, let g): fold(now, 1, UInt64(i), UInt64(g))
        case .udp(let to, let from, let p): fold(now, 2, UInt64(to), UInt64(from), UInt64(p.plaintext.count), Blake2b.hash256(p.plaintext[...]).w0)
        case .sessionOpen(let a, let b): fold(now, 3, UInt64(a), UInt64(b))
        case .frame(let to, let s, let m): fold(now, 4, UInt64(to), s, Blake2b.hash256(m.frame[...]).w0)
        case .finalFrame(let to, let s): fold(now, 5, UInt64(to), s)
        case .sessionFailed(let i, let s): fold(now, 6, UInt64(i), s)
        }
    }

    /// Runs until `condition` holds (checked every `step` ms) or `limit` ms pass; returns the time taken.
    @discardableResult
    func run(until condition: () -> Bool, step: UInt64 = 10, limit: UInt64) -> UInt64? {
        let start = now
        while now < start + limit {
            if condition() { return now - start }
            run(until: now + step)
        }
        return condition() ? now - start : nil
    }

    private func handle(_ e: Event) {
        switch e {
        case .tick(let i, let generation):
            let n = nodes[i]
            guard n.up, generation == n.timerGeneration else { return }
            n.wakeAt = .max
            process(n, n.core.tick(now: now))
            reschedule(n)
        case .udp(let to, let from, let packet):
            let n = nodes[to]
            guard n.up else { return }
            messagesDelivered += 1
            let (effects, pushed) = n.core.datagram(packet, from: "n\(from)", now: now)
            process(n, effects)
            if !pushed.isEmpty { receivePush(n, entries: pushed, from: nodes[from]) }
        case .sessionOpen(let a, let b):
            openSession(nodes[a], nodes[b])
        case .frame(let to, let session, let message):
            deliver(message, to: nodes[to], session: session)
        case .finalFrame(let to, let session):
            deliverFinal(to: nodes[to], session: session)
        case .sessionFailed(let i, let session):
            closeSession(nodes[i], session, failed: true)
        }
    }

    // MARK: - Effects

    /// Moves the node's timer to its cores' next deadline when that is sooner (the node's
    /// `scheduleTick`: at least 10 ms and at most `tickMillis` ahead).
    func reschedule(_ n: Node) {
        guard n.up else { return }
        let due = min(max(n.core.nextDeadline(now: now), now + 10), now + config.tickMillis)
        guard due < n.wakeAt else { return }
        n.timerGeneration += 1
        n.wakeAt = due
        schedule(.tick(n.index, generation: n.timerGeneration), at: due)
    }

    /// Carries out the core's effects over the simulated network (as ``GossipNode/Node`` does
    /// over sockets; ``NodeCore`` is the one interpreter of the cores' effects).
    func process(_ n: Node, _ effects: [NodeCore.Effect]) {
        defer { reschedule(n) }
        for e in effects {
            switch e {
            case .datagram(let address, let messages):
                sendUDP(from: n, to: address, Packet(sender: n.id, sentAtMillis: now, messages: messages))
            case .dial(let peer, _):
                guard let b = index(of: peer), n.sessions.values.allSatisfy({ $0.peerIndex != b }) else {
                    process(n, n.core.syncFinished(peer, now: now))
                    continue
                }
                startSync(n, nodes[b])
            case .dialSeed(let address):
                // Whoever listens there (a seed's identity is not known before its session).
                guard let b = Int(address.dropFirst()), nodes.indices.contains(b), b != n.index,
                      n.sessions.values.allSatisfy({ $0.peerIndex != b }) else { continue }
                startSync(n, nodes[b])
            case .memberChanged, .memberForgotten, .liftFence:
                break
            }
        }
    }

    func index(of id: Bytes32) -> Int? { indexByID[id] }

    func reachable(_ a: Int, _ b: Int) -> Bool { nodes[a].up && nodes[b].up && group[a] == group[b] }

    func latency() -> UInt64 { config.latencyMillis + UInt64.random(in: 0...config.jitterMillis, using: &rng) }

    func sendUDP(from n: Node, to address: String, _ p: Packet) {
        guard let to = Int(address.dropFirst()) else { return }
        let size = p.plaintext.count + WireLimits.datagramOverhead
        n.bytesSent += size
        bytesOnWire += size
        guard reachable(n.index, to), Double.random(in: 0..<1, using: &rng) >= config.loss else { return }
        schedule(.udp(to: to, from: n.index, packet: p), at: now + latency())
    }

    // MARK: - The log model

    func write(at i: Int, trace: Bool = false) -> EntryKey {
        let n = nodes[i]
        let seq = (n.heads[n.id] ?? 0) + 1
        let key = EntryKey(author: n.id, seq: seq)
        if trace { traced.insert(key) }
        store(n, key, hops: 0)
        process(n, n.core.stored([(key: key, encoded: encoded(key, hops: 1))], from: nil, now: now))
        return key
    }

    /// Stores `key` if it extends its author's chain; releases held successors. Returns what was stored.
    @discardableResult
    func store(_ n: Node, _ key: EntryKey, hops: Int) -> [EntryKey] {
        let head = n.heads[key.author] ?? 0
        guard key.seq == head + 1 else {
            if key.seq > head + 1 { n.held[key.author, default: []].insert(key.seq) }
            return []
        }
        var stored: [EntryKey] = []
        var seq = key.seq
        while true {
            let k = EntryKey(author: key.author, seq: seq)
            n.digestAcc = n.digestAcc &+ Self.mix(key.author.w0 &+ seq)
            if traced.contains(k), n.firstSeen[k] == nil { n.firstSeen[k] = (now, hops) }
            stored.append(k)
            if n.held[key.author]?.remove(seq + 1) != nil { seq += 1 } else { break }
        }
        n.heads[key.author] = seq
        n.core.setLog(digest: n.digest, entries: n.entryCount)
        return stored
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        return z ^ (z >> 31)
    }

    func receivePush(_ n: Node, entries: [[UInt8]], from sender: Node) {
        var stored: [EntryKey] = []
        var gap = false
        for e in entries {
            var r = ByteReader(e)
            guard let author = try? r.bytes32(), let seq = try? r.u64(), let hops = try? r.u32() else { continue }
            let key = EntryKey(author: author, seq: seq)
            let s = store(n, key, hops: Int(hops))
            if s.isEmpty, seq > (n.heads[author] ?? 0) + 1 { gap = true }
            stored += s
        }
        process(n, n.core.stored(stored.map { (key: $0, encoded: encoded($0, hops: (n.firstSeen[$0]?.hops ?? 0) + 1)) }, from: sender.id, now: now))
        if gap { process(n, n.core.gap(from: sender.id, now: now)) }
    }

    // MARK: - Faults

    func partition(_ groups: [[Int]]) { for (g, members) in groups.enumerated() { for i in members { group[i] = g } } }
    func heal() { for i in group.indices { group[i] = 0 } }
    func crash(_ i: Int) {
        nodes[i].up = false
        // Its connections break: the peers' sides fail.
        for (id, session) in nodes[i].sessions.sorted(by: { $0.key < $1.key }) {
            schedule(.sessionFailed(node: session.peerIndex, session: session.peerSession), at: now + latency())
            nodes[i].sessions[id] = nil
        }
        nodes[i].registry = SessionRegistry()
    }

    /// Restarts a node with its log intact, a higher incarnation, and the peers it remembered.
    func restart(_ i: Int) {
        let n = nodes[i]
        n.up = true
        let known = n.swim.members.values.sorted { $0.id < $1.id }.map { MemberUpdate(member: $0.id, address: $0.address, incarnation: $0.incarnation, state: .alive) }
        let swim = SWIM(identity: Self.keyPair(i), address: "n\(i)", incarnation: n.swim.incarnation + 1, configuration: config.swim, seed: rng.next(),
                        acceptsAddress: { _ in true })
        n.core = NodeCore(swim: swim, replication: ReplicationCore(me: n.id, digest: n.digest, configuration: config.replication, seed: rng.next()))
        n.core.setLog(digest: n.digest, entries: n.entryCount)
        n.wakeAt = .max
        n.timerGeneration += 1
        process(n, n.core.learn(known, now: now))
    }

    // MARK: - Observations

    var upNodes: [Node] { nodes.filter(\.up) }
    func converged() -> Bool { let d = upNodes.first?.digest; return upNodes.allSatisfy { $0.digest == d } }
    func everyone(has key: EntryKey) -> Bool { upNodes.allSatisfy { ($0.heads[key.author] ?? 0) >= key.seq } }
}

/// A binary min-heap of timed events; ties keep insertion order.
struct EventHeap {
    private var items: [(UInt64, UInt64, Simulation.Event)] = []
    private var counter: UInt64 = 0

    mutating func push(_ t: UInt64, _ e: Simulation.Event) {
        counter += 1
        items.append((t, counter, e))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if (items[p].0, items[p].1) <= (items[i].0, items[i].1) { break }
            items.swapAt(p, i); i = p
        }
    }

    func peek() -> (UInt64, Simulation.Event)? { items.first.map { ($0.0, $0.2) } }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, (items[l].0, items[l].1) < (items[m].0, items[m].1) { m = l }
            if r < items.count, (items[r].0, items[r].1) < (items[m].0, items[m].1) { m = r }
            if m == i { break }
            items.swapAt(i, m); i = m
        }
    }
}
