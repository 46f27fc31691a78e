import CRDTLog
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 client for the local API (the command line and the tests):
/// one request per connection, JSON in and out.
public struct APIClient: Sendable {
    public var address: HostPort
    public var token: String?
    public var timeoutSeconds = 10

    public init(address: HostPort, token: String? = nil) { self.address = address; self.token = token }

    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// The reply's headers, names in lowercase (a repeated name keeps its last value).
        public var headers: [String: String] = [:]
        public var json: JSONValue? { try? JSON.parse(body) }
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The API's error message, if this is an error reply.
        public var errorMessage: String? { json?["error"]?["message"]?.stringValue }
    }

    public func get(_ path: String) throws -> Reply { try request("GET", path) }
    public func post(_ path: String, json: JSONValue) throws -> Reply { try request("POST", path, body: JSON.serializedBytes(json)) }
    public func delete(_ path: String) throws -> Reply { try request("DELETE", path) }

    /// Sends one request and reads the whole reply.
    /// `host` replaces the Host header and `headers` are added as given (for tests of what a browser would send).
    public func request(_ method: String, _ path: String, body: [UInt8] = [], contentType: String = "application/json",
                        host: String? = nil, headers: [String] = []) throws -> Reply {
        let fd = try connect()
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? address.description)\r\nConnection: close\r\nUser-Agent: gossip-node-cli\r\n"
        for h in headers { head += h + "\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        try sendAll(fd, Array(head.utf8) + body)
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw UserError("reading the reply from \(address) failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return try Self.parse(data, from: address)
    }

    /// Opens a streaming GET (Server-Sent Events) and calls `onLine` for each line until it
    /// returns false or the connection ends.
    public func stream(_ path: String, headers: [String] = [], onLine: (String) -> Bool) throws {
        let fd = try connect(timeout: false)
        defer { close(fd) }
        var head = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nAccept: text/event-stream\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for h in headers { head += h + "\r\n" }
        try sendAll(fd, Array((head + "\r\n").utf8))
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            pending += buffer[0..<n]
            while let nl = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<nl], as: UTF8.self).trimming("\r")
                pending.removeSubrange(...nl)
                if !onLine(line) { return }
            }
        }
    }

    func connect(timeout: Bool = true) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Platform.streamSocket
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &res) == 0, let ai = res else {
            throw UserError("cannot resolve \(address.host)")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw UserError("cannot open a socket: \(String(cString: strerror(errno)))") }
        if timeout {
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        Platform.noSignalOnWrite(fd)
        guard Platform.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            close(fd)
            throw UserError("no gossip-node answers at \(address) (\(String(cString: strerror(errno)))); is it running? Start one with `gossip-node run --data DIR`, or pass --api HOST:PORT")
        }
        return fd
    }

    func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Platform.sendFlags) }
            guard n > 0 else { throw UserError("sending to \(address) failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    static func parse(_ data: [UInt8], from address: HostPort) throws -> Reply {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, data.count - 3)).first(where: { Array(data[$0..<$0 + 4]) == sep }) else {
            throw UserError("\(address) sent a malformed HTTP reply")
        }
        let head = String(decoding: data[..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2, let status = Int(parts[1]) else { throw UserError("\(address) sent a malformed status line") }
        var body = Array(data[(end + 4)...])
        if lines.contains(where: { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }) {
            body = dechunk(body)
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimming(" ")
        }
        return Reply(status: status, body: body, headers: headers)
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let nl = b[i...].firstIndex(of: 10) else { break }
            let sizeText = String(decoding: b[i..<nl], as: UTF8.self).trimming()
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = nl + 1
            guard start + size <= b.count else { out += b[start...]; break }
            out += b[start..<start + size]
            i = start + size + 2
        }
        return out
    }
}
