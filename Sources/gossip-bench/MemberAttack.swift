import CRDTLog
import Foundation
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `gossip-bench attack --member`: a hostile member at one node, holding the network key and
/// an identity of its own, trying each attack of issue 12 against the node's rules. Prints a
/// JSON report of what it sent and what it saw the node do; `scripts/reliability member` checks
/// the nodes' side (all up, nothing invalid stored, no one's view moved, honest writes flowing).
///
/// - `victim`: another member's author id, whose address and incarnation the attacker tries to
///   move and whose quota it tries to drain.
/// - `listen`: an address the attacker watches; the node is asked to ping it and must not.
struct MemberAttack {
    var target = (host: "127.0.0.2", port: 7420)
    var from: String
    var listen = (host: "127.0.0.61", port: 9999)
    var victim: Bytes32
    var networkKey: [UInt8]
    var base = Attack()
    var report: [String: Int] = [:]
    let me = SigningKeyPair.generate()

    init(target: (String, Int), from: String, victim: Bytes32, networkKey: [UInt8]) {
        self.target = target; self.from = from; self.victim = victim; self.networkKey = networkKey
        base.target = target; base.from = from; base.networkKey = networkKey
    }

    var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    mutating func run() throws {
        let packetKey = Packet.packetKey(networkKey: networkKey)
        let udp = try UDPSocket(bindTo: from)
        let watch = try UDPSocket(bindTo: listen.host, port: listen.port)
        var datagrams = 0
        func send(_ p: Packet) {
            guard let sealed = try? p.seal(packetKey: packetKey) else { return }
            udp.send(sealed, host: target.host, port: target.port)
            datagrams += 1
            if datagrams % 10 == 0 { usleep(1_000) }
        }
        func packet(sender: Bytes32? = nil, at: UInt64? = nil, _ ms: [Message]) -> Packet {
            Packet(sender: sender ?? me.publicKey, sentAtMillis: at ?? now, messages: ms)
        }
        let myAddress = "\(from):\(7420)"
        let listenAddress = "\(listen.host):\(listen.port)"
        let mine = MemberUpdate(member: me.publicKey, address: myAddress, incarnation: now, state: .alive).signed(by: me)

        // 1. Numbers at the edge: sealed times near 2^64 (the old replay filter's `sent_at + window`).
        for t in [UInt64.max, UInt64.max - 60_000, UInt64(Int64.max) + 1, WireLimits.maxTimestampMillis + 1] {
            for i in 0..<25 { send(packet(at: t, [.ping(probe: UInt64(i))])) }
        }
        report["sent_at_overflow"] = 100
        // 2. Incarnation 2^64 - 1 and 2^64 - 2 about the victim and about the node itself.
        var w = ByteWriter()
        w.raw(me.publicKey); w.u64(now)
        w.u8(8); var body = ByteWriter(); body.varint(1); body.raw(victim); body.string(listenAddress); body.varint(.max); body.u8(2)
        w.lengthPrefixed(body.bytes)
        for _ in 0..<50 {
            let nonce = Sodium.randomBytes(XChaCha20Poly1305.nonceBytes)
            udp.send([Packet.version] + nonce + XChaCha20Poly1305.seal(w.bytes, key: packetKey, nonce: nonce, ad: [Packet.version]), host: target.host, port: target.port)
            datagrams += 1
        }
        let targetID = try base.handshakePeer()
        for who in [victim, targetID] {
            for state in [MemberState.suspect, .dead] {
                send(packet([.members([MemberUpdate(member: who, address: listenAddress, incarnation: WireLimits.maxIncarnation, state: state)])]))
            }
        }
        report["incarnation_overflow"] = 54
        // 3. Moving the victim: unsigned, signed by the attacker, and a datagram in its name.
        for inc in [now + 10_000, now + 1_000_000_000, WireLimits.maxIncarnation] {
            let unsigned = MemberUpdate(member: victim, address: listenAddress, incarnation: inc, state: .alive)
            var forged = unsigned
            forged.signature = me.sign(forged.signingBytes)
            send(packet([.members([unsigned])]))
            send(packet([.members([forged])]))
            send(packet([.members([MemberUpdate(member: victim, address: listenAddress, incarnation: inc, state: .left, signature: me.sign(unsigned.signingBytes))])]))
        }
        for i in 0..<50 { send(packet(sender: victim, [.ping(probe: 50_000 + UInt64(i))])) }  // acks must go to the victim, not here
        report["address_hijacks"] = 59
        // 4. Invented members (unsigned records of random ids).
        for _ in 0..<20 {
            send(packet([.members((0..<8).map { _ in MemberUpdate(member: Bytes32(Sodium.randomBytes(32))!, address: listenAddress, incarnation: 1, state: .alive) })]))
        }
        report["invented_members"] = 160
        // 5. The attacker joins for real (its own signed record), then asks the node to ping the
        //    watched address in the victim's name, and for members that do not exist.
        send(packet([.members([mine]), .ping(probe: 1)]))
        usleep(200_000)
        for i in 0..<50 {
            send(packet([.pingRequest(probe: 60_000 + UInt64(i), target: victim, address: listenAddress)]))
            send(packet([.pingRequest(probe: 70_000 + UInt64(i), target: Bytes32(Sodium.randomBytes(32))!, address: listenAddress)]))
        }
        report["ping_requests"] = 100
        // 6. Fork proofs and pushes of headers at seq 2^64 - 1 (`x.seq + 1` before the signature check).
        let top1 = base.craft(author: me.publicKey, signer: me, seq: .max, prev: Bytes32(Sodium.randomBytes(32))!, hlc: now, payload: [])
        let top2 = base.craft(author: me.publicKey, signer: me, seq: .max - 1, prev: Bytes32(Sodium.randomBytes(32))!, hlc: now, payload: [])
        for _ in 0..<20 { send(packet([.push([top1, top2])])) }
        report["seq_overflow_udp"] = 40
        report["datagrams"] = datagrams

        // TCP.
        // 7. Fork proofs at the top of the seq range, in a session.
        if let (s, keys) = try? base.session() {
            let sealer = FrameSealer(sendKey: keys.sendKey)
            s.send(try sealer.seal(Message.hello(versions: WireLimits.protocolVersions, agent: "member-attack", address: myAddress).frame))
            s.send(try sealer.seal(Message.forkProofs([ForkProofHeaders(first: top1, second: top2)]).frame))
            s.send(try sealer.seal(Message.versionVector(heads: [], quarantined: []).frame))
            s.send(try sealer.seal(Message.syncDone.frame, final: true))
            _ = s.receive(65_536)
            report["fork_proof_overflow"] = 1
        }
        // 8. A version vector past the author limit (in parts), and a large one within it.
        report["vector_over_limit_closed"] = try vectorFlood(authors: 300_000) ? 1 : 0
        report["vector_within_limit_closed"] = try vectorFlood(authors: 100_000) ? 1 : 0
        // 9. Forged stubs in the victim's name (a quota drain before the signature check).
        var stubs = 0
        for round in 0..<4 {
            guard let (s, keys) = try? base.session() else { continue }
            let sealer = FrameSealer(sendKey: keys.sendKey)
            s.send(try sealer.seal(Message.versionVector(heads: [], quarantined: []).frame))
            let batch = (0..<1_000).map { i -> [UInt8] in
                // Well-formed (they decode, name the victim and a seq), only the signature is wrong.
                let seq = UInt64(round * 1_000 + i + 1)
                return base.craft(author: victim, signer: me, seq: seq, prev: seq == 1 ? .zero : Bytes32(Sodium.randomBytes(32))!, hlc: now, payload: [])
            }
            s.send(try sealer.seal(Message.entries(batch).frame))
            s.send(try sealer.seal(Message.syncDone.frame, final: true))
            _ = s.receive(65_536)
            stubs += batch.count
        }
        report["forged_stubs"] = stubs
        // 10. Throwaway authors: one valid entry from each of 1,000 fresh keys.
        if let (s, keys) = try? base.session() {
            let sealer = FrameSealer(sendKey: keys.sendKey)
            s.send(try sealer.seal(Message.versionVector(heads: [], quarantined: []).frame))
            let batch = (0..<1_000).map { i -> [UInt8] in
                let k = SigningKeyPair.generate()
                return base.craft(author: k.publicKey, signer: k, seq: 1, prev: .zero, hlc: now,
                                  payload: Array("{\"category\":\"throwaway\",\"content\":\"author \(i)\"}".utf8))
            }
            s.send(try sealer.seal(Message.entries(batch).frame))
            s.send(try sealer.seal(Message.syncDone.frame, final: true))
            _ = s.receive(65_536)
            report["throwaway_authors"] = batch.count
        }
        // 11. Connections that never finish a handshake.
        var held: [TCPSocket] = []
        for _ in 0..<200 { if let s = try? TCPSocket(host: target.host, port: target.port, from: from) { held.append(s) } }
        report["handshake_flood"] = held.count
        held.removeAll()
        usleep(300_000)
        // 12. A stalled session: 1,001 empty entries (the old global "bulk" state), then half of a
        //     large frame and a byte now and then. Meanwhile another session must not be refused busy.
        report["stalled_session_seconds"] = -1
        if let (s, keys) = try? base.session() {
            let sealer = FrameSealer(sendKey: keys.sendKey)
            s.send(try sealer.seal(Message.versionVector(heads: [], quarantined: []).frame))
            s.send(try sealer.seal(Message.entries([[UInt8]](repeating: [], count: 1_001)).frame))
            usleep(500_000)
            // A second session while the first is "bulk": it gets the node's greeting.
            if let (s2, keys2) = try? base.session() {
                let opener = FrameOpener(receiveKey: keys2.receiveKey)
                var frames = 0
                while frames == 0, let chunk = s2.receive(65_536) { frames += ((try? opener.receive(chunk)) ?? []).count }
                report["second_session_greeted"] = frames > 0 ? 1 : 0
            }
            let big = try sealer.seal([UInt8](repeating: 0, count: 1 << 20))
            s.send(Array(big.prefix(4_096)))
            let started = Date()
            var closed = false
            var rest = Array(big.dropFirst(4_096))
            while !closed, Date().timeIntervalSince(started) < 90 {
                s.send(Array(rest.prefix(1)))
                rest.removeFirst()
                closed = s.waitClosed(seconds: 5)
            }
            report["stalled_session_seconds"] = closed ? Int(Date().timeIntervalSince(started).rounded()) : -1
        }
        // What reached the watched address (the node must never ping it).
        report["datagrams_to_watched_address"] = watch.drain()
    }

