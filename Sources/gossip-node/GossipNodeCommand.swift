import ArgumentParser
import CRDTLog
import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GossipNode
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `gossip-node` command line: its subcommands, run from ``ProcessEntry``.
struct GossipNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip-node",
        abstract: "Replicates sf's memories, circuit breakers and benchmarks between hosts: a signed CRDT log over UDP and TCP.",
        discussion: """
            Start:   gossip-node init --data ~/.gossip-node && gossip-node run --data ~/.gossip-node
            Join:    gossip-node run --data DIR --seed 100.101.102.103:7420   (same network key on both)
            Use:     gossip-node remember --category outage "provider X drops requests at 03:00 UTC"
                     gossip-node recall provider X
            Options also come from DIR/config and GOSSIP_NODE_<OPTION> variables; flags win.
            Exit status: 0 ok, 1 an error (the message says what to do), 2 a usage error,
            3 verify or import found invalid data. Listings take --json.
            """,
        version: GossipNodeVersion.current,
        subcommands: [Init.self, NetworkKeyCommand.self, Run.self, Status.self, Remember.self, Recall.self, Breaker.self,
                      Peers.self, Verify.self, Compact.self, Export.self, Import.self, MCP.self])
}

/// Options every command that reads a data directory shares.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The node's data directory (or GOSSIP_NODE_DATA).")
    var data: String?

    func directory(required: Bool = true) throws -> DataDirectory? {
        guard let d = data ?? ProcessInfo.processInfo.environment["GOSSIP_NODE_DATA"], !d.isEmpty else {
            if required { throw ValidationError("say which data directory: --data DIR (or set GOSSIP_NODE_DATA)") }
            return nil
        }
        return DataDirectory(expandingTilde(d))
    }
}

/// Options of the commands that talk to a running node's API.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The node's API, HOST:PORT (default 127.0.0.1:7421, or the config's).")
    var api: String?
    @Option(name: .long, help: "The node's data directory, to read its config (optional).")
    var data: String?
    @Option(name: .customLong("api-token-file"), help: "A file with the bearer token, when the API is not on loopback.")
    var apiTokenFile: String?

    func client() throws -> APIClient {
        var flags: [String: [String]] = [:]
        if let api { flags["api"] = [api] }
        if let apiTokenFile { flags["api-token-file"] = [apiTokenFile] }
        let dir = data ?? ProcessInfo.processInfo.environment["GOSSIP_NODE_DATA"]
        let settings = try Settings(flags: flags, dataDirectory: dir.map { expandingTilde($0) })
        var c = APIClient(address: try settings.hostPort("api", defaultPort: GossipNodeDefaults.apiPort))
        if let f = settings.value("api-token-file") {
            do { c.token = try IdentityFile.readSecret(at: f).trimming() } catch { throw UserError(error.description) }
        }
        return c
    }
}

/// Fails with the API's own error message for a non-2xx reply.
func check(_ r: APIClient.Reply, _ what: String) throws -> JSONValue {
    guard (200..<300).contains(r.status) else {
        throw UserError("\(what) failed (HTTP \(r.status)): \(r.errorMessage ?? r.text)")
    }
    guard let j = r.json else { throw UserError("\(what): the node sent something that is not JSON") }
    return j
}


func printError(_ s: String) { writeStandardError(s + "\n") }

/// True when standard error is a terminal (progress is drawn there; otherwise logged).
let stderrIsTerminal = isatty(2) == 1

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a data directory: a new identity, the network key, a commented config, an empty database.",
        discussion: "Example: gossip-node init --data ~/.gossip-node --network-key-file ~/network.key\nPrints the new author id. Refuses to overwrite an existing identity.")
    @OptionGroup var data: DataOption
    @Option(name: .customLong("network-key-file"), help: "Use this network's key (copy it from another member) instead of generating one.")
    var networkKeyFile: String?
    @Flag(name: .customLong("if-missing"), help: "Do nothing when the directory already has an identity (for service start-up).")
    var ifMissing = false

    func run() async throws {
        let dir = try data.directory()!
        if ifMissing, FileManager.default.fileExists(atPath: dir.identityPath) { return }
        let author = try dir.initialise(networkKeyFile: networkKeyFile.map { expandingTilde($0) })
        print(author.hex)
        if networkKeyFile == nil {
            printError("created \(dir.path) with a new network key; other members need a copy of \(dir.networkKeyPath)")
        }
    }
}

