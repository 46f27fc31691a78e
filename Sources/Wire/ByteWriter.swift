/// Appends big-endian integers, LEB128 varints and byte strings to a growing buffer.
/// The encoders of every wire message and of entries are written against it.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { append(bigEndian: UInt64(v), width: 2) }
    public mutating func u32(_ v: UInt32) { append(bigEndian: UInt64(v), width: 4) }
    public mutating func u64(_ v: UInt64) { append(bigEndian: v, width: 8) }

    private mutating func append(bigEndian v: UInt64, width: Int) {
        for i in stride(from: width - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * i))) }
    }

    /// Unsigned LEB128, at most 10 bytes.
    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    public mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }
    public mutating func raw(_ b: Bytes32) {
        for w in [b.w0, b.w1, b.w2, b.w3] { append(bigEndian: w, width: 8) }
    }

    /// A varint length followed by the bytes.
    public mutating func lengthPrefixed<C: Collection>(_ b: C) where C.Element == UInt8 {
        varint(UInt64(b.count)); raw(b)
    }

    /// A varint length followed by the string's UTF-8 bytes.
    public mutating func string(_ s: String) { lengthPrefixed(Array(s.utf8)) }
}
