import CRDTLog
import Dispatch
import GossipCore
import Logging
import NIOCore
import NIOPosix
import Wire

/// A received batch on its way to the store: verified off the actor, then committed after the
/// batch before it (a session's batches reach the store in arrival order). The session reads and
/// decodes its next frames meanwhile, so the store always has the next batch ready.
///
/// Batch `k + 1` enters the store as soon as batch `k`'s transaction ended, while batch `k`'s
/// bookkeeping (counters, subscribers, digest) runs on the node; the bookkeeping keeps order too.
struct InFlightBatch {
    let stored: Task<BatchOutcome, Never>
    let committed: Task<BatchOutcome, Never>
}

/// What one batch's commit stored, and where its time went.
struct BatchOutcome {
    var report: IngestReport?
    var verifyWaitNanos: UInt64 = 0
    var commitNanos: UInt64 = 0
}

/// Where a session's ingest time went (logged after a catch-up).
struct SessionTiming {
    var verifyWaitNanos: UInt64 = 0
    var commitNanos: UInt64 = 0
}

/// The NIO driver of a ``SyncSession``: frames in and out of the connection, the store's
/// answers, verification and commits. Every protocol decision is the machine's; the shared
/// bookkeeping is the node's ``SessionRegistry``.
extension Node {
    /// Runs one session over an authenticated connection until both sides are done. Returns
    /// whether the peer confirmed this node's own feed (it holds nothing of this node's author
    /// beyond what this node now holds): only such a session lifts the start-up write fence.
    func runSession(keys: SessionKeys, reader: inout InboundBytes, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) async throws -> Bool {
        let peer = keys.peer
        // Only a member known before this session (remembered, or learned through gossip) can
        // confirm this node's own feed at start; a fresh identity (anyone with the key) cannot.
        let knownBefore = swim.members[peer] != nil
        let id: UInt64
        switch registry.open(peer: peer, now: now()) {
        case .success(let opened): id = opened
        case .failure(let refusal): throw SessionError(refusal)
        }
        let greeting: [Message] = [
            .hello(versions: WireLimits.protocolVersions, agent: "gossip-node/\(GossipNodeVersion.current)", address: swim.myAddress),
            .members(Array(swim.signedRecords.prefix(WireLimits.maxMemberUpdates))),
        ]
        syncSessions[id] = SyncSession(id: id, peer: peer, greeting: greeting, frameBytes: GossipNodeDefaults.syncFrameBytes,
                                       maxVectorAuthors: SessionLimits.maxVersionVectorAuthors)
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        sessionWakers[id] = wake
        let sender = Task { try await self.sendHalf(id, keys: keys, outbound: outbound, wakeups: wakeups) }
        let watchdog = sessionWatchdog(id, channel: channel)
        metrics.syncSessions += 1
        var sent = 0
        var buffered = 0
        defer {
            sender.cancel(); wake.finish(); watchdog.cancel()
            let received = syncSessions[id]?.storedTotal ?? 0
            syncSessions[id] = nil
            sessionWakers[id] = nil
            registry.close(id)
            settleVectors()
            bufferedSessionBytes -= buffered
            if received >= GossipNodeDefaults.bulkSessionEntries || sent >= GossipNodeDefaults.bulkSessionBytes {
                memoryReleaseAt = now() + GossipNodeDefaults.memoryReleaseDelayMillis
                scheduleTick()
            }
        }
        let opener = FrameOpener(receiveKey: keys.receiveKey)
        let started = now()
        var nextProgressLog = started + 5_000
        var expected: Int?
        // Batches being verified (off the actor) and committed in arrival order.
        var pending: [InFlightBatch] = []
        var timing = SessionTiming()
        reading: while let chunk = try await reader.next() {
            metrics.tcpBytesIn += chunk.count
            let frames: [[UInt8]]
            do { frames = try opener.receive(chunk) } catch { throw SessionError.frame(error) }
            // Incomplete frames of all sessions share one budget.
            bufferedSessionBytes += opener.pendingBytes - buffered
            buffered = opener.pendingBytes
            if bufferedSessionBytes > SessionLimits.maxBufferedBytes { throw SessionError.bufferLimit }
            if !frames.isEmpty { registry.frame(of: id, now: now()) }
            for frame in frames where !frame.isEmpty {
                let message: Message
                do { message = try Message.decode(frame: frame) } catch { throw SessionError.malformed(error) }
                // Mutated in place (no copy of the machine's buffers per frame).
                guard syncSessions[id] != nil else { throw SessionError.closed }
                let effects: [SyncSession.Effect]
                do { effects = try syncSessions[id]?.receive(message, registry: &registry) ?? [] } catch { throw SessionError(error) }
                for effect in effects {
                    switch effect {
                    case .learnPeer(let address):
                        if swim.members[peer] == nil {
                            perform(core.learn([MemberUpdate(member: peer, address: address, incarnation: 0, state: .alive)], now: now()))
                        }
                    case .records(let records):
                        perform(core.receive(records: records, now: now()))
                    case .ingest(let batch):
                        // Verification of the next batches (all cores) and the reading of the
                        // frames after them overlap the commit of this one.
                        metrics.entriesReceived += batch.count
                        pending.append(inFlight(batch, after: pending.last, from: peer))
                        let stored = await settle(&pending, keeping: GossipNodeDefaults.batchesInFlight, timing: &timing)
                        syncSessions[id]?.stored(stored, now: now(), registry: &registry)
                        if now() >= nextProgressLog, let total = syncSessions[id]?.storedTotal {
                            // A big catch-up (a laptop back after a week) says how it is going: the
                            // entries the peer announced beyond what was held when it began, and an ETA.
                            nextProgressLog = now() + 5_000
                            if expected == nil, let heads = syncSessions[id]?.theirHeads {
                                let ours = await store.seqs(of: Set(heads.map(\.author)))
                                expected = heads.reduce(0) { sum, h in
                                    let mine = ours[h.author] ?? 0
                                    return mine == .max || h.seq <= mine ? sum : sum + Int(clamping: h.seq - mine)
                                } + total
                            }
                            let rate = total * 1000 / max(1, Int(elapsed(since: started)))
                            let left = max(0, (expected ?? total) - total)
                            log.info("catching up", metadata: ["from": "\(peer.hex.prefix(12))", "entries": "\(total)",
                                                               "of": "\(expected ?? total)", "per_second": "\(rate)",
                                                               "eta_seconds": "\(rate > 0 ? left / rate : 0)"])
                        }
                    case .forkProofs(let proofs):
                        for p in proofs {
                            guard let proof = try? ForkProof(first: p.first, second: p.second) else { metrics.reject("bad_fork_proof"); continue }
                            if (try? await store.ingest(proof: proof, now: now())) == true {
                                log.warning("fork proof received: the author is quarantined from there on",
                                            metadata: ["author": "\(proof.author.hex.prefix(12))", "seq": "\(proof.first.seq)", "from": "\(peer.hex.prefix(12))"])
                                await afterStore([], forks: true, from: peer, pushOn: false)
                                await forksRecorded([proof.author])
                            }
                        }
                    case .commitAll:
                        // Everything they sent is stored before our final frame says so.
                        let stored = await settle(&pending, keeping: 0, timing: &timing)
                        syncSessions[id]?.stored(stored, now: now(), registry: &registry)
                        syncSessions[id]?.committedAll()
                    case .vectorsSettled:
                        settleVectors()
                    }
                }
            }
            wake.yield()
            if opener.peerFinished { break reading }
        }
        let stored = await settle(&pending, keeping: 0, timing: &timing)
        syncSessions[id]?.stored(stored, now: now(), registry: &registry)
        await checkPromises(of: id)
        do { try syncSessions[id]?.peerFinished() } catch { throw SessionError(error) }
        sent = try await sender.value
        metrics.tcpBytesOut += sent
        let received = syncSessions[id]?.storedTotal ?? 0
        let theirs = syncSessions[id]?.theirHead(of: identity.publicKey) ?? 0
        let ours = await store.head(of: identity.publicKey)?.seq ?? 0
        let confirmed = knownBefore && theirs <= ours
        if received >= 1_000 || elapsed(since: started) >= 5_000 {
            log.info("caught up", metadata: ["from": "\(peer.hex.prefix(12))", "entries": "\(received)",
                                             "seconds": "\(Double(elapsed(since: started)) / 1000)",
                                             "committing_seconds": "\(Double(timing.commitNanos / 1_000_000) / 1000)",
                                             "waiting_for_verification_seconds": "\(Double(timing.verifyWaitNanos / 1_000_000) / 1000)"])
        }
        return confirmed
    }

