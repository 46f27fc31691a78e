import CRDTLog
import Foundation
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `gossip-bench attack`: hostile input at one node's gossip port, for the reliability suite.
///
/// Holds the network key (the worst case: a member gone bad, or a stolen key) and sends
/// 10,000 datagrams (random bytes, mutated sealed packets, replays, stale packets, sealed garbage,
/// forged entries pushed over UDP) and 500 TCP connections (garbage, truncated handshakes, a wrong
/// network key, oversized and tampered frames after a real handshake, and sessions that offer
/// entries with forged signatures, broken chains and altered payloads). Prints a JSON report of
/// what it sent; the suite checks the node's side (nothing stored, counted, still healthy).
struct Attack {
    var target = (host: "127.0.0.2", port: 7420)
    var from: String?
    var networkKey: [UInt8] = []
    var rng = SplitMix64(seed: 0x5eed)
    let me = SigningKeyPair.generate()
    var report: [String: Int] = [:]

    mutating func run() throws {
        let packetKey = Packet.packetKey(networkKey: networkKey)
        let udp = try UDPSocket(bindTo: from)
        var datagrams = 0
        func send(_ bytes: [UInt8]) {
            udp.send(bytes, host: target.host, port: target.port)
            datagrams += 1
            // Pace (about 10,000/s) so the node's socket buffer is not what drops them.
            if datagrams % 10 == 0 { usleep(1_000) }
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        func sealed(_ messages: [Message], at: UInt64 = now) -> [UInt8] {
            (try? Packet(sender: me.publicKey, sentAtMillis: at, messages: messages).seal(packetKey: packetKey)) ?? []
        }
        // 4,000 random datagrams of random sizes.
        for _ in 0..<4_000 { send(randomBytes(Int(rng.next() % 1_500))) }
        // 2,500 sealed packets with one to three bytes changed.
        for i in 0..<2_500 {
            var p = sealed([.ping(probe: UInt64(i))])
            for _ in 0...(rng.next() % 3) { p[Int(rng.next() % UInt64(p.count))] ^= UInt8(1 + rng.next() % 255) }
            send(p)
        }
        // 500 captured packets re-sent (each goes twice; the second is a replay).
        for i in 0..<500 {
            let p = sealed([.ack(probe: UInt64(1_000_000 + i))])
            send(p)
            send(p)
        }
        // 1,000 stale packets (sealed an hour ago) and 1,000 authentic seals of garbage plaintext.
        for i in 0..<1_000 { send(sealed([.ping(probe: UInt64(i))], at: now - 3_600_000)) }
        for _ in 0..<1_000 {
            let nonce = Sodium.randomBytes(XChaCha20Poly1305.nonceBytes)
            let junk = randomBytes(40 + Int(rng.next() % 400))
            send([Packet.version] + nonce + XChaCha20Poly1305.seal(junk, key: packetKey, nonce: nonce, ad: [Packet.version]))
        }
        // 500 forged entries pushed over UDP, sealed with the right key.
        let victim = try handshakePeer()
        var forgedUDP = 0
        for i in 0..<500 {
            let e = forgedEntry(i, victim: victim)
            send(sealed([.push([e])]))
            forgedUDP += 1
        }
        report["datagrams"] = datagrams
        report["replayed_originals"] = 500
        report["forged_entries_udp"] = forgedUDP

        // TCP: 500 connections.
        var connections = 0
        for _ in 0..<200 {  // garbage
            if let s = try? TCPSocket(host: target.host, port: target.port, from: from) { s.send(randomBytes(1 + Int(rng.next() % 4_096))); connections += 1 }
        }
        for _ in 0..<120 {  // truncated handshakes
            let hs = HandshakeInitiator(networkKey: networkKey, identity: me)
            let m1 = hs.start()
            if let s = try? TCPSocket(host: target.host, port: target.port, from: from) { s.send(Array(m1.prefix(1 + Int(rng.next() % 63)))); connections += 1 }
        }
        for _ in 0..<60 {  // wrong network key
            let hs = HandshakeInitiator(networkKey: randomBytes(32), identity: me)
            if let s = try? TCPSocket(host: target.host, port: target.port, from: from) { s.send(hs.start()); _ = s.receive(64); connections += 1 }
        }
        var forgedTCP = 0
        for i in 0..<120 {  // real handshakes, then bad frames or forged entries
            guard let (s, keys) = try? session() else { continue }
            connections += 1
            let sealer = FrameSealer(sendKey: keys.sendKey)
            switch i % 4 {
            case 0:  // oversized frame length
                s.send(Array(try sealer.seal([]).prefix(24)) + [0xff, 0xff, 0xff, 0xf0] + randomBytes(64))
            case 1:  // tampered frame
                var f = try sealer.seal(Message.syncDone.frame)
                f[f.count - 3] ^= 0x40
                s.send(f)
            default:  // a peer that sends forged entries in a sync session
                var batch: [[UInt8]] = []
                for j in 0..<25 { batch.append(forgedEntry(i * 100 + j, victim: keys.peer)) }
                forgedTCP += batch.count
                s.send(try sealer.seal(Message.hello(versions: WireLimits.protocolVersions, agent: "attacker", address: "\(from ?? "127.0.0.1"):1").frame))
                s.send(try sealer.seal(Message.versionVector(heads: [], quarantined: []).frame))
                s.send(try sealer.seal(Message.entries(batch).frame))
                s.send(try sealer.seal(Message.syncDone.frame, final: true))
                _ = s.receive(65_536)
            }
        }
        report["tcp_connections"] = connections
        report["forged_entries_tcp"] = forgedTCP
        report["forged_entries"] = forgedTCP + forgedUDP
    }

    /// The target's author id, learned from a real handshake.
    mutating func handshakePeer() throws -> Bytes32 {
        let (_, keys) = try session()
        return keys.peer
    }

    /// A completed handshake with the target.
    func session() throws -> (TCPSocket, SessionKeys) {
        let s = try TCPSocket(host: target.host, port: target.port, from: from)
        var hs = HandshakeInitiator(networkKey: networkKey, identity: me)
        s.send(hs.start())
        guard let m2 = s.receive(exactly: Handshake.message2Bytes) else { throw AttackError.closed }
        s.send(try hs.receive(message2: m2))
        guard let m4 = s.receive(exactly: Handshake.message4Bytes) else { throw AttackError.closed }
        return (s, try hs.receive(message4: m4))
    }

    /// An entry that must be refused, of one of six kinds of forgery.
    mutating func forgedEntry(_ i: Int, victim: Bytes32) -> [UInt8] {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let payload = Array("{\"category\":\"attack\",\"content\":\"forged \(i)\"}".utf8)
        switch i % 6 {
        case 0:  // claims to be the victim, signed by the attacker
            return craft(author: victim, signer: me, seq: 1, prev: .zero, hlc: now, payload: payload)
        case 1:  // the attacker's own entry with one signature byte changed
            var e = craft(author: me.publicKey, signer: me, seq: 1, prev: .zero, hlc: now, payload: payload)
            e[e.count - payload.count - 1 - Int(rng.next() % 64)] ^= 0x01
            return e
        case 2:  // seq 1 that claims a predecessor (broken chain)
            return craft(author: me.publicKey, signer: me, seq: 1, prev: Bytes32(randomBytes(32))!, hlc: now, payload: payload)
        case 3:  // payload changed after signing
            var e = craft(author: me.publicKey, signer: me, seq: 1, prev: .zero, hlc: now, payload: payload)
            e[e.count - 2] ^= 0x20
            return e
        case 4:  // a truncated entry
            let e = craft(author: me.publicKey, signer: me, seq: 1, prev: .zero, hlc: now, payload: payload)
            return Array(e.prefix(Int(rng.next() % UInt64(e.count))))
        default:  // seq 0 (there is no such seq)
            return craft(author: me.publicKey, signer: me, seq: 0, prev: .zero, hlc: now, payload: payload)
        }
    }

    /// An entry in the wire format of docs/protocol.md, with any author, seq and prev.
    func craft(author: Bytes32, signer: SigningKeyPair, seq: UInt64, prev: Bytes32, hlc: UInt64, payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u8(LogLimits.entryFormatVersion)
        w.raw(author)
        w.u64(seq)
        w.raw(prev)
        w.u64(HLCTimestamp(millis: hlc).rawValue)
        w.u8(6); w.raw(Array("memory".utf8))
        w.u16(1); w.raw([UInt8(ascii: "k")])
        w.u32(UInt32(payload.count))
        w.raw(Blake2b.hash256(payload[...]))
        w.raw(signer.sign(LogLimits.signatureDomain + w.bytes))
        return w.bytes + payload
    }

    mutating func randomBytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n { out[i] = UInt8(truncatingIfNeeded: rng.next()) }
        return out
    }
}

