import CRDTLog
import Foundation
import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// Polls `condition` every 20 ms until it holds or its time is up.
///
/// `seconds` is how long the condition takes on an idle machine; the wait allows six times that,
/// because these tests share two cores with every other suite running in parallel (a starved
/// node is slow, not wrong). None of these waits is a timing target: those are in scripts/bench.
func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds * 6)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Real NIO shells on real sockets: five nodes in one process on 127.0.0.2-6.
@Suite("Sockets", .serialized)
struct SocketClusterTests {
    static let networkKey = [UInt8](repeating: 0x42, count: 32)

    struct Running {
        let node: Node
        let task: Task<Void, any Error>
    }

    static func start(_ i: Int, seeds: [HostPort], networkKey: [UInt8] = networkKey,
                      configure: (inout NodeConfiguration) -> Void = { _ in }) async throws -> Running {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-sock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let identity = SigningKeyPair.generate()
        let store = try LogStore(path: dir + "/node.db", identity: identity, configuration: .init(durableCommits: false))
        var c = NodeConfiguration()
        c.bind = HostPort(host: "127.0.0.\(2 + i)", port: 0)
        c.seeds = seeds
        c.swim = .fast
        c.tickMillis = 40
        c.replication = .fast
        c.restoreGraceMillis = 0
        configure(&c)
        let node = Node(identity: identity, networkKey: networkKey, store: store, configuration: c)
        let task = Task { try await node.run() }
        #expect(await eventually(5) { await node.isBound })
        return Running(node: node, task: task)
    }

    @Test func fiveNodesReplicateEntriesWrittenOnEach() async throws {
        let first = try await Self.start(0, seeds: [])
        let seed = HostPort(host: "127.0.0.2", port: try #require(await first.node.boundPort))
        var nodes = [first]
        for i in 1..<5 { nodes.append(try await Self.start(i, seeds: [seed])) }
        defer { for n in nodes { n.task.cancel() } }
        #expect(await eventually(10) {
            for n in nodes where await n.node.memberCounts().alive != 4 { return false }
            return true
        }, "membership did not settle")
        for (i, n) in nodes.enumerated() {
            let payload = PayloadCoding.encode(MemoryPayload(category: "test", content: "written on node \(i)", host: "n\(i)"))
            _ = try await n.node.write(kind: EntryKind.memory, key: "k", payload: payload)
        }
        let converged = await eventually(15) {
            var digests = Set<Bytes32>()
            for n in nodes {
                guard await n.node.store.entryCount() == 5 else { return false }
                digests.insert(await n.node.store.digest())
            }
            return digests.count == 1
        }
        #expect(converged, "five nodes did not converge")
        let recall = try await nodes[4].node.store.memories(MemoryQuery(text: "written node"))
        #expect(recall.count == 5)
    }

    @Test func nodeWithWrongNetworkKeyLearnsNothing() async throws {
        let a = try await Self.start(0, seeds: [])
        let seed = HostPort(host: "127.0.0.2", port: try #require(await a.node.boundPort))
        let b = try await Self.start(1, seeds: [seed])
        let intruder = try await Self.start(2, seeds: [seed], networkKey: [UInt8](repeating: 0x66, count: 32))
        defer { a.task.cancel(); b.task.cancel(); intruder.task.cancel() }
        _ = try await a.node.write(kind: EntryKind.memory, key: "secret", payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "secret")))
        #expect(await eventually(10) { await b.node.store.entryCount() == 1 })
        #expect(await intruder.node.store.entryCount() == 0)
        #expect(await a.node.members().allSatisfy { $0.id != intruder.node.identity.publicKey })
        #expect(await intruder.node.memberCounts().alive == 0)
        #expect(await eventually(10) {
            let m = await a.node.metrics
            return m.packetsDropped["unauthenticated", default: 0] + m.sessionsRejected["network_key_mismatch", default: 0] > 0
        })
    }
}

@Suite("Sockets: restore and sync cost", .serialized)
struct SocketRestoreTests {
    static func node(dir: String, identity: SigningKeyPair, bind: String, seeds: [HostPort], grace: UInt64) throws -> Node {
        let store = try LogStore(path: dir + "/node.db", identity: identity, configuration: .init(durableCommits: false))
        var c = NodeConfiguration()
        c.bind = HostPort(host: bind, port: 0)
        c.seeds = seeds
        c.swim = .fast
        c.tickMillis = 40
        c.replication = .fast
        c.restoreGraceMillis = grace
        return Node(identity: identity, networkKey: SocketClusterTests.networkKey, store: store, configuration: c)
    }

