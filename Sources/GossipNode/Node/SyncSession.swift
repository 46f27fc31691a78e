import GossipCore
import CRDTLog
import Dispatch
import Logging
import NIOCore
import NIOPosix
import Wire

/// Reads a TCP connection's bytes: exact-size reads for the handshake, then chunks.
struct InboundBytes {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    mutating func read(exactly n: Int, isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8] {
        while buffer.count < n {
            guard let chunk = try await iterator.next(isolation: isolation) else { throw SessionError.closed }
            buffer += chunk.readableBytesView
        }
        defer { buffer.removeFirst(n) }
        return Array(buffer[0..<n])
    }

    /// Whatever is buffered, else the next chunk; nil at end of stream.
    mutating func next(isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8]? {
        if !buffer.isEmpty { defer { buffer = [] }; return buffer }
        return try await iterator.next(isolation: isolation).map { Array($0.readableBytesView) }
    }
}

/// Why a session ended early.
enum SessionError: Error, CustomStringConvertible {
    case closed
    case handshake(HandshakeError)
    case frame(FrameError)
    case malformed(WireDecodingError)
    case noCommonVersion
    case timeout
    /// A catch-up is streaming in from another peer.
    case busy
    /// Too many sessions at once (``SessionLimits/maxSessions``).
    case sessionLimit
    /// The peer's version vector has more authors than ``SessionLimits/maxVersionVectorAuthors``.
    case vectorTooLarge
    /// Incomplete frames of all sessions would exceed ``SessionLimits/maxBufferedBytes``.
    case bufferLimit

    var description: String {
        switch self {
        case .closed: "connection closed"
        case .handshake(let e): "handshake: \(e)"
        case .frame(let e): "frames: \(e)"
        case .malformed(let e): "message: \(e)"
        case .noCommonVersion: "no common protocol version"
        case .timeout: "timed out"
        case .busy: "busy catching up from another peer"
        case .sessionLimit: "too many sessions at once"
        case .vectorTooLarge: "version vector over the author limit"
        case .bufferLimit: "session buffers full"
        }
    }

    var label: String {
        switch self {
        case .closed: "closed"
        case .handshake(let e): e == .networkKeyMismatch ? "network_key_mismatch" : "handshake_failed"
        case .frame(let e): e.label
        case .malformed: "malformed_message"
        case .noCommonVersion: "no_common_version"
        case .timeout: "timeout"
        case .busy: "busy"
        case .sessionLimit: "session_limit"
        case .vectorTooLarge: "vector_too_large"
        case .bufferLimit: "buffer_limit"
        }
    }
}

/// A received batch being verified, and since when (for the ingest latency metric).
struct VerifyingBatch {
    let verifying: Task<[Result<Entry, EntryRejection>], Never>
    let since: UInt64
}

/// Where a session's ingest time went (logged after a catch-up).
struct SessionTiming {
    var verifyWaitNanos: UInt64 = 0
    var commitNanos: UInt64 = 0
}

/// What the sending half of a session is told by the reading half.
enum SenderCommand: Sendable {
    case myVersionVector(Message)
    case theirVersionVector(heads: [VersionVectorHead], quarantined: Set<Bytes32>)
    case finish
}

extension Node {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Opens a sync session with a known member (the replication core asked for it).
    func startSession(with peer: Bytes32) {
        guard sessions[peer] == nil, !catchUpInProgress(now: now()), runningSessions < SessionLimits.maxSessions,
              let m = swim.members[peer], let address = HostPort(m.address), !dialing.contains(address.description) else {
            perform(repl.syncFinished(peer, now: now()))
            return
        }
        log.debug("sync: the replication core asks for a session", metadata: ["peer": "\(peer.hex.prefix(12))"])
        sessions[peer] = Task { await self.dial(address: address, expected: peer) }
    }

