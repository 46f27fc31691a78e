/// Fingerprints of the entries this node took in most recently (stored, or queued to be
/// verified and stored), so that another pushed copy of one of them is dropped on arrival
/// instead of costing a signature check, a store round trip and a transaction.
///
/// Above ``ReplicationConfiguration/pushToAllBelow`` nodes entries spread epidemically, and each
/// node receives each entry about ceil(ln N) + 2 times (random peers and the ring): at 128 nodes,
/// with one more random peer then, 86 % of the received copies were duplicates, each verified and
/// offered to the store (dropping them took the cluster's CPU per propagated entry from 288 to
/// 259 ms on a 2-core machine).
///
/// A fingerprint is a keyed 64-bit hash of the encoded bytes (SipHash under Swift's per-process
/// random seed): a member cannot craft a different entry that matches one held here without
/// knowing that seed, and a false match would only drop a push, which anti-entropy (never
/// filtered) fetches later. Only byte-identical copies match: a second entry for the same
/// place in a log (a fork) differs and is checked as usual.
///
/// Memory is bounded: at most ``capacity`` fingerprints, the oldest forgotten first.
public struct RecentEntries: Sendable {
    /// The default capacity: a few seconds of a write burst, 64 KiB of fingerprints at most.
    public static let defaultCapacity = 4_096

    public let capacity: Int
    private var ring: [Int] = []
    private var next = 0
    private var members: Set<Int> = []

    public init(capacity: Int = RecentEntries.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// The number of fingerprints held (at most ``capacity``).
    public var count: Int { members.count }

    /// Whether a byte-identical copy of `encoded` was noted recently.
    public func contains(_ encoded: [UInt8]) -> Bool { members.contains(Self.fingerprint(encoded)) }

    /// Notes `encoded`; returns false when it was noted already (a duplicate).
    @discardableResult
    public mutating func insert(_ encoded: [UInt8]) -> Bool {
        let f = Self.fingerprint(encoded)
        guard members.insert(f).inserted else { return false }
        if ring.count < capacity {
            ring.append(f)
        } else {
            members.remove(ring[next])
            ring[next] = f
            next = (next + 1) % capacity
        }
        return true
    }

    private static func fingerprint(_ bytes: [UInt8]) -> Int {
        var h = Hasher()
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }
}
