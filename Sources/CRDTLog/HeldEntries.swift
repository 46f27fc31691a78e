/// Verified entries that arrived before their predecessor, waiting for the gap to fill.
/// Bounded by ``LogLimits/maxHeldEntries`` and ``LogLimits/maxHeldBytes``; what does not fit is
/// refused for now and comes again with the next sync.
struct HeldEntries {
    private var byAuthor: [AuthorID: [UInt64: Entry]] = [:]
    private(set) var count = 0
    private(set) var bytes = 0

    enum InsertResult { case held, alreadyHeld, conflict(Entry), full }

    mutating func insert(_ e: Entry) -> InsertResult {
        if let existing = byAuthor[e.author]?[e.seq] {
            return existing.id == e.id ? .alreadyHeld : .conflict(existing)
        }
        let size = e.signedHeader.count + e.payload.count
        guard count < LogLimits.maxHeldEntries, bytes + size <= LogLimits.maxHeldBytes else { return .full }
        byAuthor[e.author, default: [:]][e.seq] = e
        count += 1; bytes += size
        return .held
    }

    mutating func take(author: AuthorID, seq: UInt64) -> Entry? {
        guard let e = byAuthor[author]?.removeValue(forKey: seq) else { return nil }
        if byAuthor[author]?.isEmpty == true { byAuthor[author] = nil }
        count -= 1; bytes -= e.signedHeader.count + e.payload.count
        return e
    }

    mutating func drop(author: AuthorID) {
        for (_, e) in byAuthor[author] ?? [:] { count -= 1; bytes -= e.signedHeader.count + e.payload.count }
        byAuthor[author] = nil
    }

    /// The lowest held seq per author (what a sync should ask for next).
    var waiting: [AuthorID: UInt64] { byAuthor.compactMapValues { $0.keys.min() } }
}
