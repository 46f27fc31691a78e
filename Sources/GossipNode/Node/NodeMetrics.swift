/// Counters of a running node, exported at `/metrics`.
public struct NodeMetrics: Sendable {
    public var packetsIn = 0
    public var packetsOut = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// Datagrams dropped, by reason (`unauthenticated`, `malformed`, `stale`, `replayed`, ...).
    public var packetsDropped: [String: Int] = [:]
    /// TCP sessions closed for a protocol error, by reason.
    public var sessionsRejected: [String: Int] = [:]
    /// Entries refused, by reason (`bad_signature`, `invalid_chain`, `fork`, `quota_deferred`, ...).
    public var entriesRejected: [String: Int] = [:]
    public var entriesReceived = 0
    public var entriesPushed = 0
    /// Pushed entries dropped on arrival as copies of entries taken in lately (``RecentEntries``).
    public var duplicatePushes = 0
    /// Sealed bytes of the datagrams sent that carried pushed entries (headers of IP and UDP excluded).
    public var pushBytesOut = 0
    /// Bytes of TCP sessions (after the handshake), in and out.
    public var tcpBytesIn = 0
    public var tcpBytesOut = 0
    /// Sessions that exchanged version vectors (dialled or accepted).
    public var syncSessions = 0
    public var syncsStarted = 0
    public var syncsCompleted = 0
    public var syncsFailed = 0
    /// Sum and count of ingest batch latencies, in seconds.
    public var ingestSeconds = 0.0
    public var ingestBatches = 0
    /// Transactions of a peer's batch ended early because a client's request waited for the store.
    public var ingestYields = 0
    /// Times the UDP socket was closed by a send error and bound again.
    public var udpRebinds = 0
    /// Times unused memory was handed back (``MemoryRelease``).
    public var memoryReleases = 0
    /// Merges of the search index, by reason (`quiet`, `grown`; see ``Node/runRetention()``).
    public var searchIndexMerges: [String: Int] = [:]
    /// Checkpoints this node wrote of its own log.
    public var checkpointsWritten = 0
    /// Connections closed before their handshake by a limit (``SessionLimits``), by reason.
    public var connectionsRefused: [String: Int] = [:]
    /// Sessions whose peer announced heads it did not deliver (its announcements are then not
    /// promised to other sessions for a while).
    public var promisesBroken = 0
    /// Addresses discovery found at its last look (the tailnet's online peers, a peers file).
    public var discoveredAddresses = 0
    /// API requests refused by the local-caller checks (`host`, `origin`, `content_type`,
    /// `subscriber_limit`), by reason.
    public var apiRefused: [String: Int] = [:]

    public init() {}

    mutating func reject(_ reason: String, count: Int = 1) { entriesRejected[reason, default: 0] += count }
}
