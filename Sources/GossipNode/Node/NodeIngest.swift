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

/// Entries in: from peers (verify on all cores, admit, commit in one transaction) and from this
/// node's own writes; then the core's pushes, gap repair and the event subscribers.
extension Node {
    /// Stores entries from a peer: verification on all cores, then the quota and the new-author
    /// limit (on verified, new entries only), then one transaction; then pushes, gap repair and
    /// subscribers.
    @discardableResult
    func ingest(_ encoded: [[UInt8]], from peer: Bytes32, viaSync: Bool) async -> IngestReport? {
        guard !encoded.isEmpty else { return nil }
        metrics.entriesReceived += encoded.count
        let start = DispatchTime.now().uptimeNanoseconds
        let checked = await Self.verify(encoded)
        return await commit(checked, from: peer, viaSync: viaSync, started: start)
    }

    /// The per-author quota and the new-author limit, charged only for entries whose signature
    /// verified and that this node does not hold yet: forged stubs, duplicates and re-offers cost
    /// an author nothing. What is over a limit is deferred (offered again by a later sync).
    func admit(_ checked: [Result<Entry, EntryRejection>], from peer: Bytes32) async -> [Result<Entry, EntryRejection>] {
        var byAuthor: [AuthorID: [Int]] = [:]
        for (i, r) in checked.enumerated() { if case .success(let e) = r { byAuthor[e.author, default: []].append(i) } }
        guard !byAuthor.isEmpty else { return checked }
        let stored = await store.seqs(of: Set(byAuthor.keys))
        let t = now()
        var deferred = Set<Int>()
        var overQuota = 0, overNewAuthors = 0
        for (author, indices) in byAuthor.sorted(by: { $0.key < $1.key }) {
            let have = stored[author]
            let fresh = indices.filter { i in
                if case .success(let e) = checked[i] { e.seq > (have ?? 0) } else { false }
            }
            guard !fresh.isEmpty else { continue }
            if have == nil, !store.isTrustedByList(author), !newAuthors.admit(author, from: peer, now: t) {
                deferred.formUnion(indices)
                overNewAuthors += indices.count
                continue
            }
            let n = quota.admit(author, count: fresh.count, now: t)
            // Keep the lowest seqs: they extend the chain; the rest waits for the refill.
            let bySeq = fresh.sorted { i, j in
                if case .success(let a) = checked[i], case .success(let b) = checked[j] { a.seq < b.seq } else { i < j }
            }
            for i in bySeq.dropFirst(n) { deferred.insert(i) }
            overQuota += fresh.count - n
        }
        if overQuota > 0 {
            metrics.reject("quota_deferred", count: overQuota)
            if let n = logThrottle.note("limit quota", now: t) {
                log.notice("limit hit: per-author quota (quota-per-hour \(configuration.quotaPerHour)); entries deferred to a later sync",
                           metadata: ["from": "\(peer.hex.prefix(12))", "times": "\(n)"])
            }
        }
        if overNewAuthors > 0 {
            metrics.reject("new_author_limit", count: overNewAuthors)
            if let n = logThrottle.note("limit new authors", now: t) {
                log.notice("limit hit: authors never seen before (new-authors-per-hour, new-authors-per-peer-per-hour); entries deferred",
                           metadata: ["from": "\(peer.hex.prefix(12))", "times": "\(n)"])
            }
        }
        guard !deferred.isEmpty else { return checked }
        return checked.indices.filter { !deferred.contains($0) }.map { checked[$0] }
    }

    /// Decodes and verifies on all cores, off the node's actor.
    nonisolated static func verify(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        await EntryVerifier.checked(encoded)
    }

    /// Admits, then stores verified entries in one transaction, then pushes, repairs gaps, tells subscribers.
    func commit(_ verified: [Result<Entry, EntryRejection>], from peer: Bytes32, viaSync: Bool, started: UInt64) async -> IngestReport? {
        guard let report = await storeBatch(verified, from: peer, started: started) else { return nil }
        await finishBatch(report, from: peer, viaSync: viaSync)
        return report
    }

    /// The first half of ``commit(_:from:viaSync:started:)``: admission and the transaction.
    /// A session starts its next batch's as soon as this returns (see ``inFlight(_:after:from:)``).
    /// A transaction ends early when a client's request waits for the store (see
    /// ``ClientDemand``); the rest of the batch follows in the next one, after that request.
    func storeBatch(_ verified: [Result<Entry, EntryRejection>], from peer: Bytes32, started: UInt64) async -> IngestReport? {
        var pending = await admit(verified, from: peer)
        var report = IngestReport()
        var first = true
        repeat {
            guard let part = try? await store.ingest(checked: pending, now: now(), yieldingToClients: true) else {
                metrics.reject("storage_unavailable", count: pending.count)
                return first ? nil : report
            }
            if !part.unplaced.isEmpty { metrics.ingestYields += 1 }
            report.append(part)
            pending = part.unplaced.map { .success($0) }
            first = false
        } while !pending.isEmpty
        metrics.ingestSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        metrics.ingestBatches += 1
        // A catch-up-sized batch (a session's, or a burst of pushes) sent reads to their own
        // connection: the memory release that closes it again is due after it.
        if store.readsUseOwnConnection, memoryReleaseAt == nil {
            memoryReleaseAt = now() + GossipNodeDefaults.memoryReleaseDelayMillis
            scheduleTick()
        }
        return report
    }