enum AttackError: Error, CustomStringConvertible {
    case socket(String)
    case closed

    var description: String {
        switch self {
        case .socket(let s): "socket: \(s)"
        case .closed: "the target closed the connection during the handshake"
        }
    }
}

/// IPv4 address of `host:port` for the POSIX calls.
func socketAddress(_ host: String, _ port: Int) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &addr.sin_addr)
    return addr
}

func bindSocket(_ fd: Int32, to host: String?) throws {
    guard let host else { return }
    var a = socketAddress(host, 0)
    let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if rc != 0 { throw AttackError.socket("bind \(host): \(String(cString: strerror(errno)))") }
}

final class UDPSocket {
    let fd: Int32

    init(bindTo host: String?) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw AttackError.socket("udp socket") }
        try bindSocket(fd, to: host)
    }

    func send(_ bytes: [UInt8], host: String, port: Int) {
        var a = socketAddress(host, port)
        _ = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, bytes.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    deinit { close(fd) }
}

final class TCPSocket {
    let fd: Int32

    init(host: String, port: Int, from: String?) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AttackError.socket("tcp socket") }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        do { try bindSocket(fd, to: from) } catch { close(fd); throw error }
        var a = socketAddress(host, port)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { close(fd); throw AttackError.socket("connect: \(String(cString: strerror(errno)))") }
    }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Up to `max` bytes, or nil at end of stream / timeout.
    func receive(_ max: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    func receive(exactly n: Int) -> [UInt8]? {
        var out: [UInt8] = []
        while out.count < n {
            guard let chunk = receive(n - out.count) else { return nil }
            out += chunk
        }
        return out
    }

    deinit { close(fd) }
}
