/// Why the store could not do what was asked, with what to do about it.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// SQLite failed; `isStorageUnavailable` tells disk-full and read-only apart (HTTP 503).
    case storage(SQLiteError)
    /// The database was written by a newer gossip-node.
    case newerSchema(found: Int, supported: Int)
    /// A local write needs the node's identity; this store was opened without one.
    case noIdentity
    /// This node's own author is quarantined (its log forked); it must not write.
    case ownAuthorQuarantined
    /// Local writes are paused until this node has learned its own latest seq from peers.
    case writesFenced(reason: String)
    /// The entry to write is invalid (too large, bad kind or key).
    case invalidEntry(EntryRejection)

    public var description: String {
        switch self {
        case .storage(let e): e.isStorageUnavailable ? "storage unavailable: \(e.message)" : "database error: \(e)"
        case .newerSchema(let found, let supported):
            "the database has schema version \(found), this gossip-node supports up to \(supported); upgrade gossip-node"
        case .noIdentity: "this store was opened without the node's identity"
        case .ownAuthorQuarantined: "this node's own identity forked; the node is moving to a successor identity (it restarts itself within a second); retry the write"
        case .writesFenced(let reason): "writes are paused: \(reason)"
        case .invalidEntry(let r): r.description
        }
    }

    public var isStorageUnavailable: Bool { if case .storage(let e) = self { e.isStorageUnavailable } else { false } }
}
