import CRDTLog
import Dispatch
import GossipCore
import Logging
import NIOCore
import NIOPosix
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a local write through the node failed.
public enum NodeWriteError: Error, Sendable, CustomStringConvertible {
    case store(StoreError)
    public var description: String { if case .store(let e) = self { e.description } else { "" } }
}

/// Why the node could not start listening.
public enum NodeStartError: Error, CustomStringConvertible {
    case tcpBind(address: String, underlying: String)
    public var description: String {
        switch self {
        case .tcpBind(let a, let u): "cannot listen on TCP \(a): \(u)"
        }
    }
}

/// Milliseconds since the Unix epoch, from the system clock.
public func wallClockMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

/// A running gossip node: the IO shell around the membership and replication cores. It owns
/// the UDP socket, the TCP listener and the sync sessions, feeds datagrams, frames and time to
/// the cores, and carries out their effects. All protocol decisions live in the cores.
public actor Node {
    public nonisolated let identity: SigningKeyPair
    public nonisolated let store: LogStore
    public nonisolated let configuration: NodeConfiguration
    nonisolated let networkKey: [UInt8]
    nonisolated let packetKey: [UInt8]
    /// The protocol: membership, replication, push batching, seed retries, the start-up fence.
    var core: NodeCore
    /// The membership core (read-only here: every change goes through ``core``).
    var swim: SWIM { core.swim }
    var quota: AuthorQuota
    var newAuthors: NewAuthorLimit
    var replay = ReplayFilter()
    public internal(set) var metrics = NodeMetrics()
    var digest = Bytes32.zero
    var entryCount: UInt64 = 0
    /// The ``LogSummary/version`` that `digest` and `entryCount` came from.
    var summaryVersion: UInt64 = 0
    /// Datagrams to send; a task drains it into the socket (sending never blocks the cores).
    var udpOut: AsyncStream<AddressedEnvelope<ByteBuffer>>.Continuation?
    var socketAddresses: [String: SocketAddress] = [:]
    var sessions: [Bytes32: Task<Void, Never>] = [:]
    var seedDials: [Task<Void, Never>] = []
    /// The sync sessions' shared bookkeeping (claims, promises, catch-ups, watchdogs) and the
    /// session machines running now, by id.
    var registry = SessionRegistry(limits: SessionLimits.registry)
    var syncSessions: [UInt64: SyncSession] = [:]
    /// Wakes each session's sending half when its machine may have more to send.
    var sessionWakers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    /// Tickets for connections in their handshake and for vector waiters.
    var ticketCounter: UInt64 = 0
    /// Addresses a dial is in progress to (one at a time per address).
    var dialing: Set<String> = []
    /// Connections still in their handshake, per source address and in all (see ``SessionLimits``).
    var handshaking: [String: Int] = [:]
    var handshakingTotal = 0
    var inHandshake: Set<UInt64> = []
    /// Bytes buffered in incomplete frames over all sessions (see ``SessionLimits/maxBufferedBytes``).
    var bufferedSessionBytes = 0
    /// The cores' timer (see ``scheduleTick()``), when it fires, and whether it runs at all.
    var tickTimer: Task<Void, Never>?
    var tickWakeAt: UInt64 = 0
    var timerRunning = false
    /// When to hand unused memory back (30 s after start, and after a big session); see
    /// ``releaseMemory()``.
    var memoryReleaseAt: UInt64?
    /// Member records waiting to be saved (nil: forget), at most one per member known (bounded by
    /// ``SWIMConfiguration/maxMembers``); written together in one transaction at `peerSaveAt`, at
    /// most once per ``GossipNodeDefaults/peerSaveDelayMillis`` (the last save was at
    /// `lastPeerSaveAt`), and on leaving.
    var peerChanges: [Bytes32: RememberedPeer?] = [:]
    var peerSaveAt: UInt64?
    var lastPeerSaveAt: UInt64?
    /// Sessions waiting to announce a version vector until no session awaits its peer's.
    var vectorWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    /// The specific address gossip is bound to, which TCP dials start from (nil for a wildcard).
    var localDialAddress: SocketAddress?
    /// Event streams waiting for news: each gets a signal (not the entries; it reads them from
    /// the log by cursor, so a slow reader lags but never loses one).
    var subscribers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    var nextSubscriber: UInt64 = 0
    /// The gossip port actually bound (useful with port 0).
    public private(set) var boundPort: Int?
    public private(set) var isBound = false
    /// When entries were last stored here, and the digest at which the search index was last
    /// merged (``runRetention()``).
    var lastStoreChangeAt: UInt64 = 0
    /// Entries pushed by members, waiting to be stored, in arrival order (at most
    /// ``SessionLimits/maxQueuedPushEntries``): one task drains them in batches, a transaction per
    /// sender and batch, while datagrams keep being read.
    var pushQueue: [(peer: Bytes32, entries: [[UInt8]])] = []
    var pushQueueEntries = 0
    var pushDrainRunning = false
    /// Entries taken in lately: a pushed copy of one is dropped on arrival (``RecentEntries``).
    var recentEntries = RecentEntries()
    var searchIndexOptimizedFor: Bytes32?
    /// The digest at the last look at the search index's growth (``runRetention()``).
    var searchIndexCheckedFor: Bytes32?
    /// One line per minute for repeated events (failed handshakes per address, limits hit).
    var logThrottle = LogThrottle()
    /// Callers of ``waitUntilBound()`` waiting for the sockets.
    var boundWaiters: [CheckedContinuation<Void, Never>] = []
    let log: Logger
    nonisolated let now: @Sendable () -> UInt64
    /// Yields once when this node learns that its own identity forked: whoever runs the node
    /// restarts it under a successor identity (``NodeRunner``, ``DataDirectory/prepareSuccessor()``).
    public nonisolated let ownIdentityForked: AsyncStream<Void>
    /// The API's per-route request counts and latencies (filled by the router).
    public nonisolated let apiMetrics = APIMetrics()
    nonisolated let ownIdentityForkedContinuation: AsyncStream<Void>.Continuation

    public init(identity: SigningKeyPair, networkKey: [UInt8], store: LogStore, configuration: NodeConfiguration,
                clock: @escaping @Sendable () -> UInt64 = wallClockMillis, logger: Logger = Logger(label: "gossip-node")) {
        self.log = logger
        (ownIdentityForked, ownIdentityForkedContinuation) = AsyncStream.makeStream(of: Void.self)
        self.identity = identity
        self.networkKey = networkKey
        packetKey = Packet.packetKey(networkKey: networkKey)
        self.store = store
        self.configuration = configuration
        now = clock
        let seed = UInt64.random(in: 0...UInt64.max)
        // A restart must outrank what others remember of us: the incarnation is the clock in
        // milliseconds, above the one a run that stopped just before left with (its start + 1;
        // in seconds, a restart within the second of a leave started at the incarnation its
        // peers held as `left`). A clock that stepped back is outranked by ``SWIM``'s rules.
        core = NodeCore(swim: SWIM(identity: identity, address: configuration.advertised.description, incarnation: clock(),
                                   configuration: configuration.swim, seed: seed),
                        replication: ReplicationCore(me: identity.publicKey, digest: .zero, configuration: configuration.replication, seed: seed &+ 1),
                        seeds: configuration.seeds.map(\.description), reconnectIntervalMillis: configuration.swim.reconnectIntervalMillis)
        quota = AuthorQuota(perHour: configuration.quotaPerHour)
        newAuthors = NewAuthorLimit(perPeerPerHour: configuration.newAuthorsPerPeerPerHour, totalPerHour: configuration.newAuthorsPerHour)
    }

    // MARK: - Running

    /// Binds the gossip sockets and runs until the task is cancelled.
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let host = configuration.bind.host
        let udp = try await Self.bindUDP(host: host, port: configuration.bind.port)
        let port = udp.channel.localAddress?.port ?? configuration.bind.port
        let server: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(WireLimits.idleTimeoutMillis))))
                    try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                    return AcceptedConnection(try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel))
                }
            }
        } catch {
            // The UDP socket is open: close it properly before giving up.
            try? await udp.executeThenClose { _, _ in }
            throw NodeStartError.tcpBind(address: HostPort(host: host, port: port).description, underlying: "\(error)")
        }
        boundPort = port
        if !["0.0.0.0", "::", "localhost"].contains(host) { localDialAddress = try? SocketAddress(ipAddress: host, port: 0) }
        if configuration.bind.port == 0 { core.setAddress(HostPort(host: configuration.advertised.host, port: port).description) }
        await startUp()
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask {
                // NIO closes a datagram socket on most send errors (e.g. EPERM when a local
                // firewall drops a datagram); the node then binds a fresh one on the same port.
                var socket = udp
                while true {
                    try? await self.serveUDP(socket)
                    try Task.checkCancellation()
                    await self.udpClosed()
                    while true {
                        do {
                            socket = try await Self.bindUDP(host: host, port: port)
                            break
                        } catch {
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
            tasks.addTask {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            // Sync sessions (a catch-up's transactions among them) run on the runtime's
                            // pool, not on the event loops that serve datagrams and the API.
                            connections.addTask(executorPreference: EventLoopExecutor.background) { await self.accept(connection) }
                        }
                    }
                }
            }
            tasks.addTask { await self.runTimer() }
            tasks.addTask { await withTaskExecutorPreference(EventLoopExecutor.background) { await self.runRetention() } }
            if let discovery = configuration.discovery {
                tasks.addTask {
                    // Blocking reads (a command, a file) run off the actor.
                    while !Task.isCancelled {
                        let found = await Task.detached { discovery.addresses() }.value
                        await self.discovered(found)
                        try? await Task.sleep(for: .milliseconds(Int(Discovery.intervalMillis)))
                    }
                }
            }
        }
    }

    typealias UDPChannel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    static func bindUDP(host: String, port: Int) async throws -> UDPChannel {
        try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(SessionLimits.udpReceiveBufferBytes))
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Datagrams are read off the socket into the node's queue while it is busy (up
                    // to the limit), instead of being left in the kernel's buffer, which holds
                    // only ~100 datagrams and drops the rest (2,175 in a 20,000-write burst with
                    // NIO's default of 10 queued).
                    let queue = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
                        lowWatermark: SessionLimits.maxQueuedDatagrams / 4, highWatermark: SessionLimits.maxQueuedDatagrams)
                    return try UDPChannel(wrappingChannelSynchronously: channel, configuration: .init(backPressureStrategy: queue))
                }
            }
    }

    /// Receives and sends datagrams until the socket closes (or the node stops).
    func serveUDP(_ udp: UDPChannel) async throws {
        try await udp.executeThenClose { inbound, outbound in
            let (datagrams, continuation) = AsyncStream<AddressedEnvelope<ByteBuffer>>.makeStream(bufferingPolicy: .bufferingNewest(4096))
            self.attachUDP(continuation)
            try await withThrowingDiscardingTaskGroup { halves in
                halves.addTask { for await d in datagrams { try? await outbound.write(d) } }
                halves.addTask {
                    defer { continuation.finish() }
                    for try await envelope in inbound { await self.receive(envelope) }
                }
            }
        }
    }


    func attachUDP(_ out: AsyncStream<AddressedEnvelope<ByteBuffer>>.Continuation) {
        udpOut = out
        isBound = true
        for w in boundWaiters { w.resume() }
        boundWaiters.removeAll()
    }

    /// Returns once the gossip sockets are bound (at once if they are).
    public func waitUntilBound() async {
        if isBound { return }
        await withCheckedContinuation { boundWaiters.append($0) }
    }

    func udpClosed() {
        udpOut = nil
        metrics.udpRebinds += 1
        log.warning("the gossip UDP socket closed after a send error; binding it again")
    }

    /// Loads remembered peers, contacts them and the seeds, and fences writes until a first sync.
    func startUp() async {
        memoryReleaseAt = now() + GossipNodeDefaults.memoryReleaseAfterStartMillis
        adopt(await store.summary())
        let t = now()
        let remembered = (try? await store.rememberedPeers()) ?? []
        // Seeds given once are kept: a node started later without --seed still has its way in.
        try? await store.saveSeeds(configuration.seeds.map(\.description), now: Int64(t))
        core.addSeeds((try? await store.rememberedSeeds()) ?? [])
        let updates = remembered.filter { $0.author != identity.publicKey }
            .map { MemberUpdate(member: $0.author, address: $0.address, incarnation: $0.incarnation, state: .alive) }
        perform(core.learn(updates, now: t))
        if await store.hasSignedBefore, !remembered.isEmpty || !configuration.seeds.isEmpty, configuration.restoreGraceMillis > 0 {
            // Fork-safe restore: a database restored from an old copy must learn this node's own
            // newer entries from peers before it signs again. Writes meanwhile wait in the
            // durable outbox (accepted, readable as pending), never refused. A directory whose
            // identity never signed anything needs no check.
            core.fence(until: t + configuration.restoreGraceMillis, confirmers: Set(updates.map(\.member)))
            log.info("start-up check: writes are accepted as pending until a known peer confirms this node's latest entries",
                     metadata: ["at_most_seconds": "\(configuration.restoreGraceMillis / 1000)"])
            await store.setWriteFence("checking this node's own latest entries with peers after start (at most \(configuration.restoreGraceMillis / 1000) s)")
        } else if !((try? await store.pendingWrites()) ?? []).isEmpty {
            await liftFenceAndSignPending()
        }
        // Remembered peers are not dialled here: the first tick probes one, every probe and ack
        // carries the digest, and a node far behind syncs at once while one a few entries behind
        // gets them pushed by the peers that kept them (hinted handoff; see ``NodeCore``), without
        // a session. Seeds are dialled by the first tick (``NodeCore`` retries them while they are
        // not alive members); a node whose remembered peers do not answer dials them when none is
        // alive (``NodeCore``'s lonely retry).
    }

    /// Tells a few members this node is leaving, and stops its sessions.
    public func leave() async {
        perform(core.leave(now: now()))
        for (_, c) in subscribers { c.finish() }
        subscribers.removeAll()
        for t in sessions.values { t.cancel() }
        for t in seedDials { t.cancel() }
        await savePeerChanges()
        // Give the goodbye datagrams a moment to be written.
        try? await Task.sleep(for: .milliseconds(50))
    }

    /// Runs the cores' timer until cancelled: one timer set to the earliest deadline of SWIM,
    /// replication, the write fence and the seed retries, moved earlier whenever a message or a
    /// write brings a deadline closer (see ``scheduleTick()``).
    func runTimer() async {
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        timerRunning = true
        scheduleTick()
        for await _ in stopped {}  // ends when the node's task group is cancelled
        stop.finish()
        timerRunning = false
        tickTimer?.cancel()
        tickTimer = nil
    }

    /// The earliest time something is due.
    func nextDeadline(now t: UInt64) -> UInt64 {
        var due = core.nextDeadline(now: t)
        if let m = memoryReleaseAt { due = min(due, m) }
        if let p = peerSaveAt { due = min(due, p) }
        return due
    }

    /// Sets the timer to the next deadline (at least 10 ms and at most `tickMillis` ahead),
    /// unless it already fires sooner. Called after every state change of the cores.
    func scheduleTick() {
        guard timerRunning else { return }
        let t = now()
        let due = min(max(nextDeadline(now: t), t + 10), t + max(configuration.tickMillis, 10))
        if tickTimer != nil, due >= tickWakeAt { return }
        tickTimer?.cancel()
        tickWakeAt = due
        tickTimer = Task {
            try? await Task.sleep(for: .milliseconds(Int(due - t)))
            guard !Task.isCancelled else { return }
            tickTimer = nil
            await tick()
            scheduleTick()
        }
    }

    func tick() async {
        let t = now()
        perform(core.tick(now: t))
        if let p = peerSaveAt, t >= p { await savePeerChanges() }
        if let m = memoryReleaseAt, t >= m {
            if registry.count > 0 { memoryReleaseAt = t + GossipNodeDefaults.memoryReleaseDelayMillis } else { await releaseMemory() }
        }
    }

    /// Gives back what start-up or a big session left behind: SQLite's page cache and freed heap
    /// (see ``MemoryRelease``). A quiet node then holds its working set, not its high-water mark.
    func releaseMemory() async {
        memoryReleaseAt = nil
        await store.releaseMemory()
        if let r = MemoryRelease.release() {
            metrics.memoryReleases += 1
            log.debug("released unused memory", metadata: ["resident": "\(r)"])
        }
    }

    /// Addresses discovery found: dialled like seeds unless an alive member is there.
    func discovered(_ addresses: [String]) {
        metrics.discoveredAddresses = addresses.count
        perform(core.discovered(addresses))
    }

    /// Dials a seed (the core asks while it is not an alive member): a node that started while
    /// its seeds were unreachable, or whose side of a partition forgot the other, finds them later.
    func dialSeed(_ address: String) {
        guard let seed = HostPort(address), !dialing.contains(seed.description) else { return }
        seedDials.removeAll { $0.isCancelled }
        seedDials.append(Task(executorPreference: EventLoopExecutor.background) { await self.dial(address: seed, expected: nil) })
        if seedDials.count > 64 { seedDials.removeFirst(seedDials.count - 64) }
    }

    // MARK: - Effects

    /// Carries out what the protocol core asks (the one interpreter of the cores' effects is
    /// ``NodeCore``; this only does the IO).
    func perform(_ effects: [NodeCore.Effect]) {
        defer { scheduleTick() }
        for e in effects {
            switch e {
            case .datagram(let address, let messages):
                for case .push(let es) in messages { metrics.entriesPushed += es.count }
                send(messages, to: address)
            case .dial(let peer, let address):
                startSession(with: peer, address: address)
            case .dialSeed(let address):
                dialSeed(address)
            case .memberChanged(let u):
                log.log(level: u.state == .alive ? .info : .notice, "member \(u.state)",
                        metadata: ["member": "\(u.member.hex.prefix(12))", "address": "\(u.address)", "incarnation": "\(u.incarnation)"])
                rememberPeer(u.member, RememberedPeer(author: u.member, address: u.address, lastSeenMillis: Int64(now()), incarnation: u.incarnation))
            case .memberForgotten(let id):
                log.info("member forgotten", metadata: ["member": "\(id.hex.prefix(12))"])
                rememberPeer(id, nil)
            case .liftFence:
                log.info("start-up check over: signing writes again")
                Task { await self.liftFenceAndSignPending() }
            }
        }
    }

    /// Queues a member's record to be saved (nil: forgotten). The first change after a quiet
    /// spell is written at once (a node's first member, its seed, is on disk as soon as it joined);
    /// what follows within ``GossipNodeDefaults/peerSaveDelayMillis`` of that write waits for the
    /// timer and goes in one transaction, so a join wave that brings a hundred members one by one
    /// costs a few durable writes, not one each.
    private func rememberPeer(_ id: Bytes32, _ peer: RememberedPeer?) {
        peerChanges[id] = .some(peer)
        guard peerSaveAt == nil else { return }
        let t = now()
        if let last = lastPeerSaveAt, t < last + GossipNodeDefaults.peerSaveDelayMillis {
            peerSaveAt = last + GossipNodeDefaults.peerSaveDelayMillis
        } else {
            peerSaveAt = t
            Task { await self.savePeerChanges() }
        }
    }

    /// Writes the queued member records now (the first change after a quiet spell, the timer, a
    /// node leaving).
    func savePeerChanges() async {
        peerSaveAt = nil
        guard !peerChanges.isEmpty else { return }
        lastPeerSaveAt = now()
        let changes = peerChanges
        peerChanges.removeAll()
        do { try await store.updatePeers(changes) } catch {
            log.warning("could not save the member list", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Status

    public func membershipRejected() -> [String: Int] { swim.rejected }

    /// Whether this node is ready to serve, and what keeps it from being so: gossip sockets bound,
    /// the database answering, this node's own log writable (not quarantined as forked). Writes
    /// during the start-up check are accepted (pending), so the check does not make a node unready.
    public func readiness() async -> (ready: Bool, reasons: [String], signingPaused: Bool) {
        var reasons: [String] = []
        if !isBound { reasons.append("the gossip sockets are not bound yet") }
        if (try? await store.pendingWrites()) == nil { reasons.append("the database does not answer") }
        if await store.quarantinedAuthors().contains(identity.publicKey) {
            reasons.append("this node's own log forked and is quarantined: its writes are refused")
        }
        let paused = await store.writeFence != nil
        return (reasons.isEmpty, reasons, paused)
    }
    /// Counts an API request refused by the local-caller checks.
    public func countAPIRefusal(_ reason: String) { metrics.apiRefused[reason, default: 0] += 1 }
    public func members() -> [Member] { Array(swim.members.values).sorted { $0.id < $1.id } }
    public func memberCounts() -> (alive: Int, suspect: Int, dead: Int) { swim.counts() }
    public func currentDigest() -> Bytes32 { digest }
    public var advertisedAddress: String { swim.myAddress }
}

/// Closes a TCP connection when the idle timer fires.
final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}