    static func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-restore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A node whose database is restored from an old copy learns its own newer entries from a
    /// peer before it writes again, so it does not fork itself.
    @Test func restoredDatabaseDoesNotFork() async throws {
        let aDir = try Self.tempDir(), bDir = try Self.tempDir(), backup = try Self.tempDir()
        let aID = SigningKeyPair.generate()
        let b = try Self.node(dir: bDir, identity: .generate(), bind: "127.0.0.7", seeds: [], grace: 0)
        let bTask = Task { try await b.run() }
        defer { bTask.cancel() }
        #expect(await eventually(5) { await b.isBound })
        let seed = HostPort(host: "127.0.0.7", port: try #require(await b.boundPort))
        var a = try Self.node(dir: aDir, identity: aID, bind: "127.0.0.8", seeds: [seed], grace: 0)
        var aTask = Task { [a] in try await a.run() }
        #expect(await eventually(5) { await a.isBound })
        func memory(_ i: Int) -> [UInt8] { PayloadCoding.encode(MemoryPayload(category: "c", content: "note \(i)")) }
        _ = try await a.write(kind: "memory", key: "k1", payload: memory(1))
        _ = try await a.write(kind: "memory", key: "k2", payload: memory(2))
        // The backup: a copy of the database with two entries.
        await a.store.close()
        aTask.cancel()
        _ = await aTask.result
        try FileManager.default.copyItem(atPath: aDir + "/node.db", toPath: backup + "/node.db")
        a = try Self.node(dir: aDir, identity: aID, bind: "127.0.0.8", seeds: [seed], grace: 0)
        aTask = Task { [a] in try await a.run() }
        #expect(await eventually(5) { await a.isBound })
        for i in 3...5 { _ = try await a.write(kind: "memory", key: "k\(i)", payload: memory(i)) }
        #expect(await eventually(10) { await b.store.head(of: aID.publicKey)?.seq == 5 })
        await a.store.close()
        aTask.cancel()
        _ = await aTask.result
        // Restore the old copy (seq 2) and start again: writes wait until B has told us seq 5.
        try FileManager.default.removeItem(atPath: aDir + "/node.db")
        try? FileManager.default.removeItem(atPath: aDir + "/node.db-wal")
        try? FileManager.default.removeItem(atPath: aDir + "/node.db-shm")
        try FileManager.default.copyItem(atPath: backup + "/node.db", toPath: aDir + "/node.db")
        let restored = try Self.node(dir: aDir, identity: aID, bind: "127.0.0.8", seeds: [seed], grace: 30_000)
        let rTask = Task { try await restored.run() }
        defer { rTask.cancel() }
        #expect(await eventually(5) { await restored.isBound })
        #expect(await eventually(10) {
            (try? await restored.write(kind: "memory", key: "k6", payload: memory(6))) != nil
        })
        #expect(await restored.store.head(of: aID.publicKey)?.seq == 6)
        #expect(await eventually(10) { await b.store.head(of: aID.publicKey)?.seq == 6 })
        #expect(await b.store.quarantinedAuthors().isEmpty)
    }

    /// Bytes on the wire for a sync that brings a node 1,000 entries behind up to date.
    @Test func syncBytesPerEntry() async throws {
        let aDir = try Self.tempDir(), bDir = try Self.tempDir()
        let a = try Self.node(dir: aDir, identity: .generate(), bind: "127.0.0.9", seeds: [], grace: 0)
        var payloadBytes = 0
        for i in 0..<1000 {
            let p = PayloadCoding.encode(MemoryPayload(category: "c", content: String(repeating: "lesson \(i) ", count: 25)))
            let e = try await a.store.append(kind: "memory", key: "k\(i)", payload: p, now: wallClockMillis())
            payloadBytes += e.encoded.count
        }
        let aTask = Task { try await a.run() }
        defer { aTask.cancel() }
        #expect(await eventually(5) { await a.isBound })
        let seed = HostPort(host: "127.0.0.9", port: try #require(await a.boundPort))
        let b = try Self.node(dir: bDir, identity: .generate(), bind: "127.0.0.10", seeds: [seed], grace: 0)
        let bTask = Task { try await b.run() }
        defer { bTask.cancel() }
        #expect(await eventually(15) { await b.store.entryCount() == 1000 })
        // The holder's session ends when the other side's final frame arrives.
        #expect(await eventually(5) { await a.metrics.tcpBytesOut > payloadBytes })
        let m = await a.metrics
        let sent = m.tcpBytesOut
        print("sync of 1,000 entries (\(payloadBytes) bytes encoded): \(sent) bytes sent by the holder in \(m.syncSessions) session(s), \(String(format: "%.3f", Double(sent) / Double(payloadBytes))) x the entries' size")
        #expect(sent > payloadBytes)
    }

    /// Stopping a node while connections are still arriving closes them in order: NIO traps when
    /// an accepted connection that was never served is freed, which would kill the process.
    @Test func stoppingWithConnectionsInFlightIsOrderly() async throws {
        for round in 0..<5 {
            let dir = try Self.tempDir()
            let node = try Self.node(dir: dir, identity: .generate(), bind: "127.0.0.11", seeds: [], grace: 0)
            let task = Task { try await node.run() }
            #expect(await eventually(5) { await node.isBound })
            let port = try #require(await node.boundPort)
            var sockets: [Int32] = []
            for _ in 0..<100 {
                let fd = rawConnect(host: "127.0.0.11", port: port)
                if fd >= 0 { sockets.append(fd) }
            }
            #expect(sockets.count == 100, "round \(round): connections refused")
            task.cancel()
            _ = await task.result  // returns instead of trapping
            for fd in sockets { close(fd) }
        }
    }
}

