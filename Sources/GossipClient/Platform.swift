#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few socket calls whose spelling differs between Linux (Glibc) and macOS (Darwin), both
/// sides written out (`scripts/check-portable` keeps Linux-only symbols behind such guards).
public enum Platform {
    #if canImport(Glibc)
    /// `SOCK_STREAM` as `socket(2)` and `addrinfo` take it.
    public static let streamSocket = Int32(SOCK_STREAM.rawValue)
    /// `SOCK_DGRAM` as `socket(2)` takes it.
    public static let datagramSocket = Int32(SOCK_DGRAM.rawValue)
    /// Flags for `send(2)`: no SIGPIPE when the peer has gone (Linux: per call).
    public static let sendFlags = Int32(MSG_NOSIGNAL)
    /// Nothing to do on Linux (see ``sendFlags``).
    public static func noSignalOnWrite(_ fd: Int32) {}
    public static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>!, _ length: socklen_t) -> Int32 { Glibc.connect(fd, address, length) }
    #elseif canImport(Darwin)
    public static let streamSocket = SOCK_STREAM
    public static let datagramSocket = SOCK_DGRAM
    public static let sendFlags: Int32 = 0
    /// No SIGPIPE when the peer has gone (Darwin: a socket option).
    public static func noSignalOnWrite(_ fd: Int32) {
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
    }
    public static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>!, _ length: socklen_t) -> Int32 { Darwin.connect(fd, address, length) }
    #endif
}
