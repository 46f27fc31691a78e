import CRDTLog
import Wire
@testable import GossipCore
@testable import GossipNode

/// Sync sessions in the simulator: the node's own ``SyncSession`` machine and ``SessionRegistry``,
/// driven over simulated TCP. A dial costs a connect and the four-message handshake (3 round
/// trips, 352 bytes); each frame is `u32 length || ciphertext` (21 bytes over the message, 24 more
/// for the stream header) and leaves after the frames before it at the link's bandwidth; a
/// receiver processes frames in order, each received entry costing ``Simulation/Config/commitMicrosPerEntry``.
extension Simulation {
    /// One side of a simulated TCP session.
    struct SimSession {
        var machine: SyncSession
        let peerIndex: Int
        var peerSession: UInt64 = 0
        /// When this side's bytes sent so far have left (the link's queue).
        var linkFreeAt: UInt64 = 0
        /// When this side has processed (committed) what it received so far.
        var busyUntil: UInt64 = 0
        var bytesSent = 0
        var headerSent = false
        var finalSent = false
        var finalReceived = false
    }

    static let handshakeBytes = 64 + 64 + 112 + 112

    /// `a` dials `b` (the replication core asked for a session).
    func startSync(_ a: Node, _ b: Node) {
        syncs += 1
        bytesOnWire += Self.handshakeBytes
        a.bytesSent += 64 + 112
        b.bytesSent += 64 + 112
        guard reachable(a.index, b.index) else {
            // Nobody answers: the dial times out.
            schedule(.sessionFailed(node: a.index, session: 0), at: now + 3_000)
            pendingDialFailures[a.index, default: []].append(b.id)
            return
        }
        // TCP connect (a round trip) and the handshake (two more).
        schedule(.sessionOpen(a: a.index, b: b.index), at: now + 3 * (latency() + latency()))
    }

    func openSession(_ a: Node, _ b: Node) {
        guard a.up, b.up, reachable(a.index, b.index) else {
            if a.up { process(a, a.core.syncFinished(b.id, now: now)) }
            return
        }
        let ra = a.registry.open(peer: b.id, now: now), rb = b.registry.open(peer: a.id, now: now)
        guard case .success(let ia) = ra, case .success(let ib) = rb else {
            // Refused (busy or at the limit): both sides give up; the replication core retries later.
            if case .success(let ia) = ra { a.registry.close(ia) }
            if case .success(let ib) = rb { b.registry.close(ib) }
            process(a, a.core.syncFinished(b.id, now: now))
            return
        }
        b.core.syncStarted(a.id, now: now)
        a.sessions[ia] = SimSession(machine: SyncSession(id: ia, peer: b.id, greeting: greeting(a), frameBytes: GossipNodeDefaults.syncFrameBytes),
                                    peerIndex: b.index, peerSession: ib)
        b.sessions[ib] = SimSession(machine: SyncSession(id: ib, peer: a.id, greeting: greeting(b), frameBytes: GossipNodeDefaults.syncFrameBytes),
                                    peerIndex: a.index, peerSession: ia)
        pump(a, ia)
        pump(b, ib)
    }

    func greeting(_ n: Node) -> [Message] {
        [.hello(versions: WireLimits.protocolVersions, agent: "gossip-node/\(GossipNodeVersion.current)", address: n.swim.myAddress),
         .members(Array(n.swim.signedRecords.prefix(WireLimits.maxMemberUpdates)))]
    }

    /// The node's version vector in the model (head ids derived from author and seq).
    func vector(_ n: Node) -> VersionVector {
        var heads: [Bytes32: AuthorHead] = [:]
        for (author, seq) in n.heads { heads[author] = AuthorHead(seq: seq, head: Self.headID(author, seq), hlc: HLCTimestamp(rawValue: 0)) }
        return VersionVector(heads: heads, quarantined: [])
    }

    static func headID(_ author: Bytes32, _ seq: UInt64) -> Bytes32 { Bytes32(w0: mix(author.w0 &+ seq), w1: seq, w2: author.w1, w3: author.w2) }

    /// A stand-in for an encoded entry of `entryBytes`: author, seq and hop count, then padding.
    func encoded(_ key: EntryKey, hops: Int) -> [UInt8] {
        var w = ByteWriter(capacity: config.entryBytes)
        w.raw(key.author); w.u64(key.seq); w.u32(UInt32(hops))
        w.raw([UInt8](repeating: 0, count: max(0, config.entryBytes - 44)))
        return w.bytes
    }