    /// The sending half: does what the session's machine says next, until its final frame.
    /// Returns the bytes it wrote.
    nonisolated func sendHalf(_ id: UInt64, keys: SessionKeys, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                              wakeups: AsyncStream<Void>) async throws -> Int {
        let sealer = FrameSealer(sendKey: keys.sendKey)
        var written = 0
        var wakeup = wakeups.makeAsyncIterator()
        func write(_ bytes: [UInt8]) async throws {
            written += bytes.count
            try await outbound.write(ByteBuffer(bytes: bytes))
            await self.noteFrame(of: id)
        }
        while true {
            guard let output = await self.nextOutput(of: id) else { return written }
            switch output {
            case .frame(let m):
                try await write(try sealer.seal(m.frame))
            case .announceVector:
                await self.announceVector(of: id)
            case .plan(let theirs, let theirQuarantined):
                let mine = await store.versionVector()
                await self.planned(id, SyncPlan.toSend(mine: mine, theirs: theirs, theirQuarantined: theirQuarantined))
            case .read(let author, let after, let limit, let checkpointFirst):
                let entries = try await store.entries(author: author, afterSeq: after, limit: limit, checkpointFirst: checkpointFirst)
                await self.entriesRead(id, entries.map { (seq: $0.seq, encoded: $0.encoded) })
            case .readForkProofs(let theirQuarantined):
                let mine = await store.forkPointsByAuthor()
                let theirs = await self.theirSeqs(of: id, authors: Array(mine.keys))
                let wanted = SyncPlan.proofsToSend(mine: mine, theirQuarantined: theirQuarantined) { theirs[$0] }
                let proofs = wanted.isEmpty ? [] : try await store.forkProofs().filter { wanted.contains($0.author) }
                await self.forkProofsRead(id, proofs.map { ForkProofHeaders(first: $0.first.signedHeader, second: $0.second.signedHeader) })
            case .finalFrame:
                try await write(try sealer.seal([], final: true))
                return written
            case .wait:
                guard await wakeup.next() != nil else { return written }
            case .finished:
                return written
            }
        }
    }

