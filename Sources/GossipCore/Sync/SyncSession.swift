import CRDTLog
import Wire

/// One anti-entropy sync session over an authenticated connection, as a sans-IO state machine
/// (the whole session, as ``SyncPlan`` is one step of it). The shell feeds it the peer's decoded
/// messages and the answers of its store; it says what to send, what to read, what to ingest and
/// when the session is over. The node drives it over TCP; the simulator drives the same machine
/// over its simulated network, so every protocol decision of a session runs in both.
///
/// Each side: greet (`hello`, `members`), announce its version vector (in parts when large),
/// stream each author's entries the peer lacks (in frames of at most ``frameBytes``), the fork
/// proofs the peer lacks, `syncDone`; ingest what arrives; once both sides are done and
/// everything received is committed, a final frame. See docs/protocol.md, "Sync sessions".
///
/// Two halves: ``next()`` is what the sending half does next (pulled, so a slow connection
/// holds the reading of entries back); ``receive(_:registry:)`` takes what the peer sent.
public struct SyncSession: Sendable {
    public let id: UInt64
    public let peer: Bytes32
    /// Bytes of entries per `entries` frame.
    public let frameBytes: Int
    /// Entries read from the store at a time.
    public let readLimit: Int
    /// Authors a peer's vector may name over all its parts.
    public let maxVectorAuthors: Int

    /// What the sending half does next.
    public enum Output: Sendable, Equatable {
        /// Send this message as the next frame.
        case frame(Message)
        /// Build this node's version vector (after any session awaiting its peer's vector got it,
        /// so the other sessions' promises are known) and hand it to ``vectorAnnounced(_:)``.
        case announceVector
        /// Plan what the peer lacks (``SyncPlan/toSend(mine:theirs:theirQuarantined:)`` against the
        /// store's vector now) and hand it to ``planned(_:registry:)``.
        case plan(theirs: [VersionVectorHead], theirQuarantined: Set<Bytes32>)
        /// Read up to `limit` of `author`'s entries after `afterSeq` and hand them to ``entriesRead(_:)``.
        /// `checkpointFirst` on the first read of an author: its applied checkpoint goes first when
        /// the peer is behind it (``LogStore/entries(author:afterSeq:limit:checkpointFirst:)``).
        case read(author: Bytes32, afterSeq: UInt64, limit: Int, checkpointFirst: Bool)
        /// Read the fork proofs of authors quarantined here but not named in `theirQuarantined`,
        /// and hand them to ``forkProofsRead(_:)``.
        case readForkProofs(theirQuarantined: Set<Bytes32>)
        /// Send the final frame: the session is complete on this side.
        case finalFrame
        /// Nothing until the peer sends something or the shell answers.
        case wait
        /// The final frame is out.
        case finished
    }

    /// What the receiving half asks of the shell.
    public enum Effect: Sendable, Equatable {
        /// The peer's own address, from its `hello` (it proved its identity in the handshake).
        case learnPeer(address: String)
        /// Member records from the peer's greeting (signed; the membership core checks them).
        case records([MemberUpdate])
        /// A batch of encoded entries: verify and commit, in arrival order; report with ``stored(_:now:registry:)``.
        case ingest([[UInt8]])
        /// Fork proofs to check and store.
        case forkProofs([ForkProofHeaders])
        /// The peer is done: commit everything received, then call ``committedAll()``.
        case commitAll
        /// No session awaits a peer's vector any more: sessions waiting to announce theirs go on.
        case vectorsSettled
    }

    /// Why the session fails.
    public enum Failure: Error, Sendable, Equatable {
        case noCommonVersion
        case vectorTooLarge
        /// The connection ended before the peer said it was done.
        case closedEarly
    }

    private enum Sending: Sendable, Equatable {
        case greeting, announcing, awaitingTheirVector, planning, streaming, readingProofs, done, finished
    }

    private var sending: Sending = .greeting
    private var outbox: [Message]
    private var outboxHead = 0
    private var vectorParts: [VersionVectorHead] = []
    private var theirVector: (heads: [VersionVectorHead], quarantined: Set<Bytes32>)?
    /// The peer sent `syncDone`.
    public private(set) var theirDone = false
    private var allCommitted = false
    private var plan: [(author: Bytes32, after: UInt64)] = []
    private var planIndex = 0
    private var cursor: UInt64 = 0
    private var readOutstanding = false
    /// Whether the current author's first read was asked for.
    private var authorStarted = false
    private var batch: [[UInt8]] = []
    private var batchBytes = 0
    /// New, verified entries this session stored.
    public private(set) var storedTotal = 0
    /// Entries this session sent.
    public private(set) var entriesSent = 0

    public init(id: UInt64, peer: Bytes32, greeting: [Message], frameBytes: Int = 1 << 20, readLimit: Int = 512,
                maxVectorAuthors: Int = 262_144) {
        self.id = id; self.peer = peer; outbox = greeting
        self.frameBytes = frameBytes; self.readLimit = max(1, readLimit); self.maxVectorAuthors = maxVectorAuthors
    }

    // MARK: Sending half

