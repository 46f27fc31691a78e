import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric IPv4 or IPv6 address, parsed strictly (`inet_pton`: no names, no shorthand like
/// `127.1`), so "what counts as loopback" and "is this an address at all" never depend on a
/// string prefix or on name resolution.
public enum IPAddress: Sendable, Hashable {
    case v4(UInt8, UInt8, UInt8, UInt8)
    case v6([UInt8])

    /// Parses a dotted quad or an IPv6 address (without brackets); nil for anything else.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let b = withUnsafeBytes(of: &v4) { Array($0) }
            self = .v4(b[0], b[1], b[2], b[3])
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z).
    public var isLoopback: Bool {
        switch self {
        case .v4(let a, _, _, _): return a == 127
        case .v6(let b):
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return b[12] == 127 }
            return false
        }
    }
}

extension HostPort {
    /// True when `text` is `IP:port` or `[IPv6]:port` with a numeric address and a port in
    /// 1...65535: the only form member records may carry (sending never resolves a name).
    public static func isIPAddressWithPort(_ text: String) -> Bool {
        guard let hp = HostPort(text), hp.port > 0 else { return false }
        return IPAddress(hp.host) != nil
    }
}
