/// Every size and time limit of the wire protocol, in one place (see docs/protocol.md, "Wire").
public enum WireLimits {
    /// The wire protocol versions this build speaks.
    public static let protocolVersions: ClosedRange<UInt16> = 1...1
    /// Largest UDP datagram sent or accepted.
    public static let maxDatagramBytes = 1400
    /// Sealing overhead of a datagram: version byte, nonce, tag.
    public static let datagramOverhead = 1 + XChaCha20Poly1305.nonceBytes + XChaCha20Poly1305.tagBytes
    /// Room for messages in one datagram, after the seal and the packet header (sender, time).
    public static let maxDatagramPayload = maxDatagramBytes - datagramOverhead - 32 - 8
    /// A datagram older than this (by its sender's clock) or this far in the future is stale.
    public static let datagramFreshnessMillis: UInt64 = 120_000
    /// Largest plaintext of one TCP frame (an entry batch, a version vector).
    public static let maxFrameBytes = 4 << 20
    /// Entries in one push or batch.
    public static let maxEntriesPerMessage = 4096
    /// Member updates in one message (a UDP piggyback holds far fewer; a join reply more).
    public static let maxMemberUpdates = 4096
    /// Authors in one version vector message.
    public static let maxVersionVectorAuthors = 100_000
    /// Fork proofs in one message.
    public static let maxForkProofs = 1024
    /// Bytes of an address string `host:port`.
    public static let maxAddressBytes = 255
    /// Bytes of an agent string in a hello.
    public static let maxAgentBytes = 64
    /// Largest encoded entry (mirrors the log's limit: header, signature and a 64 KiB payload).
    public static let maxEntryBytes = 65_536 + 512
    /// Largest signed header in a fork proof.
    public static let maxHeaderBytes = 512
    /// Largest sequence number accepted anywhere (entries, version vectors, digests' entry counts):
    /// seqs are stored as SQLite's signed 64-bit integers and `seq + 1` must not overflow.
    public static let maxSeq = UInt64(Int64.max)
    /// Largest incarnation accepted: a member refutes a claim at incarnation `i` with `i + 1`.
    public static let maxIncarnation = UInt64.max - 1
    /// Latest sealed time (ms since the epoch) a datagram may carry: the year 9999. Later is malformed.
    public static let maxTimestampMillis: UInt64 = 253_402_300_799_999
    /// Heads in one ``Message/versionVectorPart(heads:)`` frame (about 1.1 MB), so a vector of any
    /// size travels in frames well below ``maxFrameBytes``.
    public static let versionVectorPartHeads = 16_384
    /// Time allowed for a TCP handshake to finish.
    public static let handshakeTimeoutMillis: UInt64 = 5_000
    /// A TCP session with no frame in either direction for this long is closed.
    public static let idleTimeoutMillis: UInt64 = 60_000
}
