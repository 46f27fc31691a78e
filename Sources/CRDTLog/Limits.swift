/// Every size and time limit of the log, in one place. Changing one is a protocol change:
/// say so in docs/protocol.md.
public enum LogLimits {
    /// The only entry format this version writes and accepts.
    public static let entryFormatVersion: UInt8 = 1
    /// Largest payload, in bytes (64 KiB).
    public static let maxPayloadBytes = 65_536
    /// Longest kind name, in bytes. Kinds are `[a-z0-9._-]`, at least one byte.
    public static let maxKindBytes = 32
    /// Longest key, in UTF-8 bytes.
    public static let maxKeyBytes = 256
    /// How far ahead of this node's clock an entry's timestamp may be. Entries stamped later are
    /// refused as `fromTheFuture` (not stored, not counted as hostile); the peer offers them
    /// again in a later sync, and they are accepted once this node's clock has caught up.
    public static let maxClockSkewMillis: UInt64 = 5 * 60 * 1000
    /// Entries held in memory while they wait for a missing predecessor.
    public static let maxHeldEntries = 50_000
    /// Bytes held in memory while they wait for a missing predecessor.
    public static let maxHeldBytes = 64 << 20
    /// Entries of one author held at once: one author (a throwaway key, a buggy writer) cannot
    /// take the whole hold buffer.
    public static let maxHeldEntriesPerAuthor = 4_096
    /// Bytes of one author held at once.
    public static let maxHeldBytesPerAuthor = 8 << 20
    /// Entries held, in all, of authors this node stores nothing of yet (whose first entry has
    /// not arrived): a catch-up streams in seq order and never needs many of them.
    public static let maxHeldEntriesOfNewAuthors = 4_096
    /// Most entries one checkpoint may keep below itself (listed, plus the kept range): what a
    /// node receiving it collects before applying it (``Checkpoint``).
    public static let maxCheckpointKept: UInt64 = 4_000_000
    /// Largest seq accepted (SQLite stores it as a signed 64-bit integer; `seq + 1` must not overflow).
    public static let maxSeq = UInt64(Int64.max)
    /// Domain-separation tag in front of every signed entry header.
    public static let signatureDomain: [UInt8] = Array("gossip-node/entry/v1".utf8) + [0]
    /// Domain-separation tag in front of the version vector when it is hashed into a digest.
    public static let digestDomain: [UInt8] = Array("gossip-node/digest/v1".utf8) + [0]
}
