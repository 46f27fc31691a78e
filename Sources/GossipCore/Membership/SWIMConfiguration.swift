import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timing and sizing of the membership protocol. Defaults follow memberlist's LAN profile.
public struct SWIMConfiguration: Sendable {
    /// How often this node probes one member.
    public var probeIntervalMillis: UInt64 = 1000
    /// How long a direct probe waits for its ack before asking others to probe.
    public var probeTimeoutMillis: UInt64 = 500
    /// How many members are asked to probe on this node's behalf.
    public var indirectProbes = 3
    /// Suspicion lasts `suspicionMultiplier × max(1, log10(n + 1)) × probeInterval` before a
    /// suspect is declared dead (n = members known).
    public var suspicionMultiplier: Double = 4
    /// Each membership update is piggybacked `retransmitMultiplier × ceil(log10(n + 2))` times.
    public var retransmitMultiplier = 4
    /// How often pending updates are gossiped besides the probes, and to how many members.
    public var gossipIntervalMillis: UInt64 = 200
    public var gossipNodes = 3
    /// Lifeguard's local health multiplier never exceeds this: a node that doubts its own
    /// network slows its probing down by up to (max + 1) times instead of accusing others.
    public var maxLocalHealth = 8
    /// A gap this many probe intervals long between two ticks means this node was asleep (a
    /// laptop lid): probes in flight are forgotten instead of turned into accusations.
    public var sleepGapIntervals: UInt64 = 5
    /// How often one dead member is probed again (a healed partition or a rebooted laptop).
    public var reconnectIntervalMillis: UInt64 = 10_000
    /// Dead and left members are forgotten after this long (their persisted record too), but
    /// only while some member is alive: a node alone keeps its last known peers.
    public var deadRetentionMillis: UInt64 = 24 * 3_600_000
    /// Bytes of membership updates piggybacked in one datagram (the rest is left for digests
    /// and pushed entries).
    public var piggybackBudgetBytes = 900
    /// Members known at once (alive, suspect, dead or left): a member minting throwaway keys
    /// cannot grow the table, the peer database or the probe round without bound.
    public var maxMembers = 4_096
    /// Members a node greets directly when it learns of them from someone else (a seed's list at
    /// a join, gossip): at most this many greetings per probe interval; past it, members learn of
    /// this node by gossip as in plain SWIM.
    public var maxIntroductions = 64
    /// Pings relayed on other members' behalf at once (ping-requests past it are refused and counted).
    public var maxRelays = 256

    public init() {}

    /// A profile for tests and local clusters: everything 5× faster.
    public static var fast: SWIMConfiguration {
        var c = SWIMConfiguration()
        c.probeIntervalMillis = 200; c.probeTimeoutMillis = 100; c.gossipIntervalMillis = 50
        c.reconnectIntervalMillis = 1000
        return c
    }

    func suspicionTimeout(members n: Int) -> UInt64 {
        let scale = max(1.0, log10(Double(n + 1)))
        return UInt64(suspicionMultiplier * scale * Double(probeIntervalMillis))
    }

    func retransmits(members n: Int) -> Int {
        retransmitMultiplier * Int(log10(Double(n + 2)).rounded(.up))
    }
}
