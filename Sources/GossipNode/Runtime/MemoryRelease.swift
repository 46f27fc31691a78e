#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands memory the node no longer uses back to the kernel: freed heap (glibc `malloc_trim`)
/// and the pages of its own code and read-only data that start-up or a catch-up touched.
///
/// Code pages are clean copies of the binary and its libraries: `MADV_DONTNEED` only removes
/// them from this process's page tables (they stay in the kernel's page cache, shared), and the
/// code still in use faults back in at once. Only mappings without a single private (written)
/// page are touched, so relocated data is never reverted. Linux only; elsewhere it does nothing.
public enum MemoryRelease {
    /// What one call released.
    public struct Report: Sendable, CustomStringConvertible {
        /// Resident kilobytes before and after.
        public var residentBeforeKiB: Int
        public var residentAfterKiB: Int
        /// Bytes of file-backed mappings advised.
        public var advisedBytes: Int
        public var description: String { "resident \(residentBeforeKiB / 1024) MiB -> \(residentAfterKiB / 1024) MiB" }
    }

    /// Releases what it can; returns nil where unsupported.
    @discardableResult
    public static func release() -> Report? {
        #if os(Linux)
        let before = residentKiB()
        trimHeap()
        var advised = 0
        for m in cleanFileMappings() {
            if madvise(UnsafeMutableRawPointer(bitPattern: m.start), m.end - m.start, MADV_DONTNEED) == 0 { advised += m.end - m.start }
        }
        return Report(residentBeforeKiB: before, residentAfterKiB: residentKiB(), advisedBytes: advised)
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

    struct Mapping { var start: Int; var end: Int }

    /// File-backed, non-writable mappings with no private (copy-on-write) page, from `/proc/self/smaps`.
    static func cleanFileMappings() -> [Mapping] {
        guard let smaps = readFile("/proc/self/smaps") else { return [] }
        var result: [Mapping] = []
        var current: Mapping?
        var candidate = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-"), !first.hasSuffix(":"), fields.count >= 5 {
                let range = first.split(separator: "-")
                let perms = fields[1]
                let path = fields.count >= 6 ? fields[5] : ""
                current = range.count == 2 ? Int(range[0], radix: 16).flatMap { s in Int(range[1], radix: 16).map { Mapping(start: s, end: $0) } } : nil
                candidate = current != nil && path.hasPrefix("/") && !perms.contains("w") && perms.hasSuffix("p")
            } else if first == "Anonymous:", candidate, let m = current {
                if fields.count >= 2, fields[1] == "0" { result.append(m) }
                candidate = false
            }
        }
        return result
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
