#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands memory the node no longer uses back to the kernel: freed heap (glibc `malloc_trim`).
/// (The caller also shrinks SQLite's page cache.) Nothing else: pages of the binary's code are
/// left mapped, so the resident size a benchmark or an operator reads is the memory the node
/// really holds. Linux only; elsewhere it does nothing.
public enum MemoryRelease {
    /// What one call released.
    public struct Report: Sendable, CustomStringConvertible {
        /// Resident kilobytes before and after.
        public var residentBeforeKiB: Int
        public var residentAfterKiB: Int
        public var description: String { "resident \(residentBeforeKiB / 1024) MiB -> \(residentAfterKiB / 1024) MiB" }
    }

    /// Releases what it can; returns nil where unsupported.
    @discardableResult
    public static func release() -> Report? {
        #if os(Linux)
        let before = residentKiB()
        trimHeap()
        return Report(residentBeforeKiB: before, residentAfterKiB: residentKiB())
        #else
        return nil
        #endif
    }

    #if os(Linux)
    /// glibc's `malloc_trim(0)`, looked up at run time (absent from the Glibc module and from musl).
    static func trimHeap() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// The process's resident set in KiB (`VmRSS`), 0 when unreadable.
    public static func residentKiB() -> Int {
        guard let status = readFile("/proc/self/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
    #endif
}