    /// What to do next (pull it again after doing it).
    public mutating func next() -> Output {
        if outboxHead < outbox.count {
            let m = outbox[outboxHead]
            outboxHead += 1
            if outboxHead == outbox.count { outbox.removeAll(keepingCapacity: true); outboxHead = 0 }
            return .frame(m)
        }
        switch sending {
        case .greeting:
            sending = .announcing
            return .announceVector
        case .announcing, .planning:
            return .wait
        case .readingProofs:
            guard !proofsAsked else { return .wait }
            proofsAsked = true
            return .readForkProofs(theirQuarantined: theirVector?.quarantined ?? [])
        case .awaitingTheirVector:
            guard let v = theirVector else { return .wait }
            sending = .planning
            return .plan(theirs: v.heads, theirQuarantined: v.quarantined)
        case .streaming:
            guard !readOutstanding else { return .wait }
            readOutstanding = true
            defer { authorStarted = true }
            return .read(author: plan[planIndex].author, afterSeq: cursor, limit: readLimit, checkpointFirst: !authorStarted)
        case .done:
            guard theirDone, allCommitted else { return .wait }
            sending = .finished
            return .finalFrame
        case .finished:
            return .finished
        }
    }

    /// This node's version vector, as messages (``SyncPlan/messages(_:promised:)``).
    public mutating func vectorAnnounced(_ messages: [Message]) {
        guard sending == .announcing else { return }
        outbox += messages
        sending = .awaitingTheirVector
    }

    /// What the peer lacks, per author; each author is claimed in `registry` first (both nodes
    /// may dial each other at once: an author already streaming to this peer in the other
    /// session is not sent twice).
    public mutating func planned(_ toSend: [(author: Bytes32, after: UInt64)], registry: inout SessionRegistry) {
        guard sending == .planning else { return }
        plan = toSend.filter { registry.claim(author: $0.author, for: id) }
        planIndex = 0
        if plan.isEmpty { sending = .readingProofs } else { cursor = plan[0].after; authorStarted = false; sending = .streaming }
    }

    /// Entries the store returned for the last ``Output/read(author:afterSeq:limit:)``, in seq order.
    public mutating func entriesRead(_ entries: [(seq: UInt64, encoded: [UInt8])]) {
        guard sending == .streaming, readOutstanding else { return }
        readOutstanding = false
        for e in entries {
            if !batch.isEmpty, batchBytes + e.encoded.count + 8 > frameBytes || batch.count >= WireLimits.maxEntriesPerMessage { flush() }
            batch.append(e.encoded)
            batchBytes += e.encoded.count + 8
        }
        if let last = entries.last, entries.count >= readLimit {
            cursor = last.seq
            return
        }
        // This author is done; entries of several authors share a frame.
        planIndex += 1
        if planIndex < plan.count {
            cursor = plan[planIndex].after
            authorStarted = false
        } else {
            flush()
            sending = .readingProofs
        }
    }

    private var proofsAsked = false

    /// The fork proofs the peer lacks (at most ``WireLimits/maxForkProofs`` are sent).
    public mutating func forkProofsRead(_ proofs: [ForkProofHeaders]) {
        guard sending == .readingProofs else { return }
        if !proofs.isEmpty { outbox.append(.forkProofs(Array(proofs.prefix(WireLimits.maxForkProofs)))) }
        outbox.append(.syncDone)
        sending = .done
    }

    private mutating func flush() {
        guard !batch.isEmpty else { return }
        outbox.append(.entries(batch))
        entriesSent += batch.count
        batch = []
        batchBytes = 0
    }

    // MARK: Receiving half

    /// Takes one message from the peer; what the shell must do about it.
    public mutating func receive(_ message: Message, registry: inout SessionRegistry) throws(Failure) -> [Effect] {
        switch message {
        case .hello(let versions, _, let address):
            guard versions.overlaps(WireLimits.protocolVersions) else { throw .noCommonVersion }
            return [.learnPeer(address: address)]
        case .members(let records):
            return [.records(records)]
        case .versionVectorPart(let heads):
            guard vectorParts.count + heads.count <= maxVectorAuthors else { throw .vectorTooLarge }
            vectorParts += heads
            return []
        case .versionVector(let last, let quarantined):
            guard vectorParts.count + last.count <= maxVectorAuthors else { throw .vectorTooLarge }
            let heads = vectorParts + last
            vectorParts = []
            theirVector = (heads, Set(quarantined))
            return registry.received(vector: heads, for: id) ? [.vectorsSettled] : []
        case .entries(let batch), .push(let batch):
            return [.ingest(batch)]
        case .forkProofs(let proofs):
            return [.forkProofs(proofs)]
        case .syncDone:
            theirDone = true
            return [.commitAll]
        default:
            return []
        }
    }

    /// The shell stored `count` new, verified entries received in this session.
    public mutating func stored(_ count: Int, now: UInt64, registry: inout SessionRegistry) {
        storedTotal += count
        registry.stored(count, total: storedTotal, for: id, now: now)
    }

    /// Everything received so far is committed (after ``Effect/commitAll``).
    public mutating func committedAll() { allCommitted = true }

    /// The peer's final frame arrived (a clean end of its stream).
    public func peerFinished() throws(Failure) {
        guard theirDone else { throw .closedEarly }
    }

    /// The heads the peer announced (empty before its vector arrived).
    public var theirHeads: [VersionVectorHead] { theirVector?.heads ?? [] }

    /// The seq the peer announced for `author` (nil before its vector, or when it holds none).
    public func theirHead(of author: Bytes32) -> UInt64? {
        theirVector?.heads.first { $0.author == author }?.seq
    }

    /// True once this side sent its final frame.
    public var isFinished: Bool { sending == .finished }
}
