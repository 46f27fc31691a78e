#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Text and standard-stream helpers that need nothing beyond the standard library. The node links
// FoundationEssentials only: full Foundation brings ICU and libFoundation, about 8 MiB of resident
// memory in every node for a few string functions.

/// `path` with a leading `~` or `~/` replaced by `$HOME`.
public func expandingTilde(_ path: String) -> String {
    guard path == "~" || path.hasPrefix("~/"), let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else {
        return path
    }
    return home + path.dropFirst()
}