/// A blocking TCP connect to an IPv4 address; the descriptor or -1.
func rawConnect(host: String, port: Int) -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return -1 }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if rc != 0 { close(fd); return -1 }
    return fd
}

/// Real sockets against what a member holding the network key can do.
@Suite("Sockets: hostile member", .serialized)
struct SocketHostileTests {
    /// A version vector of 20,001 authors (past one part of 16,384 heads) travels in parts and
    /// the joiner gets everything.
    @Test func aVersionVectorLargerThanOnePartTravelsInParts() async throws {
        let aDir = try SocketRestoreTests.tempDir(), bDir = try SocketRestoreTests.tempDir()
        let a = try SocketRestoreTests.node(dir: aDir, identity: .generate(), bind: "127.0.0.12", seeds: [], grace: 0)
        let authors = WireLimits.versionVectorPartHeads + 3_616
        let t = wallClockMillis()
        var batch: [Entry] = []
        for i in 0..<authors {
            let k = try SigningKeyPair(seed: Bytes32(w0: UInt64(i), w1: 0xA11CE, w2: 0, w3: 0).bytes)
            batch.append(try Entry.sign(keyPair: k, seq: 1, prev: .zero, hlc: HLCTimestamp(millis: t), kind: "memory", key: "k",
                                        payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "author \(i)"))))
            if batch.count == 4_096 { _ = try await a.store.ingest(batch, now: t); batch = [] }
        }
        _ = try await a.store.ingest(batch, now: t)
        #expect(await a.store.entryCount() == UInt64(authors))
        let aTask = Task { try await a.run() }
        defer { aTask.cancel() }
        #expect(await eventually(5) { await a.isBound })
        let seed = HostPort(host: "127.0.0.12", port: try #require(await a.boundPort))
        let bStore = try LogStore(path: bDir + "/node.db", identity: .generate(), configuration: .init(durableCommits: false))
        var c = NodeConfiguration()
        c.bind = HostPort(host: "127.0.0.13", port: 0)
        c.seeds = [seed]
        c.swim = .fast; c.tickMillis = 40; c.replication = .fast; c.restoreGraceMillis = 0
        c.newAuthorsPerHour = 100_000; c.newAuthorsPerPeerPerHour = 100_000
        let b = Node(identity: bStore.identity!, networkKey: SocketClusterTests.networkKey, store: bStore, configuration: c)
        let bTask = Task { try await b.run() }
        defer { bTask.cancel() }
        let done = await eventually(60) { await b.store.entryCount() == UInt64(authors) }
        let held = await b.store.entryCount(), bm = await b.metrics, am = await a.metrics
        #expect(done, "joiner holds \(held); joiner \(bm), holder \(am)")
        #expect(await b.store.digest() == a.store.digest())
        #expect(await a.metrics.sessionsRejected["vector_too_large"] == nil)
    }

    /// Connections that never finish a handshake: a source gets a few, the rest are closed at
    /// once and counted, and another member still syncs meanwhile.
    @Test func aHandshakeFloodIsBoundedAndOthersStillSync() async throws {
        let aDir = try SocketRestoreTests.tempDir(), bDir = try SocketRestoreTests.tempDir()
        let a = try SocketRestoreTests.node(dir: aDir, identity: .generate(), bind: "127.0.0.14", seeds: [], grace: 0)
        let aTask = Task { try await a.run() }
        defer { aTask.cancel() }
        #expect(await eventually(5) { await a.isBound })
        let port = try #require(await a.boundPort)
        var sockets: [Int32] = []
        for _ in 0..<200 {
            let fd = rawConnect(host: "127.0.0.14", port: port)
            if fd >= 0 { sockets.append(fd) }
        }
        defer { for fd in sockets { close(fd) } }
        // Under load the listen backlog may refuse some connects itself: count what got through.
        #expect(sockets.count > 2 * SessionLimits.maxHandshakesPerSource)
        let opened = sockets.count
        // On an idle machine all but 8 are refused at once; under load the handshake watchdog may
        // free a slot before the last connects are accepted, so a few more get one. Without the
        // limit none would be refused.
        #expect(await eventually(5) { await a.metrics.connectionsRefused["handshake_limit", default: 0] >= opened / 2 })
        _ = try await a.write(kind: "memory", key: "k", payload: PayloadCoding.encode(MemoryPayload(category: "c", content: "still here")))
        let seed = HostPort(host: "127.0.0.14", port: port)
        let b = try SocketRestoreTests.node(dir: bDir, identity: .generate(), bind: "127.0.0.15", seeds: [seed], grace: 0)
        let bTask = Task { try await b.run() }
        defer { bTask.cancel() }
        #expect(await eventually(10) { await b.store.entryCount() == 1 })
    }
}