    /// Opens a session and announces a version vector of `authors` random heads in parts; true
    /// when the node closed the session before the vector's last part was answered.
    mutating func vectorFlood(authors: Int) throws -> Bool {
        guard let (s, keys) = try? base.session() else { return false }
        let sealer = FrameSealer(sendKey: keys.sendKey)
        var heads: [VersionVectorHead] = []
        heads.reserveCapacity(authors)
        for _ in 0..<authors { heads.append(VersionVectorHead(author: Bytes32(Sodium.randomBytes(32))!, seq: 1, head: Bytes32(Sodium.randomBytes(32))!)) }
        let part = WireLimits.versionVectorPartHeads
        var i = 0
        while authors - i > part {
            s.send(try sealer.seal(Message.versionVectorPart(heads: Array(heads[i..<(i + part)])).frame))
            i += part
        }
        s.send(try sealer.seal(Message.versionVector(heads: Array(heads[i...]), quarantined: []).frame))
        s.send(try sealer.seal(Message.syncDone.frame, final: true))
        // The node either answers (and ends the session) or closes it on us.
        let opener = FrameOpener(receiveKey: keys.receiveKey)
        var finished = false
        while let chunk = s.receive(1 << 20) {
            guard (try? opener.receive(chunk)) != nil else { break }
            if opener.peerFinished { finished = true; break }
        }
        return !finished
    }
}

extension UDPSocket {
    convenience init(bindTo host: String, port: Int) throws {
        try self.init(bindTo: nil)
        var a = socketAddress(host, port)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { throw AttackError.socket("bind \(host):\(port): \(String(cString: strerror(errno)))") }
    }

    /// How many datagrams are waiting (read without blocking).
    func drain() -> Int {
        var n = 0
        var buf = [UInt8](repeating: 0, count: 2_048)
        while buf.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, 2_048, Int32(MSG_DONTWAIT)) }) >= 0 { n += 1 }
        return n
    }
}

extension TCPSocket {
    /// Waits up to `seconds` for the peer to close; true when it did.
    func waitClosed(seconds: Int) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return false }
        var b = [UInt8](repeating: 0, count: 4_096)
        let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4_096, Int32(MSG_DONTWAIT)) }
        return n == 0 || (n < 0 && errno != EAGAIN)
    }
}
