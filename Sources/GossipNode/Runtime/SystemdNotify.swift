import GossipClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The service manager's readiness protocol (`sd_notify(3)`) without libsystemd: one datagram
/// per state change to the Unix socket named by `NOTIFY_SOCKET`. Inert when the variable is not
/// set (not run by systemd, `Type=` other than `notify`, macOS).
public struct SystemdNotifier: Sendable {
    /// The socket path (a leading `@` names an abstract socket), or nil.
    let path: String?
    /// Half of `WATCHDOG_USEC` in ms, when the service manager expects watchdog pings from us.
    public let watchdogIntervalMillis: UInt64?

    public init(environment: [String: String]) {
        let p = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        path = p
        // WATCHDOG_PID, when set, names the process the pings must come from.
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if p != nil, forUs, let usec = environment["WATCHDOG_USEC"].flatMap({ UInt64($0) }), usec >= 2_000 {
            watchdogIntervalMillis = usec / 2_000
        } else {
            watchdogIntervalMillis = nil
        }
    }

    public var isActive: Bool { path != nil }

    /// Sends `state` (e.g. `READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=...`); false when
    /// inert or the datagram could not be sent (the service manager then times out and says so).
    @discardableResult
    public func send(_ state: String) -> Bool {
        guard let path else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Platform.datagramSocket, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let length = socklen_t((MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2) + bytes.count)
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            }
        }
        return sent == message.count
    }
}