    /// The second half: counters, fork warnings, pushes, gap repair and subscribers.
    func finishBatch(_ report: IngestReport, from peer: Bytes32, viaSync: Bool) async {
        for r in report.rejected { metrics.reject(r.label) }
        for f in report.forks {
            log.warning("fork found: two entries of one author at one place in its log; the author is quarantined from there on",
                        metadata: ["author": "\(f.author.hex.prefix(12))", "seq": "\(f.first.seq)", "from": "\(peer.hex.prefix(12))"])
        }
        await afterStore(report.stored, forks: !report.forks.isEmpty, from: peer, pushOn: !viaSync || report.stored.count <= GossipNodeDefaults.pushAfterSyncMax)
        if !report.forks.isEmpty { await forksRecorded(report.forks.map(\.author)) }
        if report.held > 0, !viaSync { perform(core.gap(from: peer, now: now())) }
    }

    /// Bookkeeping after entries were stored (here or from a peer). `summary` is the store's
    /// digest and count read with the entries' commit, when the caller has it.
    func afterStore(_ stored: [Entry], forks: Bool, from peer: Bytes32?, pushOn: Bool, summary: LogSummary? = nil) async {
        guard !stored.isEmpty || forks else { return }
        lastStoreChangeAt = now()
        for e in stored { recentEntries.insert(e.encoded) }
        if let summary { adopt(summary) } else { adopt(await store.summary()) }
        if !stored.isEmpty { for c in subscribers.values { c.yield(()) } }
        guard pushOn, !stored.isEmpty else { return }
        perform(core.stored(stored.map { (key: EntryKey(author: $0.author, seq: $0.seq), encoded: $0.encoded) }, from: peer, now: now()))
    }

    /// Keeps the store's digest and count unless a newer summary was kept already (two writes
    /// may come back from the store in one order and reach this actor in the other).
    func adopt(_ s: LogSummary) {
        guard s.version >= summaryVersion else { return }
        summaryVersion = s.version
        digest = s.digest
        entryCount = s.entries
        core.setLog(digest: digest, entries: entryCount)
    }

    /// Signs and stores an entry of this node's own log, then pushes it. The store is reached
    /// first, without waiting for this actor (busy with a catch-up's bookkeeping, say); the
    /// entry's digest and count come back with it, so the bookkeeping needs no second wait.
    public nonisolated func write(kind: String, key: String, payload: [UInt8]) async throws(NodeWriteError) -> Entry {
        let written: (entry: Entry, summary: LogSummary)
        do { written = try await store.appendSummarized(kind: kind, key: key, payload: payload, now: now()) } catch { throw .store(error) }
        await afterStore([written.entry], forks: false, from: nil, pushOn: true, summary: written.summary)
        return written.entry
    }

    /// What became of a local write: signed and stored, or accepted into the outbox while the
    /// start-up check runs (durable now, signed once this node knows its own latest seq).
    public enum WriteOutcome: Sendable {
        case signed(Entry)
        case pending(PendingWrite)
    }

    /// A local write that is never refused because of start-up: signed at once, or, while the
    /// start-up check runs, kept in the durable outbox (see ``PendingWrite``).
    public nonisolated func accept(kind: String, key: String, payload: [UInt8]) async throws(NodeWriteError) -> WriteOutcome {
        do {
            return .signed(try await write(kind: kind, key: key, payload: payload))
        } catch {
            guard case .store(.writesFenced) = error else { throw error }
            do { return .pending(try await store.enqueue(kind: kind, key: key, payload: payload, now: now())) } catch { throw .store(error) }
        }
    }

    /// The start-up check is over: writes are signed again, the outbox first, in order.
    func liftFenceAndSignPending() async {
        await store.setWriteFence(nil)
        do {
            let signed = try await store.signPending(now: now())
            if !signed.isEmpty {
                log.info("signed the writes accepted during the start-up check", metadata: ["entries": "\(signed.count)"])
                await afterStore(signed, forks: false, from: nil, pushOn: true)
            }
        } catch {
            log.error("cannot sign the writes accepted during the start-up check; they stay in the outbox", metadata: ["error": "\(error)"])
        }
    }

    /// A signal each time entries were newly stored on this node (written here or received; at
    /// most one signal waits: they only say "read the log again"), and the subscription's id for
    /// ``unsubscribe(_:)``; nil when ``GossipNodeDefaults/maxSubscribers`` streams are open already.
    public func subscribe() -> (AsyncStream<Void>, UInt64)? {
        guard subscribers.count < GossipNodeDefaults.maxSubscribers else { return nil }
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return (stream, id)
    }

    /// Ends a subscription's stream.
    public func unsubscribe(_ id: UInt64) { subscribers.removeValue(forKey: id)?.finish() }
}