/// The simulator's sessions against real ones: the same machine, so the same bytes.
@Suite("Simulator against sockets", .serialized)
struct SimulatorFidelityTests {
    /// A node joining a holder of 10,000 entries: bytes the holder sends, on real sockets and in
    /// the simulator (same entry size, same machine), within 5 % of each other.
    @Test func aSimulatedCatchUpSendsTheBytesOfARealOne() async throws {
        let count = 10_000
        let aDir = try SocketRestoreTests.tempDir(), bDir = try SocketRestoreTests.tempDir()
        let a = try SocketRestoreTests.node(dir: aDir, identity: .generate(), bind: "127.0.0.16", seeds: [], grace: 0)
        var entryBytes = 0
        for i in 0..<count {
            let p = PayloadCoding.encode(MemoryPayload(category: "lesson", content: "provider \(100_000 + i) drops requests at night; retry later", host: "h"))
            let e = try await a.store.append(kind: "memory", key: "k\(100_000 + i)", payload: p, now: wallClockMillis())
            if entryBytes == 0 { entryBytes = e.encoded.count } else { #expect(e.encoded.count == entryBytes) }
        }
        let aTask = Task { try await a.run() }
        defer { aTask.cancel() }
        #expect(await eventually(5) { await a.isBound })
        let seed = HostPort(host: "127.0.0.16", port: try #require(await a.boundPort))
        let b = try SocketRestoreTests.node(dir: bDir, identity: .generate(), bind: "127.0.0.17", seeds: [seed], grace: 0)
        let bTask = Task { try await b.run() }
        defer { bTask.cancel() }
        #expect(await eventually(60) { await b.store.entryCount() == UInt64(count) })
        #expect(await eventually(5) { await a.metrics.tcpBytesOut > count * entryBytes })
        let real = await a.metrics.tcpBytesOut

        var config = Simulation.Config()
        config.nodes = 2
        config.entryBytes = entryBytes
        let sim = Simulation(config)
        let holder = sim.nodes[0]
        for seq in 1...UInt64(count) { sim.store(holder, EntryKey(author: holder.id, seq: seq), hops: 0) }
        sim.join(through: 0)
        let took = sim.run(until: { sim.nodes[1].entryCount == UInt64(count) && sim.nodes[0].sessions.isEmpty }, step: 10, limit: 60_000)
        #expect(took != nil)
        let simulated = sim.sessionBytes.filter { $0.from == 0 }.reduce(0) { $0 + $1.bytes }
        let ratio = Double(simulated) / Double(real)
        print("catch-up of \(count) entries of \(entryBytes) bytes: holder sent \(real) bytes on sockets, \(simulated) in the simulator (\(String(format: "%.4f", ratio)) x); simulated time \(took ?? 0) ms")
        #expect(abs(ratio - 1) <= 0.05, "simulated \(simulated) vs real \(real) bytes")
    }
}
