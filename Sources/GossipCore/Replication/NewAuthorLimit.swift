import Wire

/// How many authors this node has never stored anything of it accepts per hour: per peer
/// (whoever delivered the author's first entry) and in all. Minting keys is free, and each new
/// author grows the version vector, the digest's input and the disk; honest federations add an
/// author per new host. An author over the limit is deferred (not stored now, offered again by
/// a later sync), never refused for good, so digests still converge once it fits. Authors on
/// the trust list are always accepted. Counts only verified entries (the caller checks
/// signatures first).
public struct NewAuthorLimit: Sendable {
    /// New authors accepted per hour from one peer.
    public static let defaultPerPeerPerHour = 256
    /// New authors accepted per hour in all.
    public static let defaultTotalPerHour = 1_024

    public let perPeerPerHour: Int
    public let totalPerHour: Int
    private var total: TokenBucket
    private var perPeer: [Bytes32: TokenBucket] = [:]
    /// Authors accepted within the last hour (so a deferred batch does not charge them twice).
    private var accepted: [Bytes32: UInt64] = [:]

    public init(perPeerPerHour: Int = defaultPerPeerPerHour, totalPerHour: Int = defaultTotalPerHour) {
        self.perPeerPerHour = max(1, perPeerPerHour)
        self.totalPerHour = max(1, totalPerHour)
        total = TokenBucket(capacity: self.totalPerHour)
    }

    /// Whether `author`'s first entries, delivered by `peer`, may be stored now (and charges it).
    public mutating func admit(_ author: Bytes32, from peer: Bytes32, now: UInt64) -> Bool {
        if let at = accepted[author], now < at &+ 3_600_000 { return true }
        if accepted.count > 2 * totalPerHour { accepted = accepted.filter { now < $0.value &+ 3_600_000 } }
        var mine = perPeer[peer] ?? TokenBucket(capacity: perPeerPerHour)
        guard mine.available(now: now) >= 1, total.available(now: now) >= 1 else { return false }
        mine.take(1, now: now)
        total.take(1, now: now)
        perPeer[peer] = mine
        // Peers come and go: forget full buckets (they would read the same when made anew).
        if perPeer.count > 4_096 { perPeer = perPeer.filter { $0.value.available(now: now) < Double(perPeerPerHour) } }
        accepted[author] = now
        return true
    }
}

/// A token bucket refilled continuously: `capacity` tokens per hour, starting full. A clock
/// that steps back refills nothing and never wraps around.
struct TokenBucket: Sendable {
    let capacity: Int
    private var tokens: Double
    private var at: UInt64?

    init(capacity: Int) { self.capacity = capacity; tokens = Double(capacity) }

    func available(now: UInt64) -> Double {
        guard let at, now > at else { return tokens }
        return min(Double(capacity), tokens + Double(now - at) * Double(capacity) / 3_600_000)
    }

    mutating func take(_ n: Int, now: UInt64) {
        tokens = available(now: now) - Double(n)
        at = max(at ?? now, now)
    }
}
