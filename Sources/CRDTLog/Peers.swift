import Wire

/// A member remembered across restarts, so a node (or a laptop back on the tailnet) re-contacts
/// its peers without a seed.
public struct RememberedPeer: Sendable, Hashable {
    public var author: AuthorID
    public var address: String
    public var lastSeenMillis: Int64
    public var incarnation: UInt64
    public init(author: AuthorID, address: String, lastSeenMillis: Int64, incarnation: UInt64) {
        self.author = author; self.address = address; self.lastSeenMillis = lastSeenMillis; self.incarnation = incarnation
    }
}

extension LogStore {
    /// Saves and forgets members in one transaction (a join brings dozens at once: one durable
    /// write for all of them instead of one each). `nil` forgets the member.
    public func updatePeers(_ changes: [AuthorID: RememberedPeer?]) throws(StoreError) {
        guard !changes.isEmpty else { return }
        do {
            try db.transaction { () throws(SQLiteError) in
                for (author, peer) in changes.sorted(by: { $0.key < $1.key }) {
                    if let p = peer {
                        try db.run("""
                            INSERT INTO peers(author, address, last_seen, incarnation) VALUES (?, ?, ?, ?)
                            ON CONFLICT(author) DO UPDATE SET address = excluded.address, last_seen = max(last_seen, excluded.last_seen),
                              incarnation = max(incarnation, excluded.incarnation)
                            """, [.blob(p.author.bytes), .text(p.address), .int(p.lastSeenMillis), .int(Int64(bitPattern: p.incarnation))])
                    } else {
                        try db.run("DELETE FROM peers WHERE author = ?", [.blob(author.bytes)])
                    }
                }
            }
        } catch { throw .storage(error) }
    }

    public func rememberedPeers() throws(StoreError) -> [RememberedPeer] {
        do {
            return try db.query("SELECT author, address, last_seen, incarnation FROM peers ORDER BY last_seen DESC").compactMap { r in
                guard let a = r[0].blob.flatMap(Bytes32.init), let addr = r[1].text else { return nil }
                return RememberedPeer(author: a, address: addr, lastSeenMillis: r[2].int ?? 0, incarnation: UInt64(bitPattern: r[3].int ?? 0))
            }
        } catch { throw .storage(error) }
    }

    /// Remembers seed addresses (those given once with `--seed` are dialled after every later
    /// start too, until they are members).
    public func saveSeeds(_ addresses: [String], now: Int64) throws(StoreError) {
        do {
            for a in addresses { try db.run("INSERT OR IGNORE INTO seeds(address, added_at) VALUES (?, ?)", [.text(a), .int(now)]) }
        } catch { throw .storage(error) }
    }

    /// Every seed address remembered, oldest first.
    public func rememberedSeeds() throws(StoreError) -> [String] {
        do { return try db.query("SELECT address FROM seeds ORDER BY added_at, address").compactMap { $0[0].text } } catch { throw .storage(error) }
    }
}
