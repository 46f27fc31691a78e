import CRDTLog
import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a node from resolved settings: gossip and the HTTP API as services of one
/// ServiceGroup, stopped gracefully on SIGTERM/SIGINT (the API stops first, in-flight writes
/// finish, then the node says goodbye and the database is closed).
public enum NodeRunner {
    public static func run(data: DataDirectory, settings: Settings) async throws {
        _ = ProcessStart.millis  // fixes the start time the metrics report
        let formatName = settings.value("log-format") ?? "text"
        guard let format = NodeLogHandler.Format(rawValue: formatName) else {
            throw UserError("--log-format \(formatName): expected text or json")
        }
        // systemd sets JOURNAL_STREAM when stderr goes to the journal: text lines get priorities.
        let journald = getenv("JOURNAL_STREAM") != nil
        let levelName = settings.value("log-level") ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw UserError("--log-level \(levelName): expected trace, debug, info, notice, warning, error or critical")
        }
        let levelSetting = LogLevelSetting(level)
        let logger = Logger(label: "gossip-node") { NodeLogHandler(label: $0, format: format, journald: journald, level: levelSetting) }
        let networkKey = try data.loadNetworkKey(file: settings.value("network-key-file"))
        let lockFD = try data.lock()
        defer { close(lockFD) }

        var config = NodeConfiguration()
        config.bind = try settings.hostPort("bind", defaultPort: GossipNodeDefaults.gossipPort)
        if let a = settings.value("advertise") {
            guard var hp = HostPort(a, defaultPort: config.bind.port) else { throw UserError("--advertise \(a): expected HOST:PORT") }
            // Member records carry numeric addresses (peers never resolve names): resolve it once, here.
            if IPAddress(hp.host) == nil {
                guard let ip = resolveNumeric(hp.host) else {
                    throw UserError("--advertise \(a): cannot resolve \(hp.host) to an address; give an IP address (e.g. this host's tailnet address)")
                }
                hp.host = ip
            }
            config.advertise = hp
        } else if config.bind.host == "0.0.0.0" {
            config.advertise = HostPort(host: reachableLocalAddress(), port: config.bind.port)
        }
        config.seeds = try settings.all("seed").map { s in
            guard let hp = HostPort(s, defaultPort: GossipNodeDefaults.gossipPort) else { throw UserError("--seed \(s): expected HOST:PORT") }
            return hp
        }
        config.quotaPerHour = try settings.integer("quota-per-hour", range: 1...100_000_000)
        config.newAuthorsPerHour = try settings.integer("new-authors-per-hour", range: 1...100_000_000)
        config.newAuthorsPerPeerPerHour = try settings.integer("new-authors-per-peer-per-hour", range: 1...100_000_000)
        config.restoreGraceMillis = try settings.duration("restore-grace")
        config.retention.checkpointEvery = UInt64(try settings.integer("checkpoint-every", range: 0...10_000_000))
        let window = try settings.duration("benchmark-retention")
        guard window >= 3_600_000, window <= 10 * 365 * 86_400_000 else {
            throw UserError("--benchmark-retention \(settings.value("benchmark-retention") ?? ""): expected a duration from 1h to 3650d, e.g. 30d")
        }
        config.retention.benchmarkWindowMillis = window
        config.hostName = settings.value("host-name") ?? machineHostName()
        switch settings.value("profile") ?? "lan" {
        case "lan": break
        case "fast": config.swim = .fast; config.replication = .fast; config.tickMillis = 200
        case let p: throw UserError("--profile \(p): expected lan or fast")
        }
        config.swim.deadRetentionMillis = try settings.duration("forget-dead-after")
        var sources: [Discovery.Source] = []
        switch settings.value("discover") ?? "auto" {
        case "auto":
            if let t = Discovery.findExecutable("tailscale") { sources.append(.tailscale(executable: t)) }
        case "tailscale":
            guard let t = Discovery.findExecutable("tailscale") else {
                throw UserError("--discover tailscale: no `tailscale` on PATH; install Tailscale or use --discover off")
            }
            sources.append(.tailscale(executable: t))
        case "off": break
        case let d: throw UserError("--discover \(d): expected auto, tailscale or off")
        }
        if let file = settings.value("peers-file") { sources.append(.peersFile(expandingTilde(file))) }
        if !sources.isEmpty { config.discovery = Discovery(sources: sources, port: config.advertised.port) }