struct NetworkKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-key", abstract: "Print a new random network key (one line of hex).",
        discussion: "Example: gossip-node network-key > network.key && chmod 600 network.key")
    func run() throws { print(NetworkKey.generateHex()) }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the node in the foreground until SIGINT or SIGTERM.",
        discussion: """
            Gossip listens on UDP and TCP at --bind (default 0.0.0.0:7420); the HTTP API on --api
            (default 127.0.0.1:7421). Peers learned earlier are remembered and re-contacted.
            Each option also reads from its GOSSIP_NODE_* variable and DIR/config (flags win).
            SIGHUP reloads the trust list, the block list and the log level; SIGTERM stops gracefully.
            Under systemd (Type=notify) it reports ready, stopping and watchdog pings.
            Example: gossip-node run --data ~/.gossip-node --seed 100.64.0.2:7420
            """)
    @OptionGroup var data: DataOption
    @Option(help: ArgumentHelp(Settings.help("bind"))) var bind: String?
    @Option(help: ArgumentHelp(Settings.help("advertise"))) var advertise: String?
    @Option(help: ArgumentHelp(Settings.help("api"))) var api: String?
    @Option(name: .customLong("api-token-file"), help: ArgumentHelp(Settings.help("api-token-file"))) var apiTokenFile: String?
    @Option(help: ArgumentHelp(Settings.help("seed"))) var seed: [String] = []
    @Option(help: ArgumentHelp(Settings.help("trust"))) var trust: [String] = []
    @Option(help: ArgumentHelp(Settings.help("block"))) var block: [String] = []
    @Option(name: .customLong("host-name"), help: ArgumentHelp(Settings.help("host-name"))) var hostName: String?
    @Option(name: .customLong("network-key-file"), help: ArgumentHelp(Settings.help("network-key-file"))) var networkKeyFile: String?
    @Option(name: .customLong("quota-per-hour"), help: ArgumentHelp(Settings.help("quota-per-hour"))) var quotaPerHour: String?
    @Option(name: .customLong("new-authors-per-hour"), help: ArgumentHelp(Settings.help("new-authors-per-hour"))) var newAuthorsPerHour: String?
    @Option(name: .customLong("new-authors-per-peer-per-hour"), help: ArgumentHelp(Settings.help("new-authors-per-peer-per-hour"))) var newAuthorsPerPeerPerHour: String?
    @Option(help: ArgumentHelp(Settings.help("discover"))) var discover: String?
    @Option(name: .customLong("peers-file"), help: ArgumentHelp(Settings.help("peers-file"))) var peersFile: String?
    @Option(name: .customLong("forget-dead-after"), help: ArgumentHelp(Settings.help("forget-dead-after"))) var forgetDeadAfter: String?
    @Option(name: .customLong("body-limit"), help: ArgumentHelp(Settings.help("body-limit"))) var bodyLimit: String?
    @Option(name: .customLong("events-keep-alive"), help: ArgumentHelp(Settings.help("events-keep-alive"))) var eventsKeepAlive: String?
    @Option(name: .customLong("restore-grace"), help: ArgumentHelp(Settings.help("restore-grace"))) var restoreGrace: String?
    @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp(Settings.help("checkpoint-every"))) var checkpointEvery: String?
    @Option(name: .customLong("benchmark-retention"), help: ArgumentHelp(Settings.help("benchmark-retention"))) var benchmarkRetention: String?
    @Option(help: ArgumentHelp(Settings.help("profile"))) var profile: String?
    @Option(name: .customLong("log-level"), help: ArgumentHelp(Settings.help("log-level"))) var logLevel: String?
    @Option(name: .customLong("log-format"), help: ArgumentHelp(Settings.help("log-format"))) var logFormat: String?

    func run() async throws {
        let dir = try data.directory()!
        var flags: [String: [String]] = [:]
        let single: [(String, String?)] = [("bind", bind), ("advertise", advertise), ("api", api), ("api-token-file", apiTokenFile),
                                           ("host-name", hostName), ("network-key-file", networkKeyFile), ("quota-per-hour", quotaPerHour),
                                           ("new-authors-per-hour", newAuthorsPerHour), ("new-authors-per-peer-per-hour", newAuthorsPerPeerPerHour),
                                           ("discover", discover), ("peers-file", peersFile), ("forget-dead-after", forgetDeadAfter),
                                           ("body-limit", bodyLimit), ("events-keep-alive", eventsKeepAlive), ("restore-grace", restoreGrace),
                                           ("checkpoint-every", checkpointEvery), ("benchmark-retention", benchmarkRetention), ("profile", profile), ("log-level", logLevel),
                                           ("log-format", logFormat)]
        for (k, v) in single { if let v { flags[k] = [v] } }
        if !seed.isEmpty { flags["seed"] = seed }
        if !trust.isEmpty { flags["trust"] = trust }
        if !block.isEmpty { flags["block"] = block }
        let settings = try Settings(flags: flags, dataDirectory: dir.path)
        try await NodeRunner.run(data: dir, settings: settings)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the node's author, entries, storage, digest and peers.")
    @OptionGroup var client: ClientOptions
    @Flag(help: "Print the raw JSON.") var json = false

    func run() throws {
        let j = try check(try client.client().get("/v1/status"), "status")
        if json { print(JSON.serialize(j)); return }
        func n(_ v: JSONValue?) -> String { v?.numberValue.map { String(Int64($0)) } ?? "?" }
        print("author      \(j["author"]?.stringValue ?? "?")")
        if let previous = j["identity"]?["successor_of"]?.stringValue {
            print("identity    successor of \(previous): the previous identity forked (see `status --json` .identity.advice);")
            print("            add this author to the trust lists that named the previous one")
        }
        print("address     \(j["address"]?.stringValue ?? "?")  host \(j["host"]?.stringValue ?? "?")")
        print("entries     \(n(j["entries"])) from \(n(j["authors"])) author(s), \(n(j["held"])) held, \(n(j["quarantined"])) quarantined")
        if let r = j["retention"], r["stored_entries"] != nil {
            func mib(_ v: JSONValue?) -> String { v?.numberValue.map { decimal($0 / 1_048_576, places: 2) + " MiB" } ?? "?" }
            print("stored      \(n(r["live_entries"])) live entries (\(mib(r["live_bytes"]))), \(n(r["dead_entries"])) dead awaiting compaction; "
                  + "database \(mib(r["database_bytes"])) (\(mib(r["database_free_bytes"])) free); \(n(r["compacted_entries"])) compacted since start")
        }
        print("digest      \(j["digest"]?.stringValue ?? "?")")
        print("peers       \(n(j["peers"]?["alive"])) alive, \(n(j["peers"]?["suspect"])) suspect, \(n(j["peers"]?["dead"])) dead")
        print("version     \(j["version"]?.stringValue ?? "?")")
    }
}

