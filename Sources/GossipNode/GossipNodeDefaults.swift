/// Defaults of the node that are not part of a core's configuration.
public enum GossipNodeDefaults {
    /// The gossip port (UDP and TCP).
    public static let gossipPort = 7420
    /// The HTTP API port.
    public static let apiPort = 7421
    /// Event streams (`/v1/events`) open at once; each buffers up to 10,000 entries.
    public static let maxSubscribers = 64
    /// Entries a sync session brought are pushed on only when they are this few (a healed
    /// partition spreads fast); a catch-up is not re-broadcast.
    public static let pushAfterSyncMax = 16
    /// A sync session that has received more entries than this is a catch-up: while it runs, the
    /// node neither accepts nor starts another session (it would carry the same entries again).
    public static let bulkSessionEntries = 1_000
    /// Received batches of a session in flight (verifying, or queued for the store) while it
    /// reads the next frame (each up to 1 MiB).
    public static let batchesInFlight = 2
    /// A session that sent more than this (1 MiB) served a catch-up.
    public static let bulkSessionBytes = 1 << 20
    /// Unused memory is handed back this long after start (start-up code, schema checks)...
    public static let memoryReleaseAfterStartMillis: UInt64 = 30_000
    /// ...and this long after a big session ended (SQLite's page cache, freed buffers).
    public static let memoryReleaseDelayMillis: UInt64 = 5_000
    /// Rows a compaction step scans at most (one short transaction; see ``Node/runRetention()``).
    public static let compactionStepRows = 200
    /// How long no entry must be stored before the search index is merged (see ``Node/runRetention()``).
    public static let searchIndexQuietMillis: UInt64 = 30_000
    /// Member records learned or changed are saved together at most this often: a join wave
    /// brings a member at a time, and saving each alone cost a durable write apiece (one
    /// `fdatasync` per member learned). A crash loses at most this much of the list, which the
    /// seeds and the other members give back.
    public static let peerSaveDelayMillis: UInt64 = 1_000
}

extension GossipNodeDefaults {
    /// Bytes of entries per sync frame (well under the frame limit, so a slow link still
    /// interleaves other traffic).
    public static let syncFrameBytes = 1 << 20
}