    /// Dials `address`, runs the handshake (insisting on `expected` when given) and a session.
    func dial(address: HostPort, expected: Bytes32?) async {
        metrics.syncsStarted += 1
        dialing.insert(address.description)
        defer { dialing.remove(address.description) }
        log.debug("sync: dialling", metadata: ["address": "\(address)", "expected": "\(expected.map { String($0.hex.prefix(12)) } ?? "any")"])
        var peer = expected
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(3))
            // Dial from the gossip address, so peers and firewalls see one address per node.
            if let local = localDialAddress { bootstrap = bootstrap.bind(to: local) }
            let connection = try await bootstrap
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(WireLimits.idleTimeoutMillis))))
                        try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            let watchdog = Self.handshakeWatchdog(connection.channel)
            try await connection.executeThenClose { inbound, outbound in
                var reader = InboundBytes(iterator: inbound.makeAsyncIterator())
                var hs = HandshakeInitiator(networkKey: networkKey, identity: identity, expectedPeer: expected)
                let keys: SessionKeys
                do {
                    try await outbound.write(ByteBuffer(bytes: hs.start()))
                    let m3 = try hs.receive(message2: await reader.read(exactly: Handshake.message2Bytes))
                    try await outbound.write(ByteBuffer(bytes: m3))
                    keys = try hs.receive(message4: await reader.read(exactly: Handshake.message4Bytes))
                } catch let e as HandshakeError { throw SessionError.handshake(e) }
                watchdog.cancel()
                peer = keys.peer
                repl.syncStarted(keys.peer, now: now())  // seed and start-up dials count too
                try await runSession(keys: keys, reader: &reader, outbound: outbound, channel: connection.channel)
            }
            metrics.syncsCompleted += 1
            await liftFence()
        } catch {
            metrics.syncsFailed += 1
            if let e = error as? SessionError { metrics.sessionsRejected[e.label, default: 0] += 1 }
        }
        if let expected { sessions[expected] = nil }
        if let p = peer { perform(repl.syncFinished(p, now: now())) }
    }

    /// Claims the streaming of `author`'s entries to `peer` for `session`; false when another
    /// session has it (claims end with their session, when the peer has ingested the entries).
    func claimStream(to peer: Bytes32, author: Bytes32, session: UInt64) -> Bool {
        let key = StreamKey(peer: peer, author: author)
        guard streaming[key] == nil else { return streaming[key] == session }
        streaming[key] = session
        return true
    }

    func releaseClaims(of session: UInt64) {
        streaming = streaming.filter { $0.value != session }
    }

    /// True while a catch-up streams in and keeps storing new entries (then a second session
    /// would mostly carry the same entries again). A stalled one holds nobody off.
    func catchUpInProgress(now t: UInt64, excluding session: UInt64? = nil) -> Bool {
        bulkReceiving.contains { $0.key != session && t < $0.value + SessionLimits.catchUpProgressMillis }
    }

    /// Serves a session a peer opened, within the connection limits.
    func accept(_ accepted: AcceptedConnection) async {
        guard let connection = accepted.take() else { return }
        let source = connection.channel.remoteAddress?.ipAddress ?? "?"
        guard handshaking[source, default: 0] < SessionLimits.maxHandshakesPerSource, handshakingTotal < SessionLimits.maxHandshakes else {
            metrics.connectionsRefused["handshake_limit", default: 0] += 1
            try? await connection.executeThenClose { _, _ in }
            return
        }
        handshaking[source, default: 0] += 1
        handshakingTotal += 1
        sessionCounter += 1
        let ticket = sessionCounter
        inHandshake.insert(ticket)
        func handshakeOver() { endHandshake(ticket, source: source) }
        log.debug("sync: accepted a connection", metadata: ["from": "\(source)"])
        let watchdog = Self.handshakeWatchdog(connection.channel)
        var peer: Bytes32?
        do {
            try await connection.executeThenClose { inbound, outbound in
                var reader = InboundBytes(iterator: inbound.makeAsyncIterator())
                var hs = HandshakeResponder(networkKey: networkKey, identity: identity)
                let keys: SessionKeys
                do {
                    let m2 = try hs.receive(message1: await reader.read(exactly: Handshake.message1Bytes))
                    try await outbound.write(ByteBuffer(bytes: m2))
                    let (m4, k) = try hs.receive(message3: await reader.read(exactly: Handshake.message3Bytes))
                    try await outbound.write(ByteBuffer(bytes: m4))
                    keys = k
                } catch let e as HandshakeError { handshakeOver(); throw SessionError.handshake(e) } catch { handshakeOver(); throw error }
                handshakeOver()
                watchdog.cancel()
                if store.configuration.blocked.contains(keys.peer) { throw SessionError.closed }
                guard runningSessions < SessionLimits.maxSessions else { throw SessionError.sessionLimit }
                // While a big catch-up streams in, a second session would mostly carry the same
                // entries again: the peer retries after the catch-up.
                if catchUpInProgress(now: now()) { throw SessionError.busy }
                peer = keys.peer
                repl.syncStarted(keys.peer, now: now())
                try await runSession(keys: keys, reader: &reader, outbound: outbound, channel: connection.channel)
            }
            await liftFence()
        } catch {
            handshakeOver()
            watchdog.cancel()
            if let e = error as? SessionError { metrics.sessionsRejected[e.label, default: 0] += 1 }
        }
        if let p = peer { perform(repl.syncFinished(p, now: now())) }
    }

    /// A frame of `session` went out or came in: it is making progress (see ``sessionWatchdog(_:channel:)``).
    func noteFrame(of session: UInt64) { sessionActivity[session]?.lastFrame = now() }

    /// A connection left its handshake (done or failed): it no longer counts against the limits.
    func endHandshake(_ ticket: UInt64, source: String) {
        guard inHandshake.remove(ticket) != nil else { return }
        handshakingTotal -= 1
        if let n = handshaking[source], n > 1 { handshaking[source] = n - 1 } else { handshaking[source] = nil }
    }

    /// Closes a session's connection once it has run longer than ``SessionLimits/maxSessionLifetimeMillis``
    /// or completed no frame, in either direction, for ``SessionLimits/stallMillis``; counts why.
    func sessionWatchdog(_ session: UInt64, channel: any Channel) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                guard let a = sessionActivity[session] else { return }
                let due = min(a.started + SessionLimits.maxSessionLifetimeMillis, a.lastFrame + SessionLimits.stallMillis)
                let t = now()
                if t >= due {
                    let reason = t >= a.started + SessionLimits.maxSessionLifetimeMillis ? "lifetime" : "stalled"
                    metrics.sessionsRejected[reason, default: 0] += 1
                    log.info("closing a sync session", metadata: ["reason": "\(reason)"])
                    channel.close(promise: nil)
                    return
                }
                try? await Task.sleep(for: .milliseconds(Int(due - t)))
            }
        }
    }

    /// Commits the oldest verified batches until `keeping` remain in flight; returns how many
    /// new entries they stored.
    func commit(_ pending: inout [VerifyingBatch], keeping: Int, from peer: Bytes32, timing: inout SessionTiming) async -> Int {
        var stored = 0
        while pending.count > keeping {
            let batch = pending.removeFirst()
            let t0 = DispatchTime.now().uptimeNanoseconds
            let checked = await batch.verifying.value
            let t1 = DispatchTime.now().uptimeNanoseconds
            stored += await commit(checked, from: peer, viaSync: true, started: batch.since)?.stored.count ?? 0
            timing.verifyWaitNanos += t1 - t0
            timing.commitNanos += DispatchTime.now().uptimeNanoseconds - t1
        }
        return stored
    }

    /// Verification of a session's batch, on the background verifier's threads (all cores, at a
    /// lower priority than the commit; see ``BackgroundVerifier``).
    nonisolated static func verifyForSession(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        await BackgroundVerifier.shared.decodeAndVerify(encoded)
    }

    /// After a session: did its peer deliver the heads it announced? One that did not (a hostile
    /// member announcing what it does not have, to starve concurrent sessions) has its
    /// announcements ignored for ``SessionLimits/brokenPromiseMillis``.
    func checkPromises(of session: UInt64, peer: Bytes32) async {
        guard let promised = promisedHeads[session]?.heads, !promised.isEmpty else { return }
        let have = await store.seqs(of: Set(promised.map(\.author)))
        if promised.contains(where: { (have[$0.author] ?? 0) < $0.seq }) {
            brokenPromises[peer] = now()
            metrics.promisesBroken += 1
        }
    }

    /// Returns once no session awaits its peer's version vector, or after `timeoutMillis`.
    func awaitPendingVectors(timeoutMillis: Int) async {
        guard !vectorPending.isEmpty else { return }
        sessionCounter += 1
        let waiter = sessionCounter
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(timeoutMillis))
            self.vectorWaiters.removeValue(forKey: waiter)?.resume()
        }
        await withCheckedContinuation { vectorWaiters[waiter] = $0 }
        timer.cancel()
    }

    /// `session` no longer awaits its peer's version vector; the sessions waiting for that go on.
    func vectorAnswered(_ session: UInt64) {
        vectorPending.remove(session)
        guard vectorPending.isEmpty, !vectorWaiters.isEmpty else { return }
        let waiting = vectorWaiters
        vectorWaiters = [:]
        for c in waiting.values { c.resume() }
    }

    /// Closes the connection if the handshake has not finished in time.
    nonisolated static func handshakeWatchdog(_ channel: any Channel) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: .milliseconds(Int(WireLimits.handshakeTimeoutMillis)))
            if !Task.isCancelled { channel.close(promise: nil) }
        }
    }

    /// Both sides: greet (hello, members, version vector), stream what the other lacks, fork
    /// proofs, `syncDone`; ingest what arrives; end with a final frame once both are done.
    func runSession(keys: SessionKeys, reader: inout InboundBytes, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) async throws {
        let peer = keys.peer
        let (commands, control) = AsyncStream<SenderCommand>.makeStream()
        let greeting: [Message] = [
            .hello(versions: WireLimits.protocolVersions, agent: "gossip-node/\(GossipNodeVersion.current)", address: swim.myAddress),
            .members(Array(swim.signedRecords.prefix(WireLimits.maxMemberUpdates))),
        ]
        sessionCounter += 1
        let session = sessionCounter
        let sender = Task { try await self.sendHalf(keys: keys, session: session, greeting: greeting, commands: commands, outbound: outbound) }
        metrics.syncSessions += 1
        runningSessions += 1
        sessionActivity[session] = (now(), now())
        let watchdog = sessionWatchdog(session, channel: channel)
        var sent = 0, received = 0
        var buffered = 0
        /// Heads of the peer's vector arriving in parts.
        var vectorParts: [VersionVectorHead] = []
        defer {
            sender.cancel(); control.finish(); releaseClaims(of: session); bulkReceiving[session] = nil
            watchdog.cancel(); sessionActivity[session] = nil
            bufferedSessionBytes -= buffered
            promisedHeads[session] = nil
            vectorAnswered(session)
            runningSessions -= 1
            if received >= GossipNodeDefaults.bulkSessionEntries || sent >= GossipNodeDefaults.bulkSessionBytes {
                memoryReleaseAt = now() + GossipNodeDefaults.memoryReleaseDelayMillis
                scheduleTick()
            }
        }
        // When another session's peer is about to say what it holds, wait for that (a round trip,
        // at most half a second): this session then announces those heads as good as held, and
        // its peer sends only the rest instead of the same entries again.
        await awaitPendingVectors(timeoutMillis: 500)
        vectorPending.insert(session)  // before the next suspension: later sessions wait for this one
        let mine = await store.versionVector()
        let t0 = now()
        brokenPromises = brokenPromises.filter { t0 < $0.value + SessionLimits.brokenPromiseMillis }
        let promised = promisedHeads.values.filter { brokenPromises[$0.peer] == nil }.flatMap(\.heads)
        for m in SyncPlan.messages(mine, promised: promised) { control.yield(.myVersionVector(m)) }
        let opener = FrameOpener(receiveKey: keys.receiveKey)
        var theirDone = false
        let started = now()
        var nextProgressLog = started + 5_000
        // Batches being verified (off the actor), committed in arrival order.
        var pending: [VerifyingBatch] = []
        var timing = SessionTiming()
        reading: while let chunk = try await reader.next() {
            metrics.tcpBytesIn += chunk.count
            let frames: [[UInt8]]
            do { frames = try opener.receive(chunk) } catch { throw SessionError.frame(error) }
            // Incomplete frames of all sessions share one budget.
            bufferedSessionBytes += opener.pendingBytes - buffered
            buffered = opener.pendingBytes
            if bufferedSessionBytes > SessionLimits.maxBufferedBytes { throw SessionError.bufferLimit }
            if !frames.isEmpty { sessionActivity[session]?.lastFrame = now() }
            for frame in frames where !frame.isEmpty {
                let message: Message
                do { message = try Message.decode(frame: frame) } catch { throw SessionError.malformed(error) }
                switch message {
                case .hello(let versions, _, let address):
                    guard versions.overlaps(WireLimits.protocolVersions) else { throw SessionError.noCommonVersion }
                    if swim.members[peer] == nil {
                        perform(swim.learn([MemberUpdate(member: peer, address: address, incarnation: 0, state: .alive)], now: now()))
                    }
                case .members(let updates):
                    perform(swim.receive(records: updates, now: now()))
                case .versionVectorPart(let heads):
                    guard vectorParts.count + heads.count <= SessionLimits.maxVersionVectorAuthors else { throw SessionError.vectorTooLarge }
                    vectorParts += heads
                case .versionVector(let last, let quarantined):
                    guard vectorParts.count + last.count <= SessionLimits.maxVersionVectorAuthors else { throw SessionError.vectorTooLarge }
                    let heads = vectorParts + last
                    vectorParts = []
                    control.yield(.theirVersionVector(heads: heads, quarantined: Set(quarantined)))
                    promisedHeads[session] = (peer, heads)
                    vectorAnswered(session)
                case .entries(let batch), .push(let batch):
                    // Verification of the next batches (all cores) overlaps the commit of this one.
                    metrics.entriesReceived += batch.count
                    pending.append(VerifyingBatch(verifying: Task { await Self.verifyForSession(batch) }, since: DispatchTime.now().uptimeNanoseconds))
                    let stored = await commit(&pending, keeping: GossipNodeDefaults.batchesVerifiedAhead, from: peer, timing: &timing)
                    // A catch-up counts new, verified entries only (empty or forged ones are not progress).
                    received += stored
                    if stored > 0, received > GossipNodeDefaults.bulkSessionEntries { bulkReceiving[session] = now() }
                    if now() >= nextProgressLog {
                        // A big catch-up (a laptop back after a week) says how it is going.
                        nextProgressLog = now() + 5_000
                        log.info("catching up", metadata: ["from": "\(peer.hex.prefix(12))", "entries": "\(received)",
                                                           "per_second": "\(received * 1000 / max(1, Int(now() - started)))"])
                    }
                case .forkProofs(let proofs):
                    for p in proofs {
                        guard let proof = try? ForkProof(first: p.first, second: p.second) else { metrics.reject("bad_fork_proof"); continue }
                        if (try? await store.ingest(proof: proof, now: now())) == true { await afterStore([], forks: true, from: peer, pushOn: false) }
                    }
                case .syncDone:
                    // Everything they sent is stored before our final frame says so.
                    received += await commit(&pending, keeping: 0, from: peer, timing: &timing)
                    theirDone = true
                    control.yield(.finish)
                default:
                    break
                }
            }
            if opener.peerFinished { break reading }
        }
        received += await commit(&pending, keeping: 0, from: peer, timing: &timing)
        await checkPromises(of: session, peer: peer)
        guard theirDone else { throw SessionError.closed }
        sent = try await sender.value
        metrics.tcpBytesOut += sent
        if received >= 1_000 || now() - started >= 5_000 {
            log.info("caught up", metadata: ["from": "\(peer.hex.prefix(12))", "entries": "\(received)",
                                             "seconds": "\(Double(now() - started) / 1000)",
                                             "committing_seconds": "\(Double(timing.commitNanos / 1_000_000) / 1000)",
                                             "waiting_for_verification_seconds": "\(Double(timing.verifyWaitNanos / 1_000_000) / 1000)"])
        }
    }

    /// The sending half: greeting, then what the peer lacks, then `syncDone`, then (once the
    /// peer is done too) the final frame. Returns the bytes it wrote.
    nonisolated func sendHalf(keys: SessionKeys, session: UInt64, greeting: [Message], commands: AsyncStream<SenderCommand>,
                              outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Int {
        let sealer = FrameSealer(sendKey: keys.sendKey)
        var written = 0
        func write(_ m: Message) async throws {
            let bytes = try sealer.seal(m.frame)
            written += bytes.count
            try await outbound.write(ByteBuffer(bytes: bytes))
            await self.noteFrame(of: session)
        }
        for m in greeting { try await write(m) }
        for await command in commands {
            switch command {
            case .myVersionVector(let m):
                try await write(m)
            case .theirVersionVector(let heads, let quarantined):
                let mine = await store.versionVector()
                var batch: [[UInt8]] = []
                var size = 0
                func flush() async throws {
                    guard !batch.isEmpty else { return }
                    try await write(.entries(batch))
                    batch = []; size = 0
                }
                for (author, after) in SyncPlan.toSend(mine: mine, theirs: heads, theirQuarantined: quarantined) {
                    // Both nodes may dial each other at once; an author already streaming to this
                    // peer in the other session is not sent twice.
                    guard await claimStream(to: keys.peer, author: author, session: session) else { continue }
                    // The claim lasts until the session ends, when the peer has ingested it all.
                    var cursor = after
                    while true {
                        let entries = try await store.entries(author: author, afterSeq: cursor, limit: 512)
                        if entries.isEmpty { break }
                        for e in entries {
                            let encoded = e.encoded
                            if size + encoded.count + 8 > GossipNodeDefaults.syncFrameBytes || batch.count >= WireLimits.maxEntriesPerMessage {
                                try await flush()
                            }
                            batch.append(encoded); size += encoded.count + 8
                        }
                        cursor = entries.last!.seq
                    }
                    // No flush per author: a frame carries entries of several authors (a vector
                    // of many small authors would otherwise cost a frame and a commit each).
                }
                try await flush()
                let proofs = try await store.forkProofs().filter { SyncPlan.proofsToSend(mine: mine.quarantined, theirQuarantined: quarantined).contains($0.author) }
                if !proofs.isEmpty {
                    let wire = proofs.prefix(WireLimits.maxForkProofs).map { ForkProofHeaders(first: $0.first.signedHeader, second: $0.second.signedHeader) }
                    try await write(.forkProofs(Array(wire)))
                }
                try await write(.syncDone)
            case .finish:
                let last = try sealer.seal([], final: true)
                try await outbound.write(ByteBuffer(bytes: last))
                return written + last.count
            }
        }
        return written
    }
}
