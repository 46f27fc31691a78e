import Wire

/// Who reads as trusted and who is blocked, including the rules that carry trust and blocks
/// from a forked identity to its successors (``Succession``). A value type, so the rules are
/// testable alone; ``LogStore`` keeps the current one behind a lock for readers off its actor.
public struct TrustPolicy: Sendable {
    /// Authors listed in `trust`; empty: everyone reads as trusted.
    public var trusted: Set<AuthorID>
    /// Authors listed in `block`.
    public var blocked: Set<AuthorID>
    /// This node's own author (always trusted).
    public var me: AuthorID?
    /// Authors quarantined for forking: only their successors inherit trust.
    var forked: Set<AuthorID> = []
    /// successor → its announcement, from verified successor entries.
    var predecessorOf: [AuthorID: Succession] = [:]
    /// predecessor → successors, first announced first (HLC, then id).
    var successorsOf: [AuthorID: [AuthorID]] = [:]

    /// How many successors of one forked identity inherit its trust: two machines that shared
    /// an identity need two; a stolen key that keeps announcing successors gets no more.
    public static let maxTrustedSuccessors = 4
    /// How many successions trust and blocks follow back (a successor of a successor ...).
    public static let maxChain = 8

    public init(trusted: Set<AuthorID> = [], blocked: Set<AuthorID> = [], me: AuthorID? = nil) {
        self.trusted = trusted; self.blocked = blocked; self.me = me
    }

    /// Records a verified succession.
    mutating func add(_ s: Succession) {
        guard predecessorOf[s.successor] == nil else { return }
        predecessorOf[s.successor] = s
        var list = successorsOf[s.predecessor] ?? []
        list.append(s.successor)
        list.sort { a, b in
            let zero = HLCTimestamp(rawValue: 0)
            let x = predecessorOf[a]?.announcedAt ?? zero, y = predecessorOf[b]?.announcedAt ?? zero
            return (x, a) < (y, b)
        }
        successorsOf[s.predecessor] = list
    }

    /// The announcement that made `author` a successor, if any.
    public func succession(of author: AuthorID) -> Succession? { predecessorOf[author] }

    /// The successors announced for `author`, first announced first.
    public func successors(of author: AuthorID) -> [AuthorID] { successorsOf[author] ?? [] }

    /// Trusted: this node, a listed author, anyone when the list is empty, or one of the first
    /// ``maxTrustedSuccessors`` successors of a trusted author that forked.
    public func isTrusted(_ author: AuthorID) -> Bool {
        var a = author
        for _ in 0...Self.maxChain {
            if a == me || trusted.isEmpty || trusted.contains(a) { return true }
            guard let s = predecessorOf[a], forked.contains(s.predecessor),
                  (successorsOf[s.predecessor] ?? []).prefix(Self.maxTrustedSuccessors).contains(a) else { return false }
            a = s.predecessor
        }
        return false
    }

    /// Blocked: listed in `block`, or a successor of a blocked author — unless listed in `trust`
    /// itself (how an operator re-admits the honest machine's new key after revoking a stolen one).
    public func isBlocked(_ author: AuthorID) -> Bool {
        if blocked.contains(author) { return true }
        if trusted.contains(author) { return false }
        var a = author
        for _ in 0..<Self.maxChain {
            guard let s = predecessorOf[a] else { return false }
            if blocked.contains(s.predecessor) { return true }
            if trusted.contains(s.predecessor) { return false }
            a = s.predecessor
        }
        return false
    }

    /// Whether a successor announcement may be stored: not when its predecessor is blocked
    /// (then the successor is too), unless the successor is listed in `trust`.
    func admits(_ s: Succession) -> Bool {
        if trusted.contains(s.successor) { return true }
        return !isBlocked(s.predecessor)
    }

    /// Authors in `trusted` plus every successor that inherits their trust (for SQL filters).
    var trustedAuthors: Set<AuthorID> {
        var out = trusted
        if let me { out.insert(me) }
        var frontier = Array(out)
        var depth = 0
        while !frontier.isEmpty, depth < Self.maxChain {
            var next: [AuthorID] = []
            for p in frontier where forked.contains(p) {
                for s in (successorsOf[p] ?? []).prefix(Self.maxTrustedSuccessors) where out.insert(s).inserted { next.append(s) }
            }
            frontier = next; depth += 1
        }
        return out
    }
}
