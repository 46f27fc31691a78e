import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Text and standard-stream helpers of the command line and the API client: standard library and Wire, no Foundation.

/// `s` with every `%XX` turned back into its byte; nil when an escape is malformed or the bytes
/// are not UTF-8 (a path parameter like that is a 400, never a guess).
public func percentDecode(_ s: String) -> String? {
    let u = Array(s.utf8)
    guard u.contains(UInt8(ascii: "%")) else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(u.count)
    var i = 0
    while i < u.count {
        if u[i] == UInt8(ascii: "%") {
            guard i + 2 < u.count, let hi = Hex.nibble(u[i + 1]), let lo = Hex.nibble(u[i + 2]) else { return nil }
            out.append(hi << 4 | lo)
            i += 3
        } else {
            out.append(u[i])
            i += 1
        }
    }
    return String(validating: out, as: UTF8.self)
}

/// `s` with every byte outside RFC 3986's unreserved set percent-encoded (for URL path segments
/// and query values).
public func percentEncode(_ s: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count)
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(b)
        default:
            out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// `x` rounded to `places` decimals (0...9), e.g. `decimal(1.25, places: 1)` is "1.3".
public func decimal(_ x: Double, places: Int) -> String {
    let places = max(0, min(9, places))
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e15 else { return "\(x)" }
    let n = Int64(scaled), unit = Int64(scale)
    let whole = n / unit, frac = n % unit
    var text = (x < 0 && n != 0 ? "-" : "") + String(whole)
    if places > 0 {
        let f = String(frac)
        text += "." + String(repeating: "0", count: places - f.count) + f
    }
    return text
}

/// The error of a failed write to a standard stream.
public struct StreamWriteError: Error, CustomStringConvertible {
    /// The `errno` of the failed write.
    public var code: Int32
    public var description: String { String(cString: strerror(code)) }
}

/// Writes all of `bytes` to file descriptor `fd`, retrying short writes and interrupts.
public func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) throws(StreamWriteError) {
    let buffer = Array(bytes)
    var offset = 0
    while offset < buffer.count {
        let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            throw StreamWriteError(code: errno)
        }
        offset += n
    }
}

/// Writes `text` to standard error (best effort: a closed stderr is ignored).
public func writeStandardError(_ text: String) {
    try? writeAll(2, text.utf8)
}

extension String {
    /// The text followed by spaces up to `width` characters (unchanged when already as long).
    public func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
