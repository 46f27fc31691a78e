import Foundation
import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// Finding peers without a seed, and never losing the way back.
@Suite("Discovery and the way back")
struct DiscoveryTests {
    static let fixture = OpenAPITests.root.appendingPathComponent("scripts/fixtures/tailscale-status.json").path

    @Test func theTailnetsOnlinePeersAreFoundWithTheGossipPort() throws {
        let json = Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixture)))
        let found = Discovery.tailnetAddresses(statusJSON: json, port: 7420)
        // build-server (IPv4 first), v6-only-box (its IPv6); desktop is offline; this host is left out.
        #expect(found == ["100.64.0.11:7420", "[fd7a:115c:a1e0::d01]:7420"])
        #expect(Discovery.tailnetAddresses(statusJSON: Array("{\"BackendState\":\"Stopped\"}".utf8), port: 7420).isEmpty)
        #expect(Discovery.tailnetAddresses(statusJSON: Array("not json".utf8), port: 7420).isEmpty)
    }

    @Test func aPeersFileNamesAddressesOnePerLine() {
        let text = "# the office\n10.0.0.5:7420\n10.0.0.6   # no port: the gossip port\n\nhost.example:7420\n[fd00::1]:9000\n"
        #expect(Discovery.peersFileAddresses(text: text, defaultPort: 7420) == ["10.0.0.5:7420", "10.0.0.6:7420", "[fd00::1]:9000"])
    }

    @Test func theStandInCommandIsRunAndItsOutputRead() throws {
        let d = Discovery(sources: [.tailscale(executable: "/bin/cat")], port: 7420)
        // `cat status --json` fails (no such files): nothing, no trap.
        #expect(d.addresses().isEmpty)
        #expect(Subprocess.output(of: "/bin/echo", ["hello"], timeoutMillis: 2_000, limit: 100) == Array("hello\n".utf8))
        #expect(Subprocess.output(of: "/bin/sleep", ["5"], timeoutMillis: 100, limit: 100) == nil)  // killed at its time
        #expect(Subprocess.output(of: "/nonexistent", [], timeoutMillis: 100, limit: 100) == nil)
        #expect(Discovery.findExecutable("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(Discovery.findExecutable("no-such-tool", path: "/bin:/usr/bin") == nil)
    }

    static func key(_ n: UInt8) -> SigningKeyPair { try! SigningKeyPair(seed: [UInt8](repeating: n, count: 32)) }
    let t0: UInt64 = 1_000_000

    func lonelyCore() -> NodeCore {
        var config = SWIMConfiguration()
        config.deadRetentionMillis = 5_000
        let me = Self.key(1)
        var c = NodeCore(swim: SWIM(identity: me, address: "10.0.0.1:7420", incarnation: 10, configuration: config, seed: 1),
                         replication: ReplicationCore(me: me.publicKey, digest: .zero, seed: 2), reconnectIntervalMillis: 1_000)
        _ = c.learn([MemberUpdate(member: Self.key(2).publicKey, address: "10.0.0.2:7420", incarnation: 1, state: .alive)], now: t0)
        return c
    }

    @Test func discoveredAddressesAreDialledUnlessAliveThereOrOurOwn() {
        let c = lonelyCore()
        #expect(c.discovered(["10.0.0.2:7420", "10.0.0.3:7420", "10.0.0.1:7420"]) == [.dialSeed("10.0.0.3:7420")])
    }

    @Test func aNodeAloneKeepsItsLastPeersAndRetriesThemWithBackoff() {
        var c = lonelyCore()
        let peer = Self.key(2).publicKey
        // The only peer stops answering: suspect, then dead.
        var t = t0
        for _ in 0..<40 { t += 500; _ = c.tick(now: t) }
        #expect(c.swim.members[peer]?.state == .dead)
        // Long past forget-dead-after: still remembered (no member is alive), and dialled again,
        // each time after a longer pause.
        var dials: [UInt64] = []
        for _ in 0..<2_000 {
            t += 500
            if c.tick(now: t).contains(where: { if case .dial(let p, _) = $0 { p == peer } else { false } }) { dials.append(t) }
        }
        #expect(c.swim.members[peer] != nil, "forgotten while alone")
        #expect(dials.count >= 4)
        let gaps = zip(dials.dropFirst(), dials).map { $0 - $1 }
        #expect(gaps == gaps.sorted(), "pauses do not grow: \(gaps)")
        #expect(gaps.last! <= NodeCore.maxLonelyBackoffMillis + 500)
    }
}
