import Logging
import Testing
@testable import GossipNode

/// Log lines an operator reads: journald priorities, JSON for shippers.
@Suite("Log output")
struct LogOutputTests {
    let t: UInt64 = 1_767_225_600_000

    @Test func underJournaldTextLinesCarryTheSyslogPriority() {
        let line = NodeLogHandler.line(level: .warning, message: "fork found", metadata: ["author": "abc", "seq": "4"], label: "gossip-node",
                                       millis: t, format: .text, journald: true)
        #expect(line == "<4>fork found author=abc seq=4\n")
        #expect(NodeLogHandler.line(level: .info, message: "m", metadata: [:], label: "l", millis: t, format: .text, journald: true) == "<6>m\n")
        #expect(NodeLogHandler.priority(.critical) == 2 && NodeLogHandler.priority(.error) == 3 && NodeLogHandler.priority(.debug) == 7)
    }

    @Test func elsewhereTextLinesCarryATimeAndLevel() {
        let line = NodeLogHandler.line(level: .notice, message: "member dead", metadata: [:], label: "l", millis: t, format: .text, journald: false)
        #expect(line == "2026-01-01T00:00:00.000Z notice member dead\n")
    }

    @Test func jsonLinesAreOneObjectWithEscapedFields() throws {
        let line = NodeLogHandler.line(level: .error, message: "a \"quoted\"\nline", metadata: ["path": "C:\\x", "n": "1"], label: "gossip-node",
                                       millis: t, format: .json, journald: false)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        #expect(line == #"{"time":"2026-01-01T00:00:00.000Z","level":"error","label":"gossip-node","message":"a \"quoted\"\nline","n":"1","path":"C:\\x"}"# + "\n")
    }
}
