import Wire

/// The per-author quota on entries accepted from the network: a token bucket per author,
/// `perHour` tokens, refilled continuously. Entries over it are deferred (not stored now,
/// offered again by the next sync), never dropped for good, so digests still converge.
public struct AuthorQuota: Sendable {
    /// The default leaves room for any honest catch-up.
    public static let defaultPerHour = 50_000

    public let perHour: Int
    private var buckets: [Bytes32: (tokens: Double, at: UInt64)] = [:]

    public init(perHour: Int = AuthorQuota.defaultPerHour) { self.perHour = max(1, perHour) }

    /// How many of `count` entries by `author` may be accepted now (and takes them).
    public mutating func admit(_ author: Bytes32, count: Int, now: UInt64) -> Int {
        let rate = Double(perHour) / 3_600_000
        var b = buckets[author] ?? (Double(perHour), now)
        // A clock that stepped back refills nothing (and does not wrap around).
        b.tokens = min(Double(perHour), b.tokens + Double(now > b.at ? now - b.at : 0) * rate)
        b.at = max(b.at, now)
        let n = min(count, Int(b.tokens))
        b.tokens -= Double(n)
        buckets[author] = b
        return n
    }
}