    func nextOutput(of id: UInt64) -> SyncSession.Output? { syncSessions[id]?.next() }

    /// The seqs session `id`'s peer announced for `authors` (those it holds any of).
    func theirSeqs(of id: UInt64, authors: [AuthorID]) -> [AuthorID: UInt64] {
        guard let session = syncSessions[id] else { return [:] }
        var out: [AuthorID: UInt64] = [:]
        for a in authors { if let s = session.theirHead(of: a) { out[a] = s } }
        return out
    }

    /// Milliseconds since `start` by the node's clock; 0 if the clock stepped back meanwhile.
    func elapsed(since start: UInt64) -> UInt64 {
        let t = now()
        return t > start ? t - start : 0
    }

    /// A frame of `id` went out: it is making progress (see ``sessionWatchdog(_:channel:)``).
    func noteFrame(of id: UInt64) { registry.frame(of: id, now: now()) }

    /// This node's version vector for session `id`: after any session awaiting its peer's vector
    /// got it (a round trip, at most half a second), with those heads announced as good as held,
    /// so that peer sends only the rest instead of the same entries again.
    func announceVector(of id: UInt64) async {
        await awaitPendingVectors(timeoutMillis: 500)
        registry.announced(id)  // before the next suspension: later sessions wait for this one
        let mine = await store.versionVector()
        // This node's own feed is never announced on a promise: it must be learned for real
        // before the start-up fence lifts (see ``runSession``).
        let promised = registry.promises(to: id, now: now(), except: identity.publicKey)
        syncSessions[id]?.vectorAnnounced(SyncPlan.messages(mine, promised: promised))
    }

    func planned(_ id: UInt64, _ toSend: [(author: Bytes32, after: UInt64)]) {
        syncSessions[id]?.planned(toSend, registry: &registry)
    }

    func entriesRead(_ id: UInt64, _ entries: [(seq: UInt64, encoded: [UInt8])]) { syncSessions[id]?.entriesRead(entries) }

