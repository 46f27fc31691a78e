/// Thirty-two bytes held as four big-endian words: an author's public key, an entry id, a hash,
/// a digest. Cheap to hash, compare and copy; ordered byte-wise.
public struct Bytes32: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var w0, w1, w2, w3: UInt64

    /// All zero bytes (the `prev` of an author's first entry).
    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads exactly 32 bytes; returns nil for any other length.
    public init?<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = bytes.startIndex
        func word(_ i: inout C.Index) -> UInt64 {
            var v: UInt64 = 0
            for _ in 0..<8 { v = v << 8 | UInt64(bytes[i]); i = bytes.index(after: i) }
            return v
        }
        words.0 = word(&index); words.1 = word(&index); words.2 = word(&index); words.3 = word(&index)
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Reads exactly 32 bytes from contiguous storage (the fast path).
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        let words = bytes.withUnsafeBytes { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Parses 64 hex characters (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let hi = Hex.nibble(utf8[2 * i]), let lo = Hex.nibble(utf8[2 * i + 1]) else { return nil }
            out[i] = hi << 4 | lo
        }
        self.init(out)
    }

    /// The 32 bytes in order.
    public var bytes: [UInt8] {
        var be = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return withUnsafeBytes(of: &be) { Array($0) }
    }

    /// 64 lowercase hex characters.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// The first 8 hex characters, for logs.
    public var short: String { String(hex.prefix(8)) }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

extension Bytes32 {
    /// The first 8 bytes, the rest zero: what a probe carries of a digest (enough to notice a
    /// difference; a collision only delays a sync until the next write or the next periodic one).
    public var fingerprint: Bytes32 { Bytes32(w0: w0, w1: 0, w2: 0, w3: 0) }

    /// These bytes with `x` folded into the first 8 (XOR).
    public func mixing(_ x: UInt64) -> Bytes32 { Bytes32(w0: w0 ^ x, w1: w1, w2: w2, w3: w3) }
}
