import Dispatch
import Foundation

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body`, prints and returns items per second.
func measure(_ label: String, _ body: () throws -> Int) throws -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    let n = try body()
    let s = Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
    print(String(format: "%@: %d in %.3f s = %.0f /s", label, n, s, Double(n) / s))
    return Double(n) / s
}

func measureAsync(_ label: String, _ body: () async throws -> Int) async throws -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    let n = try await body()
    let s = Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
    print(String(format: "%@: %d in %.3f s = %.0f /s", label, n, s, Double(n) / s))
    return Double(n) / s
}

/// A counter summed by concurrentPerform workers under a lock.
final class Atomicish: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}

enum Machine {
    static func describe() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let mem = ProcessInfo.processInfo.physicalMemory >> 30
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(mem) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }
}

/// User + system CPU seconds of this process so far.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}