    /// Carries out what the session's sending half asks, until it waits.
    func pump(_ n: Node, _ id: UInt64) {
        while var s = n.sessions[id] {
            let output = s.machine.next()
            switch output {
            case .frame(let m):
                let size = 4 + 17 + m.frame.count + (s.headerSent ? 0 : 24)
                s.headerSent = true
                send(&s, from: n, size: size)
                n.sessions[id] = s
                guard reachable(n.index, s.peerIndex) else { breakSession(n, id); return }
                schedule(.frame(to: s.peerIndex, session: s.peerSession, message: m), at: s.linkFreeAt + latency())
            case .announceVector:
                s.machine.vectorAnnounced(SyncPlan.messages(vector(n), promised: n.registry.promises(to: id, now: now)))
                n.registry.announced(id)
                n.sessions[id] = s
            case .plan(let theirs, let q):
                s.machine.planned(SyncPlan.toSend(mine: vector(n), theirs: theirs, theirQuarantined: q), registry: &n.registry)
                n.sessions[id] = s
            case .read(let author, let after, let limit, _):
                let head = n.heads[author] ?? 0
                let upTo = min(head, after + UInt64(limit))
                var entries: [(seq: UInt64, encoded: [UInt8])] = []
                if after < upTo {
                    for seq in (after + 1)...upTo {
                        let k = EntryKey(author: author, seq: seq)
                        entries.append((seq: seq, encoded: encoded(k, hops: (n.firstSeen[k]?.hops ?? 0) + 1)))
                    }
                }
                s.machine.entriesRead(entries)
                n.sessions[id] = s
            case .readForkProofs:
                s.machine.forkProofsRead([])
                n.sessions[id] = s
            case .finalFrame:
                send(&s, from: n, size: 21)
                s.finalSent = true
                n.sessions[id] = s
                schedule(.finalFrame(to: s.peerIndex, session: s.peerSession), at: s.linkFreeAt + latency())
                if s.finalReceived { closeSession(n, id, failed: false) }
                return
            case .wait, .finished:
                n.sessions[id] = s
                return
            }
        }
    }

    private func send(_ s: inout SimSession, from n: Node, size: Int) {
        s.bytesSent += size
        n.bytesSent += size
        bytesOnWire += size
        let start = max(now, s.linkFreeAt)
        s.linkFreeAt = start + UInt64(max(1, size / max(1, config.tcpBytesPerMillisecond)))
    }

    /// A frame arrives: processed after the frames before it (the receiver may be committing).
    func deliver(_ message: Message, to n: Node, session id: UInt64) {
        guard n.up, var s = n.sessions[id] else { return }
        if s.busyUntil > now {
            schedule(.frame(to: n.index, session: id, message: message), at: s.busyUntil)
            return
        }
        let peer = nodes[s.peerIndex]
        let effects: [SyncSession.Effect]
        do { effects = try s.machine.receive(message, registry: &n.registry) } catch {
            n.sessions[id] = s
            breakSession(n, id)
            return
        }
        for effect in effects {
            switch effect {
            case .learnPeer(let address):
                if n.swim.members[peer.id] == nil {
                    process(n, n.core.learn([MemberUpdate(member: peer.id, address: address, incarnation: 0, state: .alive)], now: now))
                }
            case .records(let records):
                process(n, n.core.receive(records: records, now: now))
            case .ingest(let batch):
                var got: [EntryKey] = []
                for e in batch {
                    var r = ByteReader(e)
                    guard let author = try? r.bytes32(), let seq = try? r.u64(), let hops = try? r.u32() else { continue }
                    got += store(n, EntryKey(author: author, seq: seq), hops: Int(hops))
                }
                s.machine.stored(got.count, now: now, registry: &n.registry)
                s.busyUntil = now + UInt64(batch.count * config.commitMicrosPerEntry / 1000)
                // A session that brought a few entries passes them on; a catch-up does not.
                if !got.isEmpty, got.count <= GossipNodeDefaults.pushAfterSyncMax {
                    n.sessions[id] = s
                    process(n, n.core.stored(got.map { (key: $0, encoded: encoded($0, hops: (n.firstSeen[$0]?.hops ?? 0) + 1)) }, from: peer.id, now: now))
                    guard let again = n.sessions[id] else { return }
                    s = again
                }
            case .commitAll:
                s.machine.committedAll()
            case .forkProofs, .vectorsSettled:
                break
            }
        }
        n.sessions[id] = s
        pump(n, id)
    }

    func deliverFinal(to n: Node, session id: UInt64) {
        guard n.up, var s = n.sessions[id] else { return }
        if s.busyUntil > now {
            schedule(.finalFrame(to: n.index, session: id), at: s.busyUntil)
            return
        }
        s.finalReceived = true
        n.sessions[id] = s
        guard (try? s.machine.peerFinished()) != nil else { breakSession(n, id); return }
        if s.finalSent { closeSession(n, id, failed: false) } else { pump(n, id) }
    }

    /// The connection broke (partition, crash, protocol error): both sides fail.
    func breakSession(_ n: Node, _ id: UInt64) {
        guard let s = n.sessions[id] else { return }
        schedule(.sessionFailed(node: s.peerIndex, session: s.peerSession), at: now + latency())
        closeSession(n, id, failed: true)
    }

    func closeSession(_ n: Node, _ id: UInt64, failed: Bool) {
        if id == 0 {
            // A dial that never connected.
            guard n.up, var waiting = pendingDialFailures[n.index], !waiting.isEmpty else { return }
            let peer = waiting.removeFirst()
            pendingDialFailures[n.index] = waiting
            process(n, n.core.syncFinished(peer, now: now))
            return
        }
        guard let s = n.sessions[id] else { return }
        n.sessions[id] = nil
        n.registry.close(id)
        sessionBytes.append((from: n.index, to: s.peerIndex, bytes: s.bytesSent, failed: failed))
        if n.up { process(n, n.core.syncFinished(s.machine.peer, completed: !failed, now: now)) }
    }
}
