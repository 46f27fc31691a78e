import CRDTLog
import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Wire

/// Every option of gossip-node, resolved from (highest first) command-line flags, environment
/// variables `GOSSIP_NODE_<OPTION>`, the `config` file of the data directory, and defaults.
public struct Settings: Sendable {
    /// An option: its name, default, whether it takes several values, and what it means.
    public struct Option: Sendable {
        public let name: String
        public let defaultValue: String?
        public let multiple: Bool
        public let help: String
    }

    public static let options: [Option] = [
        Option(name: "bind", defaultValue: "0.0.0.0:\(GossipNodeDefaults.gossipPort)", multiple: false, help: "where gossip listens, UDP and TCP (HOST:PORT)"),
        Option(name: "advertise", defaultValue: nil, multiple: false, help: "the address peers use to reach this node (default: the bind address, or this machine's tailnet/LAN address when bound to 0.0.0.0)"),
        Option(name: "api", defaultValue: "127.0.0.1:\(GossipNodeDefaults.apiPort)", multiple: false, help: "where the local HTTP API listens (HOST:PORT); beyond loopback it requires api-token-file"),
        Option(name: "api-token-file", defaultValue: nil, multiple: false, help: "a file holding the bearer token the API requires when bound beyond loopback"),
        Option(name: "seed", defaultValue: nil, multiple: true, help: "a peer to join through (HOST:PORT); peers learned later are remembered"),
        Option(name: "discover", defaultValue: "auto", multiple: false, help: "find peers without a seed: tailscale (the tailnet's online peers, from `tailscale status --json`), off, or auto (tailscale when it is installed)"),
        Option(name: "peers-file", defaultValue: nil, multiple: false, help: "a file of peer addresses, one per line (HOST:PORT or HOST), read every 30 s like discovery"),
        Option(name: "forget-dead-after", defaultValue: "24h", multiple: false, help: "how long a dead or departed peer is remembered (a node with no peer alive forgets none)"),
        Option(name: "trust", defaultValue: nil, multiple: true, help: "an author id whose entries read as trusted (besides this node's own); empty: everyone is trusted"),
        Option(name: "block", defaultValue: nil, multiple: true, help: "an author id never stored, answered or relayed"),
        Option(name: "host-name", defaultValue: nil, multiple: false, help: "the host name written into entries (default: this machine's)"),
        Option(name: "network-key-file", defaultValue: nil, multiple: false, help: "the network key file (default: network.key in the data directory)"),
        Option(name: "quota-per-hour", defaultValue: String(AuthorQuota.defaultPerHour), multiple: false, help: "entries accepted from the network per author per hour; more are deferred, not dropped"),
        Option(name: "new-authors-per-hour", defaultValue: String(NewAuthorLimit.defaultTotalPerHour), multiple: false, help: "authors never seen before accepted from the network per hour, in all (trusted authors are exempt); more are deferred, not dropped"),
        Option(name: "new-authors-per-peer-per-hour", defaultValue: String(NewAuthorLimit.defaultPerPeerPerHour), multiple: false, help: "authors never seen before accepted per hour from any one peer"),
        Option(name: "events-keep-alive", defaultValue: "15s", multiple: false, help: "time between keep-alive comments on a quiet /v1/events stream"),
        Option(name: "body-limit", defaultValue: String(1 << 20), multiple: false, help: "largest HTTP request body, in bytes"),
        Option(name: "restore-grace", defaultValue: "60s", multiple: false, help: "after a start, the longest this node waits for a known peer to confirm its own latest entries before signing again (fork-safe restore); writes meanwhile are accepted into the durable outbox, never refused; 0 disables"),
        Option(name: "checkpoint-every", defaultValue: String(RetentionRules.defaultCheckpointEvery), multiple: false, help: "this node writes a checkpoint of its own log after this many entries: what no view can show any more (a memory rewritten or retracted, an old breaker event, a benchmark past benchmark-retention) is then deleted on every node; 0 never checkpoints"),
        Option(name: "benchmark-retention", defaultValue: "30d", multiple: false, help: "how long benchmark observations are kept: the longest max_age the API answers; this node's older observations are dropped at its next checkpoint"),
        Option(name: "profile", defaultValue: "lan", multiple: false, help: "protocol timing: lan (probe every 1 s, like Serf) or fast (5x faster, for local clusters)"),
        Option(name: "log-format", defaultValue: "text", multiple: false, help: "text (with journald priorities when run by systemd) or json (one object per line)"),
        Option(name: "log-level", defaultValue: "info", multiple: false, help: "trace, debug, info, notice, warning, error or critical"),
    ]

    public private(set) var values: [String: [String]] = [:]
    /// What these settings were resolved from, for ``reloaded()``.
    let flags: [String: [String]]
    let dataDirectory: String?