        var api = APIConfiguration()
        api.bind = try settings.hostPort("api", defaultPort: GossipNodeDefaults.apiPort)
        api.bodyLimitBytes = try settings.integer("body-limit", range: 1024...(64 << 20))
        api.eventKeepAliveMillis = max(100, try settings.duration("events-keep-alive"))
        if let tokenFile = settings.value("api-token-file") {
            let token: String
            do { token = try IdentityFile.readSecret(at: tokenFile).trimming() } catch { throw UserError(error.description) }
            guard token.count >= 16 else { throw UserError("\(tokenFile): the token must be at least 16 characters") }
            api.token = token
        } else if !api.bind.isLoopback {
            throw UserError("--api \(api.bind) is not loopback: set api-token-file to a file holding a bearer token (e.g. `openssl rand -hex 32 > token; chmod 600 token`)")
        }

        let storeConfig = StoreConfiguration(trusted: try settings.authors("trust"), blocked: try settings.authors("block"))
        // Runs again, under a successor identity, when the node learns that its identity forked.
        while true {
            let (identity, isNew) = try await prepareIdentity(data: data, storeConfig: storeConfig, host: config.hostName, logger: logger)
            var config = config
            // A successor key made in this process has signed nowhere else: no start-up check.
            if isNew { config.restoreGraceMillis = 0 }
            let store: LogStore
            do { store = try LogStore(path: data.databasePath, identity: identity, configuration: storeConfig) } catch {
                throw UserError("cannot open \(data.databasePath): \(error)")
            }
            let node = Node(identity: identity, networkKey: networkKey, store: store, configuration: config, logger: logger)
            do {
                let reload = ReloadService(settings: settings, store: store, level: levelSetting, logger: logger)
                try await runOnce(node: node, config: config, api: api, data: data, reload: reload, logger: logger)
                return
            } catch is SuccessionNeeded {
                logger.notice("restarting under a successor identity")
                continue
            }
        }
    }

    /// The identity to run under: the directory's own, or — when it forked — a successor that
    /// announces itself and re-signs this node's writes from the fork on (resuming a move a
    /// crash interrupted).
    static func prepareIdentity(data: DataDirectory, storeConfig: StoreConfiguration, host: String, logger: Logger) async throws -> (SigningKeyPair, isNew: Bool) {
        let current = try data.loadIdentity()
        var successor = try data.pendingSuccessor()
        if successor == nil {
            let store: LogStore
            do { store = try LogStore(path: data.databasePath, identity: current, configuration: storeConfig) } catch {
                throw UserError("cannot open \(data.databasePath): \(error)")
            }
            let forked = await store.ownIdentityForked
            if store.ownSuccession != nil, !forked {
                // A successor already: re-sign whatever a lower fork point hid while it was stopped.
                let signed = (try? await store.continuePredecessor(now: wallClockMillis())) ?? []
                if !signed.isEmpty { logger.notice("re-signed \(signed.count) writes of the previous identity's forked branch") }
            }
            await store.close()
            guard forked else { return (current, false) }
            successor = try data.prepareSuccessor()
        }
        guard let next = successor else { return (current, false) }
        let store: LogStore
        do { store = try LogStore(path: data.databasePath, identity: next, configuration: storeConfig) } catch {
            throw UserError("cannot open \(data.databasePath): \(error)")
        }
        let signed: [Entry]
        do { signed = try await store.succeed(from: current, host: host, now: wallClockMillis()) } catch {
            await store.close()
            throw UserError("cannot announce the successor identity: \(error)")
        }
        let forkPoint = await store.forkPointsByAuthor()[current.publicKey]
        await store.close()
        try data.commitSuccessor(retiring: current)
        logger.error("this node's identity forked: it now writes as a successor identity, announced in its log and signed by both keys",
                     metadata: ["previous": "\(current.publicKey.hex)", "successor": "\(next.publicKey.hex)",
                                "fork_point": "\(forkPoint.map { "\($0)" } ?? "unknown")", "re_signed": "\(max(0, signed.count - 1))",
                                "what_to_do": "nodes that trust the previous identity trust this one while the previous stays forked; add the successor to their trust lists; find out which copy of the data directory wrote the other branch (a restored backup or a copied directory)"])
        return (next, true)
    }

    /// Runs one node and its API until shutdown, or until the node's identity forks
    /// (``SuccessionNeeded``).
    static func runOnce(node: Node, config: NodeConfiguration, api: APIConfiguration, data: DataDirectory, reload: ReloadService,
                        logger: Logger) async throws {
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let identity = node.identity
        let router = APIRoutes.router(node: node, configuration: api)
        var apiLogger = logger
        apiLogger.logLevel = max(logger.logLevel, .notice)
        let startLine = "gossip-node \(GossipNodeVersion.current) author \(identity.publicKey.hex) gossip \(config.bind) (advertised \(config.advertised)) api http://\(api.bind) data \(data.path)"
        let startLogger = logger
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(api.bind.host, port: api.bind.port), serverName: "gossip-node"),
            onServerRunning: { _ in
                startLogger.info("\(startLine)")
                // systemd (Type=notify): ready once the API serves and the gossip sockets are bound.
                if notifier.isActive {
                    await node.waitUntilBound()
                    notifier.send("READY=1\nSTATUS=serving; author \(identity.publicKey.hex.prefix(12))")
                }
            },
            logger: apiLogger)
        // Named here: without a name, ServiceLifecycle names a service by `String(describing:)` of
        // the whole value (reflecting every field, a visible share of a node's start-up CPU) and
        // logs that at debug level.
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: NodeService(node: node, notifier: notifier, logger: logger), serviceName: "node"),
                                            .init(service: app, serviceName: "api"), .init(service: reload, serviceName: "reload")],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped; database closed")
    }
}

