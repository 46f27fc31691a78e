import CRDTLog
import GossipClient
import Logging
import Synchronization

/// The log level every logger of the process follows, changed at run time by a reload.
public final class LogLevelSetting: Sendable {
    private let value: Mutex<Logger.Level>
    public init(_ level: Logger.Level) { value = Mutex(level) }
    public var current: Logger.Level {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// How the node writes its log to standard error: plain text, with the journald priority
/// prefix (`<N>`) when systemd's journal reads the stream (`JOURNAL_STREAM` is set), or one JSON
/// object per line (`--log-format json`) for log shippers.
public struct NodeLogHandler: LogHandler {
    public enum Format: String, Sendable { case text, json }

    public let label: String
    public let format: Format
    /// True when stderr goes to the journal: each text line starts with its syslog priority.
    public let journald: Bool
    /// The process-wide level, changed on SIGHUP (``LogLevelSetting``); a logger copy may only
    /// raise its own floor (the API's logger logs from `notice`).
    public let level: LogLevelSetting
    var floor: Logger.Level = .trace
    public var logLevel: Logger.Level {
        get { max(level.current, floor) }
        set { floor = newValue }
    }
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// The clock for timestamps (text and JSON), in ms since the epoch.
    let now: @Sendable () -> UInt64

    public init(label: String, format: Format, journald: Bool, level: LogLevelSetting = LogLevelSetting(.info),
                now: @escaping @Sendable () -> UInt64 = wallClockMillis) {
        self.label = label; self.format = format; self.journald = journald; self.level = level; self.now = now
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let m = event.metadata { all.merge(m) { _, new in new } }
        writeStandardError(Self.line(level: event.level, message: "\(event.message)", metadata: all, label: label,
                                     millis: now(), format: format, journald: journald))
    }

    /// The syslog priority of a level (what journald shows and filters by).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One log line (with its newline). Pure, for tests.
    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, millis: UInt64,
                     format: Format, journald: Bool) -> String {
        let time = RFC3339.format(millis: Int64(clamping: millis))
        let pairs = metadata.sorted { $0.key < $1.key }
        switch format {
        case .json:
            var fields = ["\"time\":\(jsonString(time))", "\"level\":\(jsonString(level.rawValue))", "\"label\":\(jsonString(label))",
                          "\"message\":\(jsonString(message))"]
            for (k, v) in pairs where !["time", "level", "label", "message"].contains(k) { fields.append("\(jsonString(k)):\(jsonString("\(v)"))") }
            return "{" + fields.joined(separator: ",") + "}\n"
        case .text:
            let meta = pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            // The journal adds its own time; elsewhere each line carries one.
            let head = journald ? "<\(priority(level))>" : "\(time) \(level.rawValue) "
            return head + message + (meta.isEmpty ? "" : " " + meta) + "\n"
        }
    }

    /// A JSON string literal, with the same escaping as every other JSON the node writes.
    static func jsonString(_ s: String) -> String { JSON.serialize(.string(s)) }
}
