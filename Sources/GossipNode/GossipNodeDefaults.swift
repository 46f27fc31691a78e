/// Defaults of the node that are not part of a core's configuration.
public enum GossipNodeDefaults {
    /// The gossip port (UDP and TCP).
    public static let gossipPort = 7420
    /// The HTTP API port.
    public static let apiPort = 7421
    /// Entries a sync session brought are pushed on only when they are this few (a healed
    /// partition spreads fast); a catch-up is not re-broadcast.
    public static let pushAfterSyncMax = 16
    /// A sync session that has received more entries than this is a catch-up: while it runs, the
    /// node neither accepts nor starts another session (it would carry the same entries again).
    public static let bulkSessionEntries = 1_000
}

extension GossipNodeDefaults {
    /// Bytes of entries per sync frame (well under the frame limit, so a slow link still
    /// interleaves other traffic).
    public static let syncFrameBytes = 1 << 20
}
