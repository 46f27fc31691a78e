import CRDTLog
import Dispatch
import GossipClient
import GossipCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds peers without a seed: the online peers of the local tailnet (from `tailscale status
/// --json`, whose daemon knows every host of the tailnet) and the addresses in a static peers
/// file, each with the gossip port. The node dials what it finds like a seed, unless an alive
/// member is there already. Checked every ``intervalMillis``; a source that fails (no tailscale
/// daemon, a missing file) yields nothing until it works.
public struct Discovery: Sendable {
    /// Where addresses come from.
    public enum Source: Sendable, Equatable {
        /// `tailscale status --json`, run from this executable.
        case tailscale(executable: String)
        /// A file of addresses, one per line (`HOST:PORT` or `HOST` with the gossip port; `#` comments).
        case peersFile(String)
    }

    public let sources: [Source]
    /// The gossip port peers listen on (the tailnet's addresses carry none).
    public let port: Int
    /// How often the sources are read.
    public static let intervalMillis: UInt64 = 30_000
    /// How long `tailscale status` may take.
    public static let commandTimeoutMillis = 5_000
    /// Bytes of `tailscale status --json` read at most.
    public static let maxOutputBytes = 4 << 20

    public init(sources: [Source], port: Int) { self.sources = sources; self.port = port }

    /// Every address the sources name now. Blocks (runs a command, reads a file): call it off
    /// the node's actor.
    public func addresses() -> [String] {
        var out: [String] = []
        for source in sources {
            switch source {
            case .tailscale(let executable):
                guard let json = Subprocess.output(of: executable, ["status", "--json"], timeoutMillis: Self.commandTimeoutMillis,
                                                   limit: Self.maxOutputBytes) else { continue }
                out += Self.tailnetAddresses(statusJSON: json, port: port)
            case .peersFile(let path):
                guard let text = try? readTextFile(path) else { continue }
                out += Self.peersFileAddresses(text: text, defaultPort: port)
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// The online peers' addresses in `tailscale status --json` output (`Peer` → each peer's
    /// `Online` and `TailscaleIPs`, IPv4 first), with `port`; this host (`Self`) left out.
    public static func tailnetAddresses(statusJSON: [UInt8], port: Int) -> [String] {
        guard let status = try? JSON.parse(statusJSON), case .object(let peers)? = status["Peer"] else { return [] }
        let own = Set(status["Self"]?["TailscaleIPs"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var out: [String] = []
        for key in peers.keys.sorted() {
            guard let peer = peers[key], peer["Online"] == .bool(true),
                  let ips = peer["TailscaleIPs"]?.arrayValue?.compactMap(\.stringValue) else { continue }
            let usable = ips.filter { !own.contains($0) && IPAddress($0) != nil }
            guard let ip = usable.first(where: { !$0.contains(":") }) ?? usable.first else { continue }
            out.append(HostPort(host: ip, port: port).description)
        }
        return out
    }

    /// The addresses of a peers file: one per line, `#` starts a comment; numeric addresses only.
    public static func peersFileAddresses(text: String, defaultPort: Int) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line in
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimming() } ?? ""
            guard !content.isEmpty, let hp = HostPort(content, defaultPort: defaultPort), IPAddress(hp.host) != nil, hp.port > 0 else { return nil }
            return hp.description
        }
    }

    /// The path of `name` on `PATH`, if it is there and executable.
    public static func findExecutable(_ name: String, path: String? = getenv("PATH").map { String(cString: $0) }) -> String? {
        for dir in (path ?? "").split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private func readTextFile(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else { throw UserError("cannot read \(path)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs a command and collects its standard output (bounded in time and size); nil when it
/// cannot start, exits non-zero, or runs past its time (it is then killed).
enum Subprocess {
    static func output(of executable: String, _ arguments: [String], timeoutMillis: Int, limit: Int) -> [UInt8]? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else { close(fds[0]); return nil }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let deadline = monotonicMillis() + UInt64(timeoutMillis)
        var timedOut = false
        while true {
            let left = Int(deadline) - Int(monotonicMillis())
            if left <= 0 { timedOut = true; break }
            var p = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left)) > 0 else { continue }
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
            if out.count > limit { timedOut = true; break }
        }
        close(fds[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let exitedCleanly = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        return !timedOut && exitedCleanly ? out : nil
    }

    static func monotonicMillis() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
}
