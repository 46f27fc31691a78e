import Foundation

/// Progress of a long command (verify, import): redrawn in place on a terminal at most ten times
/// a second, or, when standard error is a file or a pipe (a service log), a line every 5 s.
final class CommandProgress: @unchecked Sendable {
    private let verb: String
    private let lock = NSLock()
    private var last = Date.distantPast
    private let start = Date()
    private var drew = false

    init(_ verb: String) { self.verb = verb }

    func update(_ count: Int) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let interval = stderrIsTerminal ? 0.1 : 5
        guard now.timeIntervalSince(last) >= interval else { return }
        last = now
        let rate = Double(count) / max(now.timeIntervalSince(start), 0.001)
        let text = "\(verb) \(count) entries (\(Int(rate))/s)"
        if stderrIsTerminal {
            FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8))
            drew = true
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    /// Clears the terminal line before the final result is printed.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drew { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
