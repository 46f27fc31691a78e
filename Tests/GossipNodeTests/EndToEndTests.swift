import CRDTLog
import Foundation
import Testing
import Wire
@testable import GossipClient
import GossipCore
@testable import GossipNode

/// Real `gossip-node` processes on 127.0.0.x, driven through the command line and the HTTP API.
@Suite("End to end", .serialized)
struct EndToEndTests {
    static let binary = OpenAPITests.root.appendingPathComponent(".build/debug/gossip-node").path
    /// A port pair per test run, so sockets of an earlier run (TIME_WAIT) never matter.
    static let port = 20_000 + 2 * Int.random(in: 0..<10_000)

    /// One `gossip-node run` process with its data directory.
    final class NodeProcess: @unchecked Sendable {
        // Owned by one test at a time (the suite is serialized); the Process is only touched from it.
        let data: String
        let ip: String
        let port: Int
        let process = Process()
        var client: APIClient { APIClient(address: HostPort(host: ip, port: port + 1)) }
        var gossip: String { "\(ip):\(port)" }

        init(data: String, ip: String, port: Int = EndToEndTests.port, seeds: [String], host: String, logLevel: String? = "warning",
             extra: [String] = []) throws {
            self.data = data
            self.ip = ip
            self.port = port
            process.executableURL = URL(fileURLWithPath: EndToEndTests.binary)
            process.arguments = ["run", "--data", data, "--bind", "\(ip):\(port)", "--api", "\(ip):\(port + 1)", "--profile", "fast",
                                 "--restore-grace", "0", "--host-name", host] + (logLevel.map { ["--log-level", $0] } ?? [])
                + seeds.flatMap { ["--seed", $0] } + extra
            process.standardOutput = FileHandle.nullDevice
            FileManager.default.createFile(atPath: data + "/stderr.log", contents: nil)
            process.standardError = FileHandle(forWritingAtPath: data + "/stderr.log")
            try process.run()
        }

        func waitHealthy() async -> Bool {
            await eventually(20) { (try? self.client.get("/readyz").status) == 200 }
        }

        func kill9() { _ = kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        func terminate() { process.terminate(); process.waitUntilExit() }
    }

    static func initDir(networkKeyFile: String? = nil) throws -> (dir: String, author: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gossip-e2e-\(UUID().uuidString)").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["init", "--data", dir] + (networkKeyFile.map { ["--network-key-file", $0] } ?? [])
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let author = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(p.terminationStatus == 0)
        return (dir, author)
    }

