import CRDTLog
import Foundation
import Testing
import Wire
@testable import GossipClient
import GossipCore
@testable import GossipNode

/// What an operator relies on, on real processes: systemd's readiness protocol, SIGHUP reloads,
/// metrics, help text and `--json` listings.
@Suite("Operations", .serialized)
struct OperationsTests {
    typealias NodeProcess = EndToEndTests.NodeProcess

    /// Runs the binary to completion; (status, stdout, stderr).
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: EndToEndTests.binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func log(_ dir: String) -> String { (try? String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)) ?? "" }

    @Test func underSystemdItReportsReadyWatchdogPingsAndStopping() async throws {
        let (d, _) = try EndToEndTests.initDir()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
        let fd = socket(AF_UNIX, Platform.datagramSocket, 0)
        #expect(fd >= 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: EndToEndTests.binary)
        p.arguments = ["run", "--data", d, "--bind", "127.0.0.31:\(EndToEndTests.port)", "--api", "127.0.0.31:\(EndToEndTests.port + 1)",
                       "--profile", "fast", "--restore-grace", "0", "--discover", "off"]
        // A watchdog of 200 ms: a ping every 100 ms.
        p.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var messages: [String] = []
        func receive(until: (String) -> Bool, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 512)
            while Date() < deadline {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let m = String(decoding: buffer[..<n], as: UTF8.self)
                messages.append(m)
                if until(m) { return true }
            }
            return false
        }
        #expect(receive(until: { $0.hasPrefix("READY=1") }, seconds: 30), "no READY=1: \(messages)")
        // Ready means serving: the API answers now.
        #expect(try APIClient(address: HostPort(host: "127.0.0.31", port: EndToEndTests.port + 1)).get("/readyz").status == 200)
        #expect(receive(until: { $0 == "WATCHDOG=1" }, seconds: 10), "no watchdog ping: \(messages)")
        p.terminate()
        #expect(receive(until: { $0 == "STOPPING=1" }, seconds: 20), "no STOPPING=1: \(messages)")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func sighupReloadsTheBlockListAndLogLevelAndKeepsThemWhenTheConfigIsBad() async throws {
        let (d1, _) = try EndToEndTests.initDir()
        let (d2, a2) = try EndToEndTests.initDir(networkKeyFile: d1 + "/network.key")
        // No --log-level flag: flags win over the config file, also on reload.
        let n1 = try NodeProcess(data: d1, ip: "127.0.0.32", seeds: [], host: "h1", logLevel: nil)
        defer { n1.terminate() }
        #expect(await n1.waitHealthy())
        let n2 = try NodeProcess(data: d2, ip: "127.0.0.33", seeds: [n1.gossip], host: "h2")
        defer { n2.terminate() }
        #expect(await n2.waitHealthy())
        #expect(try n2.client.post("/v1/memories", json: .object(["category": .string("c"), "content": .string("from node two")])).status == 201)
        func fromTwo() -> Int { (try? n1.client.get("/v1/memories?author=\(a2)").json?["memories"]?.arrayValue?.count) ?? -1 }
        #expect(await eventually(15) { fromTwo() == 1 })
        // Block node two in node one's config file and reload.
        let config = d1 + "/config"
        let original = try String(contentsOfFile: config, encoding: .utf8)
        try (original + "\nblock = \(a2)\nlog-level = debug\n").write(toFile: config, atomically: true, encoding: .utf8)
        kill(n1.process.processIdentifier, SIGHUP)
        #expect(await eventually(10) { log(d1).contains("reloaded") }, "\(log(d1))")
        #expect(log(d1).contains("blocked=1") && log(d1).contains("log_level=debug") && log(d1).contains("authors_removed=1"), "\(log(d1))")
        #expect(fromTwo() == 0)
        // Debug lines now appear (the node logged at info before).
        #expect(await eventually(10) { log(d1).contains(" debug ") }, "no debug line after the reload")
        // A config that does not parse: the previous settings stay, and the log says why.
        try (original + "\nblock = not-an-author\n").write(toFile: config, atomically: true, encoding: .utf8)
        kill(n1.process.processIdentifier, SIGHUP)
        #expect(await eventually(10) { log(d1).contains("reload failed; keeping") }, "\(log(d1))")
        #expect(try n1.client.get("/readyz").status == 200)
        #expect(fromTwo() == 0)
    }

    @Test func handshakesFromAnotherNetworkAreLoggedOnceAMinuteWithTheLikelyCause() async throws {
        let (d1, _) = try EndToEndTests.initDir()
        let (d2, _) = try EndToEndTests.initDir()  // its own network key
        let n1 = try NodeProcess(data: d1, ip: "127.0.0.39", seeds: [], host: "h1")
        defer { n1.terminate() }
        #expect(await n1.waitHealthy())
        let intruder = try NodeProcess(data: d2, ip: "127.0.0.40", seeds: [n1.gossip], host: "h2")
        defer { intruder.terminate() }
        #expect(await eventually(15) { log(d1).contains("failed handshakes from one address") }, "\(log(d1))")
        let lines = log(d1).split(separator: "\n").filter { $0.contains("failed handshakes from one address") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("127.0.0.40") == true && lines.first?.contains("different network key") == true, "\(lines)")
        // The intruder keeps retrying; the line does not repeat within the minute.
        func mismatches() -> Int {
            let text = (try? n1.client.get("/metrics").text) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("gossip_node_sessions_rejected_total{reason=\"network_key_mismatch\"}") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        #expect(await eventually(10) { mismatches() >= 3 }, "the intruder did not retry")
        #expect(log(d1).split(separator: "\n").filter { $0.contains("failed handshakes from one address") }.count == 1)
    }

    @Test func metricsNameTheBuildTheStartAndEachRoutesLatency() async throws {
        let (d, _) = try EndToEndTests.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.34", seeds: [], host: "h")
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        for _ in 0..<3 { _ = try n.client.get("/v1/memories") }
        #expect(try n.client.get("/v1/memories?limit=0").status == 400)
        let text = String(decoding: try n.client.get("/metrics").body, as: UTF8.self)
        #expect(text.contains("gossip_node_build_info{version=\"\(GossipNodeVersion.current)\""))
        let start = text.split(separator: "\n").first { $0.hasPrefix("process_start_time_seconds ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect(start.map { abs($0 - Date().timeIntervalSince1970) < 120 } == true, "start time \(String(describing: start))")
        #expect(text.contains("process_resident_memory_bytes "))
        #expect(text.contains(#"gossip_node_api_requests_total{route="GET /v1/memories",code="2xx"} 3"#), "\(text)")
        #expect(text.contains(#"gossip_node_api_requests_total{route="GET /v1/memories",code="4xx"} 1"#))
        #expect(text.contains(#"gossip_node_api_request_duration_seconds_count{route="GET /v1/memories"} 4"#))
        #expect(!text.contains(#"outcome="dialled""#))
    }

    @Test func runHelpNamesDefaultsAndVariablesAndListingsTakeJSON() async throws {
        let (_, help, _) = try Self.run(["run", "--help"])
        #expect(help.contains("default 0.0.0.0:7420") && help.contains("GOSSIP_NODE_BIND"), "\(help)")
        #expect(help.contains("GOSSIP_NODE_SEED") && help.contains("comma-separated"))
        let (_, top, _) = try Self.run(["--help"])
        #expect(top.contains("3 verify or import found invalid data"))
        let (d, _) = try EndToEndTests.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.35", seeds: [], host: "h")
        #expect(await n.waitHealthy())
        let api = "127.0.0.35:\(EndToEndTests.port + 1)"
        for args in [["peers", "--json"], ["breaker", "list", "--json"], ["status", "--json"], ["recall", "--json", "x"]] {
            let (status, out, err) = try Self.run(args + ["--api", api])
            #expect(status == 0, "\(args): \(err)")
            #expect((try? JSON.parse(Array(out.utf8))) != nil, "\(args) printed no JSON: \(out)")
        }
        n.terminate()
        let (status, out, _) = try Self.run(["verify", "--data", d, "--json"])
        #expect(status == 0)
        #expect((try? JSON.parse(Array(out.utf8)))?["clean"] == .bool(true), "\(out)")
        // The init a service runs before every start leaves an existing identity alone.
        let before = try String(contentsOfFile: d + "/identity", encoding: .utf8)
        #expect(try Self.run(["init", "--data", d, "--if-missing"]).0 == 0)
        #expect(try String(contentsOfFile: d + "/identity", encoding: .utf8) == before)
    }
}

/// The API's contract with its clients: keys of any UTF-8, methods, event streams that resume.
@Suite("API contract", .serialized)
struct APIContractTests {
    typealias NodeProcess = EndToEndTests.NodeProcess

    @Test func keysWithSlashesSpacesPercentAndEmojiRoundTrip() async throws {
        let (d, author) = try EndToEndTests.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.36", seeds: [], host: "h")
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        for key in ["a/b", "with space", "100%", "🦊 fox/🐇", "%2F"] {
            let w = try n.client.post("/v1/memories", json: .object(["category": .string("c"), "content": .string("about \(key)"), "key": .string(key)]))
            #expect(w.status == 201, "\(key): \(w.status)")
            let got = try n.client.get("/v1/memories/\(author)/\(percentEncode(key))")
            #expect(got.status == 200 && got.json?["key"]?.stringValue == key, "\(key): \(got.status)")
            let gone = try n.client.request("DELETE", "/v1/memories/\(percentEncode(key))")
            #expect(gone.status == 200, "\(key): delete \(gone.status)")
            #expect(try n.client.get("/v1/memories/\(author)/\(percentEncode(key))").status == 404)
        }
        // A malformed escape is a 400 that says so, not a guess.
        let bad = try n.client.get("/v1/memories/\(author)/%ZZ")
        #expect(bad.status == 400 && bad.json?["error"]?["code"]?.stringValue == "invalid_field")
    }

    @Test func anUndeclaredMethodIs405WithTheAllowedOnes() async throws {
        let (d, _) = try EndToEndTests.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.37", seeds: [], host: "h")
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        let r = try n.client.request("PUT", "/v1/memories", body: Array("{}".utf8))
        #expect(r.status == 405)
        #expect(r.headers["allow"] == "GET, POST", "\(r.headers)")
        #expect(r.json?["error"]?["code"]?.stringValue == "method_not_allowed")
        #expect(try n.client.request("DELETE", "/v1/status").status == 405)
    }

    @Test func anEventStreamResumesFromItsLastEventIDAndKeepsAlive() async throws {
        let (d, _) = try EndToEndTests.initDir()
        let n = try NodeProcess(data: d, ip: "127.0.0.38", seeds: [], host: "h", extra: ["--events-keep-alive", "200ms"])
        defer { n.terminate() }
        #expect(await n.waitHealthy())
        func write(_ text: String) throws -> String {
            try #require(try n.client.post("/v1/memories", json: .object(["category": .string("c"), "content": .string(text)])).json?["id"]?.stringValue)
        }
        let first = SSECollector(client: n.client)
        first.start()
        #expect(await eventually(5) { first.connected })
        let early = try (0..<3).map { try write("early \($0)") }
        #expect(await eventually(5) { first.ids == early }, "\(first.ids)")
        #expect(await eventually(5) { first.keepAlives >= 2 }, "no keep-alive comments")
        let cursor = try #require(first.lastEventID)
        first.stop()
        // Written while no stream is open: a client that comes back with its cursor gets them all.
        let late = try (0..<4).map { try write("late \($0)") }
        let second = SSECollector(client: n.client, headers: ["Last-Event-ID: \(cursor)"])
        second.start()
        #expect(await eventually(5) { second.ids == late }, "resumed with \(second.ids), expected \(late)")
        let live = try write("live")
        #expect(await eventually(5) { second.ids == late + [live] })
        second.stop()
        // A cursor that is not a number is a 400.
        #expect(try n.client.request("GET", "/v1/events", headers: ["Last-Event-ID: yesterday"]).status == 400)
    }
}
