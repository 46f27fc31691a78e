/// Authenticates a batch of decoded entries with as few signature checks as the batch allows.
///
/// An entry's id is the BLAKE2b-256 of its whole signed header, signature included, and every
/// entry names its predecessor's id in `prev`. So when an author's entry `n` carries a valid
/// signature, it also fixes the exact bytes of the entry `n - 1` it links to, and that entry's
/// own `prev` fixes `n - 2`, and so on: nobody without the author's key can produce a different
/// entry with the same id. A catch-up streams each author's entries in seq order, so a batch
/// holds long runs of one author's chain; only the last entry of each run (a *tip*) needs its
/// signature checked, and the rest are authenticated by their links (*vouched for*).
///
/// The rule, applied to each batch on its own:
/// - an entry links to the batch entry whose id is its `prev`, when that entry has the **same
///   author** and the **seq just below** (otherwise it has no link: another author's bytes are
///   never vouched for);
/// - an entry that no other entry of the batch links to is a tip: its signature is checked;
/// - every entry reached by following links down from a tip whose signature verified is
///   authentic, and gets the kind's own checks (a successor's predecessor signature, a
///   checkpoint's payload) as a verified entry would;
/// - every other entry (below a tip that failed) has its own signature checked.
///
/// A forged entry is never vouched for: a link is an exact hash, and a forger's entry is not
/// what a genuine signature's chain names. A batch of forgeries costs what it did before: each
/// is a tip or falls back to its own check. The one difference an author can observe is that an
/// entry whose own signature the author spoiled is accepted when the author's later, validly
/// signed entry names it (the author vouched for those bytes). A node that receives it alone
/// refuses it; it arrives again with its successor at the next sync.
///
/// A sans-IO state machine: ``pending`` says which entries to check, ``record(_:)`` takes the
/// verdicts, until ``pending`` is empty and ``results`` holds one result per input, in order.
struct ChainAuthentication {
    private enum State { case undecided, decided }

    private var results_: [Result<Entry, EntryRejection>]
    private var state: [State]
    /// Position of the entry an entry links to (same author, seq - 1, id == prev).
    private var predecessor: [Int?]
    /// Positions that repeat an earlier position's entry (same id): they share its verdict.
    private var aliasOf: [Int?]
    private var phase = 0
    /// The positions whose own signatures are to be checked next; empty when authentication is done.
    private(set) var pending: [Int]
    /// How many signatures the batch needed (tips and fall-backs), for counters and benchmarks.
    private(set) var signaturesChecked = 0

    init(_ decoded: [Result<Entry, EntryRejection>]) {
        let n = decoded.count
        results_ = decoded
        state = Array(repeating: .decided, count: n)
        predecessor = Array(repeating: nil, count: n)
        aliasOf = Array(repeating: nil, count: n)
        var byID: [EntryID: Int] = [:]
        byID.reserveCapacity(n)
        for (i, r) in decoded.enumerated() {
            guard case .success(let e) = r else { continue }
            if let first = byID[e.id] { aliasOf[i] = first; continue }
            byID[e.id] = i
            state[i] = .undecided
        }
        var hasSuccessor = Array(repeating: false, count: n)
        for (i, r) in decoded.enumerated() where aliasOf[i] == nil {
            guard case .success(let e) = r, e.seq > 1, let p = byID[e.prev], case .success(let below) = decoded[p],
                  below.author == e.author, below.seq == e.seq - 1 else { continue }
            predecessor[i] = p
            hasSuccessor[p] = true
        }
        let tips = (0..<n).filter { [state] in state[$0] == .undecided && !hasSuccessor[$0] }
        pending = tips
    }

    /// The entries at the positions of ``pending``, in that order.
    var pendingEntries: [Entry] {
        pending.compactMap { if case .success(let e) = results_[$0] { e } else { nil } }
    }

    /// Takes the verdicts of ``EntryVerifier/check(entry:)`` for the positions of ``pending``, in order.
    mutating func record(_ verdicts: [Result<Entry, EntryRejection>]) {
        let positions = pending
        signaturesChecked += positions.count
        for (p, verdict) in zip(positions, verdicts) {
            results_[p] = verdict
            state[p] = .decided
        }
        if phase == 0 {
            // Follow the links down from every tip that verified.
            for (p, verdict) in zip(positions, verdicts) {
                guard case .success = verdict else { continue }
                var current = p
                while let below = predecessor[current], state[below] == .undecided {
                    state[below] = .decided
                    results_[below] = results_[below].flatMap(EntryVerifier.checkKind)
                    current = below
                }
            }
            phase = 1
            let state = self.state
            pending = state.indices.filter { state[$0] == .undecided }
        } else {
            pending = []
        }
    }

    /// One result per input entry, in input order (complete once ``pending`` is empty).
    var results: [Result<Entry, EntryRejection>] {
        results_.indices.map { i in aliasOf[i].map { results_[$0] } ?? results_[i] }
    }
}
