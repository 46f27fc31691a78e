/// A hybrid logical clock timestamp: milliseconds since the Unix epoch in the high 48 bits,
/// a logical counter in the low 16. Ordered as an integer; unique per author.
public struct HLCTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(millis: UInt64, logical: UInt16 = 0) { rawValue = millis << 16 | UInt64(logical) }

    public var millis: UInt64 { rawValue >> 16 }
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "\(millis).\(logical)" }
}

/// The node's hybrid logical clock (Kulkarni et al.): never goes backwards, stays close to
/// wall time, and moves past every timestamp it has observed. Time is passed in; the clock
/// reads no system clock of its own.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLCTimestamp

    public init(last: HLCTimestamp = HLCTimestamp(rawValue: 0)) { self.last = last }

    /// A timestamp later than every one issued or observed, and at least `wallMillis`.
    public mutating func next(wallMillis: UInt64) -> HLCTimestamp {
        let wall = HLCTimestamp(millis: wallMillis)
        last = wall > last ? wall : HLCTimestamp(rawValue: last.rawValue &+ 1)
        return last
    }

    /// Moves past a timestamp seen on a stored entry.
    public mutating func observe(_ t: HLCTimestamp) { if t > last { last = t } }
}
