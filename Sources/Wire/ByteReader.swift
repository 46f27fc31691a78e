/// Why bytes could not be decoded. Decoders never trap: every failure is one of these.
public struct WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, without the position.
    public enum Reason: Sendable, Equatable {
        /// The input ended before `needed` more bytes could be read.
        case truncated(needed: Int)
        /// A length or count exceeded its limit.
        case tooLong(field: String, length: Int, limit: Int)
        /// A field held a value that is not allowed.
        case invalid(field: String, detail: String)
        /// Bytes were left over after a complete message.
        case trailingBytes(count: Int)
    }

    public var reason: Reason
    /// Byte offset at which decoding failed.
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) { self.reason = reason; self.offset = offset }

    public var description: String {
        switch reason {
        case .truncated(let needed): "truncated at byte \(offset): \(needed) more byte(s) needed"
        case .tooLong(let field, let length, let limit): "\(field) at byte \(offset) is \(length) long, limit \(limit)"
        case .invalid(let field, let detail): "invalid \(field) at byte \(offset): \(detail)"
        case .trailingBytes(let count): "\(count) unexpected trailing byte(s) at byte \(offset)"
        }
    }

    /// A short snake_case label for metrics.
    public var label: String {
        switch reason {
        case .truncated: "truncated"
        case .tooLong: "too_long"
        case .invalid: "invalid"
        case .trailingBytes: "trailing_bytes"
        }
    }
}

/// A bounds-checked cursor over bytes. Every read either succeeds or throws
/// ``WireDecodingError``; none can trap, whatever the input.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8]) { self.bytes = bytes; offset = 0; end = bytes.count }

    /// Reads only `range` of `bytes`.
    public init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        self.bytes = bytes; offset = range.lowerBound; end = range.upperBound
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset == end }

    private mutating func need(_ n: Int) throws(WireDecodingError) {
        guard n >= 0, n <= end - offset else { throw WireDecodingError(.truncated(needed: n - (end - offset)), at: offset) }
    }

    public mutating func u8() throws(WireDecodingError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func bigEndian(width: Int) throws(WireDecodingError) -> UInt64 {
        try need(width)
        var v: UInt64 = 0
        for i in 0..<width { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += width
        return v
    }

    public mutating func u16() throws(WireDecodingError) -> UInt16 { UInt16(try bigEndian(width: 2)) }
    public mutating func u32() throws(WireDecodingError) -> UInt32 { UInt32(try bigEndian(width: 4)) }
    public mutating func u64() throws(WireDecodingError) -> UInt64 { try bigEndian(width: 8) }

    /// Unsigned LEB128; rejects encodings longer than 10 bytes, overflowing ones and
    /// non-minimal ones (so each value has exactly one encoding).
    public mutating func varint() throws(WireDecodingError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift == 63 && byte > 1 { throw WireDecodingError(.invalid(field: "varint", detail: "overflows 64 bits"), at: start) }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 { throw WireDecodingError(.invalid(field: "varint", detail: "not minimally encoded"), at: start) }
                return result
            }
            shift += 7
            if shift > 63 { throw WireDecodingError(.invalid(field: "varint", detail: "longer than 10 bytes"), at: start) }
        }
    }

    /// A varint no greater than `max` (a sequence number, an incarnation, a time): values off the
    /// wire are range-checked here, so arithmetic on them later cannot overflow.
    public mutating func varint(_ field: String, max: UInt64) throws(WireDecodingError) -> UInt64 {
        let start = offset
        let v = try varint()
        guard v <= max else { throw WireDecodingError(.invalid(field: field, detail: "\(v) is above \(max)"), at: start) }
        return v
    }

    /// A varint bounded by `limit`, as an Int.
    public mutating func count(_ field: String, limit: Int) throws(WireDecodingError) -> Int {
        let start = offset
        let v = try varint()
        guard v <= UInt64(limit) else { throw WireDecodingError(.tooLong(field: field, length: Int(clamping: v), limit: limit), at: start) }
        return Int(v)
    }

    public mutating func raw(_ n: Int) throws(WireDecodingError) -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    public mutating func bytes32() throws(WireDecodingError) -> Bytes32 {
        Bytes32(w0: try u64(), w1: try u64(), w2: try u64(), w3: try u64())
    }

    /// A varint length (at most `limit`) and that many bytes.
    public mutating func lengthPrefixed(_ field: String, limit: Int) throws(WireDecodingError) -> [UInt8] {
        let n = try count(field, limit: limit)
        return try raw(n)
    }

    /// A length-prefixed UTF-8 string of at most `limit` bytes; invalid UTF-8 is rejected.
    public mutating func string(_ field: String, limit: Int) throws(WireDecodingError) -> String {
        let start = offset
        let b = try lengthPrefixed(field, limit: limit)
        guard let s = String(validating: b, as: UTF8.self) else {
            throw WireDecodingError(.invalid(field: field, detail: "not UTF-8"), at: start)
        }
        return s
    }

    /// Throws unless every byte was consumed.
    public func expectEnd() throws(WireDecodingError) {
        guard offset == end else { throw WireDecodingError(.trailingBytes(count: end - offset), at: offset) }
    }
}