    @Test func webPagesAreRefusedAndCounted() async throws {
        let (d, _) = try Self.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.29", seeds: [], host: "h")
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        let memory = Array(#"{"category":"x","content":"from a web page"}"#.utf8)
        // A page's form POST (text/plain needs no CORS preflight).
        #expect(try n.client.request("POST", "/v1/memories", body: memory, contentType: "text/plain").status == 415)
        // DNS rebinding: the page's own name in Host.
        #expect(try n.client.request("GET", "/v1/memories", host: "attacker.example:\(n.port + 1)").status == 403)
        #expect(try n.client.request("GET", "/v1/memories", host: "127.example.com:\(n.port + 1)").status == 403)
        // A cross-origin request.
        #expect(try n.client.request("POST", "/v1/memories", body: memory, headers: ["Origin: https://attacker.example"]).status == 403)
        // sf, curl, the CLI: no Origin, a loopback Host, JSON.
        #expect(try n.client.request("POST", "/v1/memories", body: memory).status == 201)
        let metrics = String(decoding: try n.client.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"gossip_node_api_refused_total{reason="content_type"}"#) == false)
        #expect(metrics.contains(#"gossip_node_api_refused_total{reason="unsupported_media_type"} 1"#))
        #expect(metrics.contains(#"gossip_node_api_refused_total{reason="host_not_allowed"} 2"#))
        #expect(metrics.contains(#"gossip_node_api_refused_total{reason="origin_not_allowed"} 1"#))
        // The process runs its tasks on the event loops (EventLoopExecutor's hook took).
        #expect(metrics.contains("gossip_node_tasks_on_event_loops 1\n"))
        // Nothing the page sent was written.
        let all = String(decoding: try n.client.get("/v1/memories").body, as: UTF8.self)
        #expect(all.components(separatedBy: "from a web page").count == 2)
    }

    @Test func threeNodesAnswerWithProvenance() async throws {
        let (d1, a1) = try Self.initDir()
        let (d2, _) = try Self.initDir(networkKeyFile: d1 + "/network.key")
        let (d3, _) = try Self.initDir(networkKeyFile: d1 + "/network.key")
        let n1 = try NodeProcess(data: d1, ip: "127.0.0.21", seeds: [], host: "h1")
        defer { n1.terminate() }
        #expect(await n1.waitHealthy())
        let n2 = try NodeProcess(data: d2, ip: "127.0.0.22", seeds: [n1.gossip], host: "h2")
        let n3 = try NodeProcess(data: d3, ip: "127.0.0.23", seeds: [n1.gossip], host: "h3")
        defer { n2.terminate(); n3.terminate() }
        #expect(await n2.waitHealthy())
        #expect(await n3.waitHealthy(), "node 3: \((try? String(contentsOfFile: d3 + "/stderr.log", encoding: .utf8)) ?? "")")

        // Subscribe on node 3 before anything is written.
        let events = SSECollector(client: n3.client)
        events.start()
        #expect(await eventually(5) { events.connected })

        let w1 = try n1.client.post("/v1/memories", json: .object(["category": .string("outage"), "content": .string("Provider X drops requests at 03:00 UTC"), "tags": .array([.string("provider-x")])]))
        #expect(w1.status == 201)
        let resets = RFC3339.format(millis: Int64(wallClockMillis()) + 3_600_000)
        #expect(try n1.client.post("/v1/breakers", json: .object(["provider": .string("kimi"), "model": .string("k2"), "state": .string("open"), "resets_at": .string(resets), "reason": .string("503s")])).status == 201)
        #expect(try n1.client.post("/v1/benchmarks", json: .object(["provider": .string("kimi"), "model": .string("k2"), "metric": .string("latency_ms"), "value": .number(840)])).status == 201)
        let w2 = try n2.client.post("/v1/memories", json: .object(["category": .string("lesson"), "content": .string("written on node two")]))
        #expect(w2.status == 201)

        for n in [n2, n3] {
            #expect(await eventually(15) { (try? n.client.get("/v1/status").json?["entries"]?.numberValue) == 4 }, "node \(n.ip) did not get all entries")
            let m = try #require(try n.client.get("/v1/memories?q=provider").json?["memories"]?.arrayValue?.first)
            #expect(m["author"]?.stringValue == a1)
            #expect(m["host"]?.stringValue == "h1")
            #expect(m["trusted"] == .bool(true))
            #expect(m["id"]?.stringValue == w1.json?["id"]?.stringValue)
            #expect(m["recorded_at"]?.stringValue.flatMap(RFC3339.parse) != nil)
            let b = try #require(try n.client.get("/v1/breakers").json?["breakers"]?.arrayValue?.first)
            #expect(b["state"]?.stringValue == "open" && b["author"]?.stringValue == a1 && b["host"]?.stringValue == "h1")
            let bench = try #require(try n.client.get("/v1/benchmarks").json?["benchmarks"]?.arrayValue?.first)
            #expect(bench["count"]?.numberValue == 1 && bench["last"]?.numberValue == 840 && bench["hosts"] == .array([.string("h1")]))
        }
        let digests = Set([n1, n2, n3].compactMap { try? $0.client.get("/v1/status").json?["digest"]?.stringValue })
        #expect(digests.count == 1)
        // The event stream on node 3 delivered the entry written on node 2.
        let id2 = try #require(w2.json?["id"]?.stringValue)
        #expect(await eventually(10) { events.ids.contains(id2) })
        events.stop()
    }

    @Test func acknowledgedWritesSurviveKill9() async throws {
        let (d, _) = try Self.initDir()
        var n = try NodeProcess(data: d, ip: "127.0.0.31", seeds: [], host: "k")
        #expect(await n.waitHealthy())
        var acknowledged: [String] = []
        for i in 0..<50 {
            let r = try n.client.post("/v1/memories", json: .object(["category": .string("c"), "content": .string("durable \(i)"), "key": .string("k\(i)")]))
            if r.status == 201 { acknowledged.append("k\(i)") }
        }
        n.kill9()
        #expect(acknowledged.count == 50)
        n = try NodeProcess(data: d, ip: "127.0.0.31", seeds: [], host: "k")
        #expect(await n.waitHealthy())
        let author = try #require(try n.client.get("/v1/status").json?["author"]?.stringValue)
        for k in acknowledged {
            #expect(try n.client.get("/v1/memories/\(author)/\(k)").status == 200, "lost \(k)")
        }
        n.terminate()
        let v = Process()
        v.executableURL = URL(fileURLWithPath: Self.binary)
        v.arguments = ["verify", "--data", d]
        v.standardOutput = FileHandle.nullDevice
        try v.run()
        v.waitUntilExit()
        #expect(v.terminationStatus == 0)
    }

    /// `import` stores a bundle in batches, each leaving a segment in the full-text index; it
    /// merges them before it returns, so the node's first writes do not (FTS5 automerge).
    @Test func importLeavesTheSearchIndexMerged() async throws {
        func run(_ path: String, _ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        let (d, _) = try Self.initDir()
        let bundle = d + "/memories.bundle"
        let bench = OpenAPITests.root.appendingPathComponent(".build/debug/gossip-bench").path
        #expect(try run(bench, ["bundle", "--entries", "3000", "--authors", "3", "--seed", "1", "--out", bundle]) == 0)
        #expect(try run(Self.binary, ["import", "--data", d, bundle]) == 0)
        let store = try LogStore(path: d + "/node.db", identity: nil)
        #expect(await store.entryCount() == 3000)
        #expect(try await store.searchIndexSegments() == 1)
        await store.close()
    }

    @Test func badInputGetsA4xxAndTheNodeStaysHealthy() async throws {
        let (d, _) = try Self.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.41", seeds: [], host: "b")
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        let c = n.client
        func code(_ r: APIClient.Reply) -> String? { r.json?["error"]?["code"]?.stringValue }
        var r = try c.request("POST", "/v1/memories", body: Array("{not json".utf8))
        #expect(r.status == 400 && code(r) == "malformed_json")
        r = try c.post("/v1/memories", json: .object(["category": .string("c")]))
        #expect(r.status == 400 && code(r) == "missing_field")
        r = try c.post("/v1/memories", json: .array([]))
        #expect(r.status == 400)
        r = try c.post("/v1/breakers", json: .object(["provider": .string("p"), "model": .string("m"), "state": .string("open")]))
        #expect(r.status == 400 && code(r) == "missing_field")
        r = try c.post("/v1/benchmarks", json: .object(["provider": .string("p"), "model": .string("m"), "metric": .string("x"), "value": .string("fast")]))
        #expect(r.status == 400 && code(r) == "invalid_field")
        r = try c.get("/v1/memories?limit=0")
        #expect(r.status == 400)
        r = try c.get("/v1/memories?since=yesterday")
        #expect(r.status == 400)
        r = try c.get("/v1/memories?author=xyz")
        #expect(r.status == 400)
        r = try c.get("/v1/nothing-here")
        #expect(r.status == 404 && code(r) == "not_found")
        r = try c.request("POST", "/v1/memories", body: [UInt8](repeating: 0x61, count: 2 << 20))
        #expect(r.status == 413 && code(r) == "body_too_large")
        r = try c.get("/v1/memories/\(String(repeating: "0", count: 64))/nope")
        #expect(r.status == 404)
        #expect(try c.get("/healthz").status == 200)
        #expect(try c.get("/readyz").status == 200)
        let status = try JSON.parse(c.get("/v1/status").body)
        #expect(status["ready"] == .bool(true) && status["writes"] == .string("signed") && status["not_ready"] == .array([]))
        #expect(try c.post("/v1/memories", json: .object(["category": .string("c"), "content": .string("still fine")])).status == 201)
    }

    @Test func commandLineMistakesSayWhatToDo() throws {
        func run(_ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = args
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        // Exit status: 1 an error, 2 a usage mistake (docs/operations.md).
        var (status, text) = try run(["recall", "--api", "127.0.0.99:1"])
        #expect(status == 1 && text.contains("is it running") && !text.contains("Backtrac"))
        (status, text) = try run(["run"])
        #expect(status == 2 && text.contains("--data"))
        (status, text) = try run(["no-such-command"])
        #expect(status == 2 && text.contains("Unexpected argument 'no-such-command'") && text.contains("--help"))
        (status, text) = try run(["--version"])
        #expect(status == 0 && text.isEmpty)
        (status, text) = try run(["breaker", "open", "nomodel", "--for", "1h"])
        #expect(status != 0 && text.contains("PROVIDER/MODEL"))
        (status, text) = try run(["breaker", "open", "a/b", "--for", "soon"])
        #expect(status != 0 && text.contains("duration"))
        (status, text) = try run(["run", "--data", FileManager.default.temporaryDirectory.path, "--log-level", "verbose"])
        #expect(status != 0 && text.contains("--log-level verbose"), "\(text)")
        let (d, _) = try Self.initDir()
        (status, text) = try run(["init", "--data", d])
        #expect(status != 0 && text.contains("refusing to overwrite"))
        (status, text) = try run(["run", "--data", d, "--bind", "nonsense"])
        #expect(status != 0 && text.contains("cannot run gossip on nonsense") && !text.contains("Backtrac"))
        (status, text) = try run(["run", "--data", d, "--bind", "127.0.0.1:99999"])
        #expect(status != 0 && text.contains("HOST:PORT"))
    }
}

/// Reads `/v1/events` on a thread and remembers the entry ids of the events it saw, the last
/// event id (the stream's cursor) and the keep-alive comments.
final class SSECollector: @unchecked Sendable {
    // The lock guards the fields below, shared between the reading thread and the test.
    private let lock = NSLock()
    private var seen: [String] = []
    private var cursor: String?
    private var comments = 0
    private var open = false
    private var stopped = false
    let client: APIClient
    let headers: [String]
    init(client: APIClient, headers: [String] = []) { self.client = client; self.headers = headers }

    /// Entry ids, from each event's data.
    var ids: [String] { lock.lock(); defer { lock.unlock() }; return seen }
    var lastEventID: String? { lock.lock(); defer { lock.unlock() }; return cursor }
    var keepAlives: Int { lock.lock(); defer { lock.unlock() }; return comments }
    var connected: Bool { lock.lock(); defer { lock.unlock() }; return open }
    func stop() { lock.lock(); stopped = true; lock.unlock() }

    func start() {
        Thread.detachNewThread { [self] in
            try? client.stream("/v1/events", headers: headers) { line in
                self.lock.lock(); defer { self.lock.unlock() }
                if line.hasPrefix(":") { open = true }
                if line == ": keep-alive" { comments += 1 }
                if line.hasPrefix("id: ") { cursor = String(line.dropFirst(4)) }
                if line.hasPrefix("data: "), let id = (try? JSON.parse(Array(line.dropFirst(6).utf8)))?["id"]?.stringValue {
                    seen.append(id)
                }
                return !stopped
            }
        }
    }
}
