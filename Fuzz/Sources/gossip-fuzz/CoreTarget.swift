import CRDTLog
import GossipCore
import Wire

/// The `core` target: decoded messages straight into the protocol cores, as a hostile member
/// holding the network key would deliver them (the seal is no barrier to it). The input is a
/// sequence of datagram plaintexts, each preceded by a 2-byte length and a 1-byte time step.
///
/// Checked on every input: nothing traps (overflow, bounds); a known member's address never
/// moves without its own signature (which the fuzzer cannot forge); the member table and the
/// relays stay within their limits; incarnations stay below 2^64 - 1; replication never asks to
/// push to or sync with itself.
enum CoreTarget {
    static let me = try! SigningKeyPair(seed: [UInt8](repeating: 0x31, count: 32))
    static let alice = try! SigningKeyPair(seed: [UInt8](repeating: 0x32, count: 32))
    static let aliceAddress = "10.0.0.2:7420"

    static func run(_ bytes: [UInt8]) {
        var config = SWIMConfiguration.fast
        config.maxMembers = 64
        config.maxRelays = 8
        var swim = SWIM(identity: me, address: "10.0.0.1:7420", incarnation: 1_000, configuration: config, seed: 7)
        var repl = ReplicationCore(me: me.publicKey, digest: .zero, configuration: .fast, seed: 8)
        var replay = ReplayFilter(capacity: 64)
        var now: UInt64 = 1_767_225_600_000
        _ = swim.learn([MemberUpdate(member: alice.publicKey, address: aliceAddress, incarnation: 5, state: .alive)], now: now)
        repl.peerUp(alice.publicKey)
        var r = ByteReader(bytes)
        while r.remaining >= 3 {
            guard let length = try? Int(r.u16()), let step = try? r.u8(), let body = try? r.raw(min(length, r.remaining)) else { break }
            now &+= UInt64(step) * 50
            _ = replay.check(nonce: Array(body.prefix(24)), sentAtMillis: body.count >= 8 ? body.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } : 0, now: now)
            guard let packet = try? Packet.decode(plaintext: body) else { continue }
            check(swim.handle(packet, from: "192.0.2.1:9", now: now), repl: &repl, swim: swim)
            for m in packet.messages {
                switch m {
                case .digest(let d, let n):
                    check(repl.digestReceived(d, entries: n, from: packet.sender, now: now))
                case .push(let entries):
                    for e in entries { _ = try? ForkProof(first: e, second: entries.first ?? []) }
                    check(repl.gap(from: packet.sender, now: now))
                case .versionVector(let heads, let quarantined):
                    let mine = VersionVector(heads: [alice.publicKey: AuthorHead(seq: 3, head: .zero, hlc: HLCTimestamp(rawValue: 1))], quarantined: [])
                    for (_, after) in SyncPlan.toSend(mine: mine, theirs: heads, theirQuarantined: Set(quarantined)) { precondition(after < 3) }
                    _ = SyncPlan.messages(mine, promised: heads)
                default: break
                }
            }
            check(swim.tick(now: now), repl: &repl, swim: swim)
            check(repl.tick(now: now))
            precondition(swim.members[alice.publicKey].map { $0.address == aliceAddress } ?? true, "an unsigned claim moved a member")
            precondition(swim.members.count <= config.maxMembers, "the member table grew past its limit")
            precondition(swim.incarnation < UInt64.max, "incarnation at the top")
        }
    }

    static func check(_ effects: [MembershipEffect], repl: inout ReplicationCore, swim: SWIM) {
        for e in effects {
            switch e {
            case .send(let address, _, _): precondition(!address.hasPrefix("192.0.2."), "a reply went to the datagram's source")
            case .changed(let u): if u.state == .alive { repl.peerUp(u.member) } else { repl.peerDown(u.member) }
            case .forget(let id): repl.peerDown(id)
            }
        }
    }

    static func check(_ effects: [ReplicationEffect]) {
        for e in effects {
            switch e {
            case .push(_, let peers): precondition(!peers.contains(me.publicKey), "push to itself")
            case .sync(let p): precondition(p != me.publicKey, "sync with itself")
            }
        }
    }
}
