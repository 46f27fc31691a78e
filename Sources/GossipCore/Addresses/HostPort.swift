import Wire
/// A `host:port` pair, parsed from the command line or a peer's address.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    /// Parses `host:port`, `[v6]:port`, or `host` alone with `defaultPort`.
    public init?(_ s: String, defaultPort: Int? = nil) {
        var text = Substring(s.trimming(" \t"))
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            text = text[text.index(after: close)...]
            if text.isEmpty { guard let d = defaultPort else { return nil }; port = d; return }
            guard text.first == ":", let p = Int(text.dropFirst()), (0...65535).contains(p) else { return nil }
            port = p
            return
        }
        if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            guard let p = Int(text[text.index(after: colon)...]), (0...65535).contains(p) else { return nil }
            host = String(text[..<colon]); port = p
        } else {
            guard let d = defaultPort, !text.contains(":") else { return nil }
            host = String(text); port = d
        }
        guard !host.isEmpty else { return nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// True for `localhost` and numeric loopback addresses (127.0.0.0/8, ::1), parsed as
    /// addresses: a name such as `127.example.com` is not loopback.
    public var isLoopback: Bool { host == "localhost" || IPAddress(host)?.isLoopback == true }
}

extension StringProtocol {
    /// The text without leading and trailing characters made of the scalars in `set` (default:
    /// ASCII whitespace). Scalars, not characters: "\r\n" is one character in Swift.
    public func trimming(_ set: String = " \t\r\n") -> String {
        let scalars = Set(set.unicodeScalars)
        func strip(_ c: Character) -> Bool { c.unicodeScalars.allSatisfy { scalars.contains($0) } }
        var s = Substring(self)
        while let c = s.first, strip(c) { s.removeFirst() }
        while let c = s.last, strip(c) { s.removeLast() }
        return String(s)
    }
}