struct Remember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remember",
        abstract: "Write a memory through the running node; prints its entry id.",
        discussion: "Example: gossip-node remember --category anti-pattern --tag provider-x \"Provider X drops requests at 03:00 UTC\"")
    @OptionGroup var client: ClientOptions
    @Option(help: "The memory's category (anti-pattern, outage, lesson, ...).") var category: String
    @Option(help: "A key; a later memory with the same key supersedes this one.") var key: String?
    @Option(help: "A tag (repeatable).") var tag: [String] = []
    @Option(help: "The project it concerns.") var project: String?
    @Argument(help: "The memory's text.") var text: [String]

    func validate() throws {
        if text.joined(separator: " ").trimming(" \t").isEmpty { throw ValidationError("give the memory's text, e.g. gossip-node remember --category lesson \"...\"") }
    }

    func run() throws {
        var body: [String: JSONValue] = ["category": .string(category), "content": .string(text.joined(separator: " "))]
        if let key { body["key"] = .string(key) }
        if !tag.isEmpty { body["tags"] = .array(tag.map { .string($0) }) }
        if let project { body["project"] = .string(project) }
        let j = try check(try client.client().post("/v1/memories", json: .object(body)), "remember")
        print(j["id"]?.stringValue ?? "")
    }
}

struct Recall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Full-text recall through the running node, one block per memory with its provenance.",
        discussion: "Example: gossip-node recall --category outage --trusted-only provider X")
    @OptionGroup var client: ClientOptions
    @Option(help: "Only this category.") var category: String?
    @Option(help: "Only memories with this tag.") var tag: String?
    @Flag(name: .customLong("trusted-only"), help: "Only memories from trusted authors.") var trustedOnly = false
    @Option(help: "At most this many (1-1000).") var limit: Int = 20
    @Flag(help: "Print the raw JSON.") var json = false
    @Argument(help: "Words to look for; none: the newest memories.") var query: [String] = []

    func validate() throws { if !(1...1000).contains(limit) { throw ValidationError("--limit takes 1 to 1000") } }

    func run() throws {
        var q: [String] = ["limit=\(limit)"]
        if !query.isEmpty { q.append("q=" + percentEncode(query.joined(separator: " "))) }
        if let category { q.append("category=" + percentEncode(category)) }
        if let tag { q.append("tag=" + percentEncode(tag)) }
        if trustedOnly { q.append("trusted=only") }
        let j = try check(try client.client().get("/v1/memories?" + q.joined(separator: "&")), "recall")
        if json { print(JSON.serialize(j)); return }
        let ms = j["memories"]?.arrayValue ?? []
        if ms.isEmpty { printError("no memories found"); return }
        for m in ms {
            let tags = (m["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
            print("[\(m["category"]?.stringValue ?? "")] \(m["content"]?.stringValue ?? "")")
            print("  key \(m["key"]?.stringValue ?? "")\(tags.isEmpty ? "" : "  tags \(tags.joined(separator: ","))")")
            let trusted = m["trusted"] == .bool(true) ? "trusted" : "UNTRUSTED"
            print("  from \(m["host"]?.stringValue ?? "?") (\(String((m["author"]?.stringValue ?? "").prefix(16)))…, \(trusted)) at \(m["recorded_at"]?.stringValue ?? "?")")
            print("  id \(m["id"]?.stringValue ?? "")")
            print("")
        }
    }
}

struct Breaker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaker",
        abstract: "Circuit breakers: open, close, and the merged view.",
        subcommands: [Open.self, Close.self, List.self])

    static func split(_ s: String) throws -> (String, String) {
        guard let slash = s.firstIndex(of: "/"), slash != s.startIndex, s.index(after: slash) != s.endIndex else {
            throw ValidationError("expected PROVIDER/MODEL, e.g. kimi-coding/k2p5")
        }
        return (String(s[..<slash]), String(s[s.index(after: slash)...]))
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "open", abstract: "Open a breaker for a while.", discussion: "Example: gossip-node breaker open kimi-coding/k2p5 --for 2h --reason \"503s\"")
        @OptionGroup var client: ClientOptions
        @Argument(help: "PROVIDER/MODEL") var target: String
        @Option(name: .customLong("for"), help: "How long: 90s, 15m, 2h, 1d.") var duration: String
        @Option(help: "Why.") var reason: String?
        func validate() throws {
            _ = try Breaker.split(target)
            guard let ms = DurationText.parseMillis(duration), ms > 0 else { throw ValidationError("--for takes a duration like 90s, 15m, 2h, 1d") }
        }
        func run() throws {
            let (p, m) = try Breaker.split(target)
            let until = Int64(wallClockMillis()) + Int64(DurationText.parseMillis(duration) ?? 0)
            var body: [String: JSONValue] = ["provider": .string(p), "model": .string(m), "state": .string("open"), "resets_at": .string(RFC3339.format(millis: until))]
            if let reason { body["reason"] = .string(reason) }
            let j = try check(try client.client().post("/v1/breakers", json: .object(body)), "breaker open")
            print("\(p)/\(m) open until \(RFC3339.format(millis: until))  id \(j["id"]?.stringValue ?? "")")
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a breaker.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "PROVIDER/MODEL") var target: String
        func validate() throws { _ = try Breaker.split(target) }
        func run() throws {
            let (p, m) = try Breaker.split(target)
            let j = try check(try client.client().post("/v1/breakers", json: .object(["provider": .string(p), "model": .string(m), "state": .string("closed")])), "breaker close")
            print("\(p)/\(m) closed  id \(j["id"]?.stringValue ?? "")")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The merged breaker state per provider/model.")
        @OptionGroup var client: ClientOptions
        @Flag(name: .customLong("trusted-only"), help: "Only events from trusted authors.") var trustedOnly = false
        @Flag(help: "Print the raw JSON.") var json = false
        func run() throws {
            let j = try check(try client.client().get("/v1/breakers" + (trustedOnly ? "?trusted=only" : "")), "breaker list")
            if json { print(JSON.serialize(j)); return }
            let bs = j["breakers"]?.arrayValue ?? []
            if bs.isEmpty { printError("no breakers"); return }
            for b in bs {
                let target = "\(b["provider"]?.stringValue ?? "")/\(b["model"]?.stringValue ?? "")"
                let until = b["resets_at"]?.stringValue.map { " until \($0)" } ?? ""
                let reason = b["reason"]?.stringValue.map { " (\($0))" } ?? ""
                print("\(target.padded(to: 28)) \(b["state"]?.stringValue ?? "")\(until)\(reason)  by \(b["host"]?.stringValue ?? "?")")
            }
        }
    }
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "The membership list.")
    @OptionGroup var client: ClientOptions
    @Flag(help: "Print the raw JSON.") var json = false
    func run() throws {
        let j = try check(try client.client().get("/v1/peers"), "peers")
        if json { print(JSON.serialize(j)); return }
        let ps = j["peers"]?.arrayValue ?? []
        if ps.isEmpty { printError("no peers known yet"); return }
        for p in ps {
            print("\((p["author"]?.stringValue ?? "").prefix(16))…  \((p["address"]?.stringValue ?? "").padded(to: 22)) \((p["state"]?.stringValue ?? "").padded(to: 8)) \(p["last_seen"]?.stringValue ?? "never seen")")
        }
    }
}