    /// Resolves `flags` over the environment over the config file in `dataDirectory` over defaults.
    public init(flags: [String: [String]], dataDirectory: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.flags = flags
        self.dataDirectory = dataDirectory
        var file: [String: [String]] = [:]
        if let dir = dataDirectory, FileManager.default.fileExists(atPath: dir + "/config") {
            file = try Self.parseConfig(path: dir + "/config")
        }
        for o in Self.options {
            let envName = Self.environmentName(o.name)
            if let f = flags[o.name], !f.isEmpty {
                values[o.name] = f
            } else if let e = environment[envName], !e.isEmpty {
                values[o.name] = o.multiple ? e.split(separator: ",").map { $0.trimming(" \t") }.filter { !$0.isEmpty } : [e]
            } else if let v = file[o.name] {
                values[o.name] = v
            } else if let d = o.defaultValue {
                values[o.name] = [d]
            }
        }
    }

    /// The same flags resolved again over the environment and the config file as they are now.
    public func reloaded() throws -> Settings { try Settings(flags: flags, dataDirectory: dataDirectory) }

    /// An option's help with its default and its environment variable, for `run --help`.
    public static func help(_ name: String) -> String {
        guard let o = options.first(where: { $0.name == name }) else { return name }
        var text = o.help
        if let d = o.defaultValue { text += " (default \(d))" }
        text += " [env \(environmentName(name))\(o.multiple ? ", comma-separated" : "")]"
        return text
    }

    /// `GOSSIP_NODE_` and the option's name in capitals with underscores.
    public static func environmentName(_ name: String) -> String { "GOSSIP_NODE_" + name.uppercased().replacing("-", with: "_") }

    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// Reads `key = value` lines; `#` starts a comment; a key may repeat; values of the
    /// multi-valued options may also be comma-separated.
    static func parseConfig(path: String) throws -> [String: [String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw UserError("cannot read \(path)") }
        var out: [String: [String]] = [:]
        let known = Dictionary(uniqueKeysWithValues: options.map { ($0.name, $0) })
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimming(" \t") ?? ""
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else { throw UserError("\(path):\(n + 1): expected `option = value`, got `\(line)`") }
            let key = line[..<eq].trimming(" \t")
            var value = line[line.index(after: eq)...].trimming(" \t")
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard let o = known[key] else {
                throw UserError("\(path):\(n + 1): unknown option `\(key)`; known: \(options.map(\.name).joined(separator: ", "))")
            }
            let parts = o.multiple ? value.split(separator: ",").map { $0.trimming(" \t") } : [value]
            out[key, default: []] += parts.filter { !$0.isEmpty }
        }
        return out
    }

    /// The commented config file `init` writes: every option with its default.
    public static func defaultConfigText() -> String {
        var s = """
            # gossip-node configuration. Each option can also be set with a command-line flag
            # (--name value) or an environment variable GOSSIP_NODE_<NAME> (dashes as underscores);
            # flags win over the environment, the environment over this file.
            # Options that take several values repeat the line or separate values with commas.


            """
        for o in options {
            s += "# \(o.name): \(o.help)\n"
            s += o.defaultValue.map { "# \(o.name) = \($0)\n\n" } ?? "# \(o.name) =\n\n"
        }
        return s
    }

    // MARK: Typed views

    public func hostPort(_ name: String, defaultPort: Int) throws -> HostPort {
        let v = value(name) ?? ""
        guard let hp = HostPort(v, defaultPort: defaultPort) else { throw UserError("--\(name) \(v): expected HOST:PORT, e.g. 127.0.0.1:\(defaultPort)") }
        return hp
    }

    public func authors(_ name: String) throws -> Set<AuthorID> {
        Set(try all(name).map { s in
            guard let a = Bytes32(hex: s) else { throw UserError("--\(name) \(s): expected an author id of 64 hex characters (see `gossip-node status`)") }
            return a
        })
    }

    public func duration(_ name: String) throws -> UInt64 {
        let v = value(name) ?? "0"
        guard let ms = DurationText.parseMillis(v) else { throw UserError("--\(name) \(v): expected a duration like 90s, 15m, 2h, 1d") }
        return ms
    }

    public func integer(_ name: String, range: ClosedRange<Int>) throws -> Int {
        let v = value(name) ?? ""
        guard let n = Int(v), range.contains(n) else { throw UserError("--\(name) \(v): expected a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return n
    }
}

/// Durations on the command line: `500ms`, `90s`, `15m`, `2h`, `1d`, or a bare number of seconds.
public enum DurationText {
    public static func parseMillis(_ s: String) -> UInt64? {
        let t = s.trimming(" \t").lowercased()
        let units: [(String, UInt64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let n = UInt64(t.dropLast(suffix.count)) else { continue }
            return n.multipliedReportingOverflow(by: scale).overflow ? nil : n * scale
        }
        guard let seconds = UInt64(t) else { return nil }
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? nil : ms
    }
}
