import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GossipNode
import Synchronization

/// Progress of a long command (verify, import): redrawn in place on a terminal at most ten times
/// a second, or, when standard error is a file or a pipe (a service log), a line every 5 s.
final class CommandProgress: Sendable {
    private struct State {
        var last = Date.distantPast
        var drew = false
    }
    private let verb: String
    private let start = Date()
    private let state = Mutex(State())

    init(_ verb: String) { self.verb = verb }

    func update(_ count: Int) {
        state.withLock { s in
            let now = Date()
            let interval = stderrIsTerminal ? 0.1 : 5
            guard now.timeIntervalSince(s.last) >= interval else { return }
            s.last = now
            let rate = Double(count) / max(now.timeIntervalSince(start), 0.001)
            let text = "\(verb) \(count) entries (\(Int(rate))/s)"
            if stderrIsTerminal {
                writeStandardError("\r\(text)\u{1B}[K")
                s.drew = true
            } else {
                writeStandardError("\(text)\n")
            }
        }
    }

    /// Clears the terminal line before the final result is printed.
    func finish() {
        state.withLock { s in
            if s.drew { writeStandardError("\r\u{1B}[K") }
        }
    }
}
