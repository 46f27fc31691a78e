/// Verified entries that arrived before their predecessor, waiting for the gap to fill.
/// Bounded in all by ``LogLimits/maxHeldEntries`` and ``LogLimits/maxHeldBytes``, per author by
/// ``LogLimits/maxHeldEntriesPerAuthor`` and ``LogLimits/maxHeldBytesPerAuthor``, and for authors
/// with nothing stored yet by ``LogLimits/maxHeldEntriesOfNewAuthors``; what does not fit is
/// refused for now (`hold_buffer_full`) and comes again with the next sync.
struct HeldEntries {
    private var byAuthor: [AuthorID: [UInt64: Entry]] = [:]
    private var bytesByAuthor: [AuthorID: Int] = [:]
    /// Authors held while nothing of theirs was stored, and how many entries each.
    private var newAuthors: [AuthorID: Int] = [:]
    private(set) var count = 0
    private(set) var bytes = 0
    private(set) var countOfNewAuthors = 0

    enum InsertResult { case held, alreadyHeld, conflict(Entry), full }

    /// Holds `e`. `authorStored` says whether anything of its author is stored.
    mutating func insert(_ e: Entry, authorStored: Bool = true) -> InsertResult {
        if let existing = byAuthor[e.author]?[e.seq] {
            return existing.id == e.id ? .alreadyHeld : .conflict(existing)
        }
        let size = e.signedHeader.count + e.payload.count
        guard count < LogLimits.maxHeldEntries, bytes + size <= LogLimits.maxHeldBytes,
              (byAuthor[e.author]?.count ?? 0) < LogLimits.maxHeldEntriesPerAuthor,
              (bytesByAuthor[e.author] ?? 0) + size <= LogLimits.maxHeldBytesPerAuthor else { return .full }
        let isNew = !authorStored || newAuthors[e.author] != nil
        if isNew {
            guard countOfNewAuthors < LogLimits.maxHeldEntriesOfNewAuthors else { return .full }
            newAuthors[e.author, default: 0] += 1
            countOfNewAuthors += 1
        }
        byAuthor[e.author, default: [:]][e.seq] = e
        bytesByAuthor[e.author, default: 0] += size
        count += 1; bytes += size
        return .held
    }

    mutating func take(author: AuthorID, seq: UInt64) -> Entry? {
        guard let e = byAuthor[author]?.removeValue(forKey: seq) else { return nil }
        let size = e.signedHeader.count + e.payload.count
        if byAuthor[author]?.isEmpty == true { byAuthor[author] = nil; bytesByAuthor[author] = nil } else { bytesByAuthor[author]? -= size }
        if let n = newAuthors[author] {
            countOfNewAuthors -= 1
            newAuthors[author] = n > 1 ? n - 1 : nil
        }
        count -= 1; bytes -= size
        return e
    }

    /// Takes every held entry of `author` with seq in `range`, in seq order.
    mutating func take(author: AuthorID, in range: Range<UInt64>) -> [Entry] {
        guard let seqs = byAuthor[author]?.keys.filter({ range.contains($0) }).sorted() else { return [] }
        return seqs.compactMap { take(author: author, seq: $0) }
    }

    mutating func drop(author: AuthorID) {
        for (_, e) in byAuthor[author] ?? [:] { count -= 1; bytes -= e.signedHeader.count + e.payload.count }
        byAuthor[author] = nil
        bytesByAuthor[author] = nil
        countOfNewAuthors -= newAuthors.removeValue(forKey: author) ?? 0
    }

    /// The lowest held seq per author (what a sync should ask for next).
    var waiting: [AuthorID: UInt64] { byAuthor.compactMapValues { $0.keys.min() } }
}
