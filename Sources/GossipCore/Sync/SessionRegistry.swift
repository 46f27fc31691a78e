import Wire

/// A peer and an author whose entries a session is streaming to it.
public struct StreamKey: Hashable, Sendable {
    public let peer: Bytes32
    public let author: Bytes32
    public init(peer: Bytes32, author: Bytes32) { self.peer = peer; self.author = author }
}

/// The limits the registry applies (defaults: ``SessionLimits``).
public struct SessionRegistryLimits: Sendable {
    /// Sessions running at once.
    public var maxSessions = 32
    /// New, verified entries a session must have stored to count as a catch-up.
    public var catchUpEntries = 1_000
    /// A catch-up holds other sessions off only while it stored something this recently.
    public var catchUpProgressMillis: UInt64 = 5_000
    /// A peer that announced heads and did not deliver them gets no promise honoured for this long.
    public var brokenPromiseMillis: UInt64 = 3_600_000
    /// The longest a session may run.
    public var maxLifetimeMillis: UInt64 = 15 * 60_000
    /// A session that completes no frame in either direction for this long is closed.
    public var stallMillis: UInt64 = 30_000
    public init() {}
}

/// The per-node bookkeeping that sync sessions share, as a plain value: which session streams
/// which author to which peer (claims), the heads each session's peer announced (promises to
/// the others), which sessions still await their peer's vector, catch-ups in progress, peers
/// that broke a promise, and each session's age and last frame (for its watchdog).
///
/// Sans-IO like the cores: time is passed in; the node and the simulator hold one each.
public struct SessionRegistry: Sendable {
    public let limits: SessionRegistryLimits
    private struct Running {
        var peer: Bytes32
        var started: UInt64
        var lastFrame: UInt64
        var stored = 0
    }
    private var running: [UInt64: Running] = [:]
    private var nextID: UInt64 = 0
    private var streaming: [StreamKey: UInt64] = [:]
    private var promised: [UInt64: [VersionVectorHead]] = [:]
    /// Per session, the seqs it announced as held on other sessions' promises (its peer owes
    /// nothing up to them).
    private var reliedOn: [UInt64: [Bytes32: UInt64]] = [:]
    private var vectorPending: Set<UInt64> = []
    private var catchUps: [UInt64: UInt64] = [:]
    private var brokenPromises: [Bytes32: UInt64] = [:]

    public init(limits: SessionRegistryLimits = .init()) { self.limits = limits }

    /// Why a session may not start.
    public enum Refusal: Error, Sendable, Equatable {
        /// A catch-up is streaming in from another peer (a second session would carry the same entries again).
        case busy
        /// ``SessionRegistryLimits/maxSessions`` run already.
        case sessionLimit
    }

    /// Sessions running now.
    public var count: Int { running.count }

    /// Whether a session could start now (without starting one).
    public func admits(now: UInt64) -> Refusal? {
        if running.count >= limits.maxSessions { return .sessionLimit }
        if catchUpInProgress(now: now) { return .busy }
        return nil
    }

    /// Registers a session with `peer`; its id, or why not.
    public mutating func open(peer: Bytes32, now: UInt64) -> Result<UInt64, Refusal> {
        if let refusal = admits(now: now) { return .failure(refusal) }
        nextID += 1
        running[nextID] = Running(peer: peer, started: now, lastFrame: now)
        return .success(nextID)
    }

    /// Forgets a session: its claims, its promises, its place in the vector queue.
    public mutating func close(_ id: UInt64) {
        running[id] = nil
        streaming = streaming.filter { $0.value != id }
        promised[id] = nil
        reliedOn[id] = nil
        vectorPending.remove(id)
        catchUps[id] = nil
    }

    /// True while a catch-up (other than `excluding`) streams in and keeps storing new entries.
    public func catchUpInProgress(now: UInt64, excluding: UInt64? = nil) -> Bool {
        catchUps.contains { $0.key != excluding && now < $0.value &+ limits.catchUpProgressMillis }
    }

    // MARK: Claims

