import CRDTLog
import GossipCore
import Wire

/// Everything a running node needs besides its store and keys.
public struct NodeConfiguration: Sendable {
    /// Where gossip binds (UDP and TCP on the same port).
    public var bind = HostPort(host: "0.0.0.0", port: GossipNodeDefaults.gossipPort)
    /// The address peers should use; defaults to `bind` (which must then not be a wildcard).
    public var advertise: HostPort?
    /// Where to join on first start; remembered peers are contacted too.
    public var seeds: [HostPort] = []
    public var swim = SWIMConfiguration()
    public var replication = ReplicationConfiguration()
    /// Entries accepted from the network per author per hour.
    public var quotaPerHour = AuthorQuota.defaultPerHour
    /// Authors never seen before accepted per hour, from one peer and in all (see ``NewAuthorLimit``).
    public var newAuthorsPerPeerPerHour = NewAuthorLimit.defaultPerPeerPerHour
    public var newAuthorsPerHour = NewAuthorLimit.defaultTotalPerHour
    /// The longest the node sleeps between timer checks. The cores are ticked at their next
    /// deadline (a probe, a timeout, gossip); this bounds the sleep should a deadline be missed.
    public var tickMillis: UInt64 = 1_000
    /// When this node checkpoints its own log, and what it keeps (``RetentionRules``).
    public var retention = RetentionRules()
    /// Time between retention passes: a checkpoint when due, then compaction in small steps
    /// until nothing dead is left (each step its own short transaction).
    public var retentionIntervalMillis: UInt64 = 1_000
    /// After a start with known peers, local writes wait at most this long for a first sync
    /// (fork-safe restore: learn this node's own latest entries from peers before writing).
    public var restoreGraceMillis: UInt64 = 60_000
    /// Where peers are found without a seed (the tailnet, a peers file); nil: seeds and
    /// remembered peers only.
    public var discovery: Discovery?
    /// The `host` written into entries.
    public var hostName = "localhost"

    public init() {}

    /// The address announced to peers.
    public var advertised: HostPort {
        if let a = advertise { return a }
        if bind.host == "0.0.0.0" || bind.host == "::" { return HostPort(host: "127.0.0.1", port: bind.port) }
        return bind
    }
}