    func forkProofsRead(_ id: UInt64, _ proofs: [ForkProofHeaders]) { syncSessions[id]?.forkProofsRead(proofs) }

    /// Starts `batch` on its way: verification at once, its transaction once `previous`'s ended,
    /// its bookkeeping once `previous`'s is done.
    func inFlight(_ batch: [[UInt8]], after previous: InFlightBatch?, from peer: Bytes32) -> InFlightBatch {
        let since = DispatchTime.now().uptimeNanoseconds
        let verifying = Task { await Self.verifyForSession(batch) }
        // The batch's transaction is the long blocking part of a catch-up: off the event loops.
        let stored = Task(executorPreference: EventLoopExecutor.background) {
            _ = await previous?.stored.value
            let t0 = DispatchTime.now().uptimeNanoseconds
            let checked = await verifying.value
            let t1 = DispatchTime.now().uptimeNanoseconds
            let report = await self.storeBatch(checked, from: peer, started: since)
            return BatchOutcome(report: report, verifyWaitNanos: t1 - t0, commitNanos: DispatchTime.now().uptimeNanoseconds - t1)
        }
        return InFlightBatch(stored: stored, committed: Task {
            let outcome = await stored.value
            _ = await previous?.committed.value
            if let report = outcome.report { await self.finishBatch(report, from: peer, viaSync: true) }
            return outcome
        })
    }

    /// Waits for the oldest batches' commits until at most `keeping` are in flight; returns how
    /// many new entries they stored.
    func settle(_ pending: inout [InFlightBatch], keeping: Int, timing: inout SessionTiming) async -> Int {
        var stored = 0
        while pending.count > keeping {
            let outcome = await pending.removeFirst().committed.value
            stored += outcome.report?.stored.count ?? 0
            timing.verifyWaitNanos += outcome.verifyWaitNanos
            timing.commitNanos += outcome.commitNanos
        }
        return stored
    }

    /// Verification of a session's batch, on the background verifier's threads (all cores, at a
    /// lower priority than the commit; see ``BackgroundVerifier``).
    nonisolated static func verifyForSession(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        await EntryVerifier.inBackground(encoded)
    }

    /// After a session: did its peer deliver the heads it announced? One that did not (a hostile
    /// member announcing what it does not have, to starve concurrent sessions) has its
    /// announcements ignored for ``SessionLimits/brokenPromiseMillis``.
    func checkPromises(of id: UInt64) async {
        let authors = registry.promisedAuthors(of: id)
        guard !authors.isEmpty else { return }
        let have = await store.seqs(of: authors)
        if registry.checkPromises(of: id, have: have, now: now()) { metrics.promisesBroken += 1 }
    }

    /// Returns once no session awaits its peer's version vector, or after `timeoutMillis`.
    func awaitPendingVectors(timeoutMillis: Int) async {
        guard registry.awaitingVectors else { return }
        ticketCounter += 1
        let waiter = ticketCounter
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(timeoutMillis))
            self.vectorWaiters.removeValue(forKey: waiter)?.resume()
        }
        await withCheckedContinuation { vectorWaiters[waiter] = $0 }
        timer.cancel()
    }

    /// Lets the sessions waiting to announce their vector go on, once none awaits a peer's.
    func settleVectors() {
        guard !registry.awaitingVectors, !vectorWaiters.isEmpty else { return }
        let waiting = vectorWaiters
        vectorWaiters = [:]
        for c in waiting.values { c.resume() }
    }

    /// Closes a session's connection once the registry's watchdog is due for it (it ran longer
    /// than ``SessionLimits/maxSessionLifetimeMillis``, or completed no frame in either direction
    /// for ``SessionLimits/stallMillis``); counts why.
    func sessionWatchdog(_ id: UInt64, channel: any Channel) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                guard let (due, reason) = registry.watchdog(of: id) else { return }
                let t = now()
                if t >= due {
                    metrics.sessionsRejected[reason.rawValue, default: 0] += 1
                    log.info("closing a sync session", metadata: ["reason": "\(reason.rawValue)"])
                    channel.close(promise: nil)
                    return
                }
                try? await Task.sleep(for: .milliseconds(Int(due - t)))
            }
        }
    }
}
