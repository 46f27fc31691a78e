import GossipCore

/// Every limit on TCP connections and sync sessions. A member holding the network key may open
/// connections, stall them or announce what it never sends; each limit below bounds what that
/// costs the node, and every refusal is counted in `/metrics` (`connections_refused_total`,
/// `sessions_rejected_total`). docs/security.md lists them all.
public enum SessionLimits {
    /// Connections still in their handshake from one source address.
    public static let maxHandshakesPerSource = 8
    /// Connections still in their handshake, in all.
    public static let maxHandshakes = 64
    /// Sync sessions running at once (dialled and accepted).
    public static let maxSessions = 32
    /// The longest a sync session may run (a 1,000,000-entry catch-up takes about 90 s).
    public static let maxSessionLifetimeMillis: UInt64 = 15 * 60_000
    /// A session that completes no frame for this long is closed (a byte now and then keeps
    /// TCP's idle timer quiet, not this one).
    public static let stallMillis: UInt64 = 30_000
    /// Bytes buffered in incomplete frames over all sessions (each frame is at most 4 MiB).
    public static let maxBufferedBytes = 64 << 20
    /// Authors in one version vector, over all its parts (about 70 bytes each on the wire).
    public static let maxVersionVectorAuthors = 262_144
    /// A peer that announced heads and did not deliver them gets no promise honoured for this long.
    public static let brokenPromiseMillis: UInt64 = 3_600_000
    /// A catch-up holds other sessions off only while it stored something this recently.
    public static let catchUpProgressMillis: UInt64 = 5_000
    /// The limits the session registry applies, from the ones above.
    public static var registry: SessionRegistryLimits {
        var l = SessionRegistryLimits()
        l.maxSessions = maxSessions
        l.catchUpEntries = GossipNodeDefaults.bulkSessionEntries
        l.catchUpProgressMillis = catchUpProgressMillis
        l.brokenPromiseMillis = brokenPromiseMillis
        l.maxLifetimeMillis = maxSessionLifetimeMillis
        l.stallMillis = stallMillis
        return l
    }
    /// Datagrams read off the UDP socket and waiting for the node (about 1.4 KiB each at most:
    /// 3 MiB); past it the node stops reading and the kernel's buffer takes the rest.
    public static let maxQueuedDatagrams = 2_048
    /// Pushed entries received and waiting to be stored (each at most one datagram's size: 4 MiB
    /// at most); a push past it is dropped, counted, and fetched later by a sync.
    public static let maxQueuedPushEntries = 4_096
    /// The UDP socket's receive buffer asked of the kernel (it grants at most `net.core.rmem_max`).
    public static let udpReceiveBufferBytes = 1 << 20
    /// Resolved socket addresses cached for sending datagrams.
    public static let maxCachedAddresses = 8_192
}