    /// Claims the streaming of `author`'s entries to the session's peer; false when another
    /// session has it (claims end with their session, once the peer has ingested the entries).
    public mutating func claim(author: Bytes32, for id: UInt64) -> Bool {
        guard let peer = running[id]?.peer else { return false }
        let key = StreamKey(peer: peer, author: author)
        if let holder = streaming[key] { return holder == id }
        streaming[key] = id
        return true
    }

    // MARK: Vectors and promises

    /// True while some session has announced its vector and awaits its peer's: a session about to
    /// announce its own waits for that (a round trip), then announces those heads as promised.
    public var awaitingVectors: Bool { !vectorPending.isEmpty }

    /// `id` announced its vector and now awaits its peer's.
    public mutating func announced(_ id: UInt64) { vectorPending.insert(id) }

    /// The heads that the peers of sessions other than `id` announced, except from peers that
    /// broke a promise lately. A session's own peer's heads are never among them: its vector can
    /// arrive before this side announces (each side sends as soon as it is ready), and
    /// announcing the peer's own heads back would tell it this node holds everything it has.
    /// They are remembered as what `id` relies on: its peer is not expected to deliver them.
    /// `except` is an author never announced on a promise (the node's own: it must be learned
    /// for real), so its peer still owes it.
    public mutating func promises(to id: UInt64, now: UInt64, except: Bytes32? = nil) -> [VersionVectorHead] {
        brokenPromises = brokenPromises.filter { now < $0.value &+ limits.brokenPromiseMillis }
        let heads = promised.sorted { $0.key < $1.key }
            .filter { $0.key != id && running[$0.key].map { brokenPromises[$0.peer] == nil } ?? false }.flatMap(\.value)
            .filter { $0.author != except }
        if running[id] != nil {
            reliedOn[id] = heads.reduce(into: [:]) { seqs, h in seqs[h.author] = max(seqs[h.author] ?? 0, h.seq) }
        }
        return heads
    }

    /// `id`'s peer announced `heads`: they are promised to the other sessions while `id` runs.
    /// Returns true when no session awaits a vector any more (the waiting ones may go on).
    @discardableResult
    public mutating func received(vector heads: [VersionVectorHead], for id: UInt64) -> Bool {
        if running[id] != nil { promised[id] = heads }
        vectorPending.remove(id)
        return vectorPending.isEmpty
    }

    /// After `id` ended: did its peer deliver what it announced (`have`: what is stored now, per
    /// author)? A peer that did not has its announcements ignored for a while. Returns true when
    /// a promise was broken.
    public mutating func checkPromises(of id: UInt64, have: [Bytes32: UInt64], now: UInt64) -> Bool {
        guard let peer = running[id]?.peer, let heads = promised[id] else { return false }
        // What this node announced as held on another session's promise was never owed.
        let relied = reliedOn[id] ?? [:]
        guard heads.contains(where: { (have[$0.author] ?? 0) < $0.seq && (relied[$0.author] ?? 0) < $0.seq }) else { return false }
        brokenPromises[peer] = now
        return true
    }

    /// The authors whose announced heads `id` must still check (see ``checkPromises(of:have:now:)``).
    public func promisedAuthors(of id: UInt64) -> Set<Bytes32> { Set(promised[id]?.map(\.author) ?? []) }

    // MARK: Progress and watchdog

    /// `id` stored `count` new, verified entries (`total` so far in the session).
    public mutating func stored(_ count: Int, total: Int, for id: UInt64, now: UInt64) {
        running[id]?.stored = total
        if count > 0, total > limits.catchUpEntries { catchUps[id] = now }
    }

    /// A frame of `id` went out or came in.
    public mutating func frame(of id: UInt64, now: UInt64) { running[id]?.lastFrame = now }

    /// Why a session is closed by its watchdog.
    public enum Expiry: String, Sendable, Equatable { case lifetime, stalled }

    /// When `id`'s watchdog is next due, and why it would close the session then.
    public func watchdog(of id: UInt64) -> (due: UInt64, reason: Expiry)? {
        guard let r = running[id] else { return nil }
        let end = r.started &+ limits.maxLifetimeMillis, stall = r.lastFrame &+ limits.stallMillis
        return end <= stall ? (end, .lifetime) : (stall, .stalled)
    }
}
