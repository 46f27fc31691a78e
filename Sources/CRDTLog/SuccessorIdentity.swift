import Synchronization
import Wire

/// This node moving to a successor identity after its own identity forked.
extension LogStore {
    /// True when this node's own identity is quarantined for forking (it must move on).
    public var ownIdentityForked: Bool { identity.map { quarantined.contains($0.publicKey) } ?? false }

    /// The announcement that made this node's identity a successor, if it is one.
    public nonisolated var ownSuccession: Succession? {
        guard let me = identity?.publicKey else { return nil }
        return policy.withLock { $0.succession(of: me) }
    }

    /// Makes this store's identity (a new key that has signed nothing) the successor of
    /// `predecessor`, the node's previous identity, which forked: signs the announcement (seq 1,
    /// with the predecessor's signature), then re-signs what this node wrote on its branch from
    /// the fork point on (``continuePredecessor(now:)``). Idempotent: a store whose identity
    /// already announced itself only continues. Returns the entries signed.
    public func succeed(from predecessor: SigningKeyPair, host: String?, now: UInt64) throws(StoreError) -> [Entry] {
        guard let me = identity?.publicKey else { throw .noIdentity }
        if heads[me] == nil {
            let p = predecessor.publicKey
            let branch: (seq: UInt64, id: EntryID)
            do {
                // The last entry of the predecessor stored here: the tip of this node's own branch.
                let row = try db.query("SELECT seq, id FROM entries WHERE author = ? ORDER BY seq DESC LIMIT 1", [.blob(p.bytes)]).first
                branch = (UInt64(row?[0].int ?? 0), row?[1].blob.flatMap(Bytes32.init) ?? .zero)
            } catch { throw .storage(error) }
            let payload = Succession.payload(successor: me, predecessor: predecessor, seq: branch.seq, head: branch.id, host: host)
            let entries = try appendAll([LocalWrite(kind: EntryKind.successor, key: "", payload: payload)], now: now) { () throws(SQLiteError) in
                try db.run("INSERT OR REPLACE INTO continued(predecessor, from_seq) VALUES (?, ?)",
                           [.blob(p.bytes), .int(Int64(clamping: branch.seq + 1))])
            }
            if let s = try? Succession(entry: entries[0]) { policy.withLock { $0.add(s) } }
            return entries + (try continuePredecessor(now: now))
        }
        return try continuePredecessor(now: now)
    }

    /// Re-signs under this identity what this node wrote on its predecessor's branch from the
    /// predecessor's fork point on, which no view shows any more: each memory key as last written
    /// there, breakers still open, benchmark observations with their original time. Runs again
    /// whenever the fork point moves lower (fork proofs lower it as nodes compare branches), for
    /// the newly hidden range only. Returns the entries signed.
    public func continuePredecessor(now: UInt64) throws(StoreError) -> [Entry] {
        guard let s = ownSuccession, let f = forkPoints[s.predecessor] else { return [] }
        let p = s.predecessor
        var writes: [LocalWrite] = []
        let from: UInt64
        do {
            from = UInt64(try db.query("SELECT from_seq FROM continued WHERE predecessor = ?", [.blob(p.bytes)]).first?.first?.int ?? 0)
            guard f < from else { return [] }
            let st = try db.statement("SELECT header, payload FROM entries WHERE author = ? AND seq >= ? AND seq < ? ORDER BY seq")
            try st.bind([.blob(p.bytes), .int(Int64(clamping: f)), .int(Int64(clamping: from))])
            var lastByKey: [String: Entry] = [:], order: [String] = []
            while try st.step() {
                guard let e = try? Entry(signedHeader: st.blob(0), payload: st.blob(1)) else { continue }
                let k = e.kind + "\u{0}" + e.key
                switch e.kind {
                case EntryKind.memory, EntryKind.memoryRetraction, EntryKind.breaker:
                    if lastByKey.updateValue(e, forKey: k) == nil { order.append(k) }
                case EntryKind.benchmark:
                    writes.append(LocalWrite(kind: e.kind, key: e.key, payload: Self.datedBenchmark(e)))
                default:
                    break  // successor announcements and kinds of newer versions are not re-signed
                }
            }
            for k in order {
                guard let e = lastByKey[k] else { continue }
                switch e.kind {
                case EntryKind.memory:
                    // A later retraction of the same key (kind differs) wins over it.
                    if let r = lastByKey[EntryKind.memoryRetraction + "\u{0}" + e.key], r.seq > e.seq { continue }
                    writes.append(LocalWrite(kind: e.kind, key: e.key, payload: e.payload))
                case EntryKind.breaker:
                    // Only a breaker still open: a re-signed old event must not override newer news.
                    guard let b = BreakerPayload(json: e.payload), b.state == .open,
                          let resets = b.resetsAt.flatMap(RFC3339.parse), resets > Int64(clamping: now) else { continue }
                    writes.append(LocalWrite(kind: e.kind, key: e.key, payload: e.payload))
                default:
                    continue  // a retraction of a key this identity never wrote: nothing to retract
                }
            }
        } catch { throw .storage(error) }
        return try appendAll(writes, now: now) { () throws(SQLiteError) in
            try db.run("UPDATE continued SET from_seq = ? WHERE predecessor = ?", [.int(Int64(clamping: f)), .blob(p.bytes)])
        }
    }

    /// A benchmark payload with `recorded_at` set to the original observation time if it had none.
    static func datedBenchmark(_ e: Entry) -> [UInt8] {
        guard let v = try? JSON.parse(e.payload), case .object(var o) = v else { return e.payload }
        if o["recorded_at"] == nil { o["recorded_at"] = .string(RFC3339.format(millis: Int64(clamping: e.hlc.millis))) }
        return JSON.serializedBytes(.object(o))
    }
}