/// The gossip node as a service: runs until graceful shutdown, then leaves and closes the store.
struct NodeService: Service {
    let node: Node
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await node.run() }
                group.addTask {
                    // On SIGTERM/SIGINT: say goodbye while the sockets are still open, then stop.
                    try? await gracefulShutdown()
                    notifier.send("STOPPING=1")
                    await node.leave()
                    throw CancellationError()
                }
                if let interval = notifier.watchdogIntervalMillis {
                    group.addTask {
                        // systemd's watchdog: a ping each half period while the node's actor answers.
                        while !Task.isCancelled {
                            _ = await node.readiness()
                            notifier.send("WATCHDOG=1")
                            try await Task.sleep(for: .milliseconds(Int64(interval)))
                        }
                    }
                }
                group.addTask {
                    // This node's identity forked: leave under it and restart under a successor.
                    for await _ in node.ownIdentityForked {
                        await node.leave()
                        throw SuccessionNeeded()
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch let e as SuccessionNeeded {
            await node.store.close()
            throw e
        } catch {
            logger.error("gossip stopped: \(error)")
            await node.store.close()
            throw UserError("cannot run gossip on \(node.configuration.bind): \(error)")
        }
        await node.store.close()
    }
}

/// SIGHUP: reads the config file and environment again and applies what can change while
/// running — the trust list, the block list and the log level — logging what it did; a config
/// that does not parse keeps the previous settings and says why.
struct ReloadService: Service {
    let settings: Settings
    let store: LogStore
    let level: LogLevelSetting
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        do {
            let fresh = try settings.reloaded()
            let trusted = try fresh.authors("trust"), blocked = try fresh.authors("block")
            let name = fresh.value("log-level") ?? "info"
            guard let newLevel = Logger.Level(rawValue: name) else {
                throw UserError("log-level \(name): expected trace, debug, info, notice, warning, error or critical")
            }
            let removed = try await store.reloadPolicy(trusted: trusted, blocked: blocked)
            level.current = newLevel
            logger.notice("reloaded: trust list, block list and log level (other settings take a restart)",
                          metadata: ["trusted": "\(trusted.count)", "blocked": "\(blocked.count)", "log_level": "\(newLevel)",
                                     "authors_removed": "\(removed)"])
        } catch {
            logger.error("reload failed; keeping the previous trust list, block list and log level: \(error)")
        }
    }
}

/// Thrown out of a node's service group when its identity forked: ``NodeRunner`` starts it
/// again under a successor identity.
struct SuccessionNeeded: Error {}

/// The first numeric address (IPv4 preferred) `host` resolves to, or nil. Blocking: start-up only.
func resolveNumeric(_ host: String) -> String? {
    var hints = addrinfo()
    hints.ai_socktype = Platform.streamSocket
    var res: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, nil, &hints, &res) == 0, let first = res else { return nil }
    defer { freeaddrinfo(res) }
    var found: [String] = []
    var p: UnsafeMutablePointer<addrinfo>? = first
    while let ai = p {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        if getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
            found.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        p = ai.pointee.ai_next
    }
    return found.first { !$0.contains(":") } ?? found.first
}
