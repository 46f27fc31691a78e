import CRDTLog
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Model Context Protocol server of `gossip-node mcp`: JSON-RPC 2.0 messages in, replies
/// out, with no IO of its own (the command reads stdin and writes stdout; tests call it
/// directly). Tools reach the local node through ``MCPServer/NodeCall``; when the node does
/// not answer, a tool answers with `isError` and a message, never a protocol error (memory is
/// best effort for agents too).
public struct MCPServer {
    /// Revisions this server speaks, newest first; it answers a client with the one it asked
    /// for when known, else the newest.
    public static let protocolVersions = ["2025-06-18", "2025-03-26", "2024-11-05"]

    /// One API request to the node: method, path, JSON body; the status and JSON reply, or nil
    /// when the node did not answer.
    public typealias NodeCall = (_ method: String, _ path: String, _ body: JSONValue?) -> (status: Int, body: JSONValue?)?

    let call: NodeCall
    let version: String
    public private(set) var initialized = false

    public init(version: String, call: @escaping NodeCall) {
        self.version = version
        self.call = call
    }

    /// The reply to one message (nil for a notification, which gets none).
    public mutating func handle(_ text: String) -> String? {
        guard let message = try? JSON.parse(Array(text.utf8)), case .object(let m) = message else {
            return Self.error(id: .null, code: -32700, "parse error: not a JSON object")
        }
        let id = m["id"]
        guard m["jsonrpc"]?.stringValue == "2.0", let method = m["method"]?.stringValue else {
            return id == nil ? nil : Self.error(id: id ?? .null, code: -32600, "invalid request: needs jsonrpc 2.0 and a method")
        }
        guard let id else {
            if method == "notifications/initialized" { initialized = true }
            return nil  // notifications get no reply
        }
        let params = m["params"] ?? .object([:])
        switch method {
        case "initialize":
            let asked = params["protocolVersion"]?.stringValue ?? ""
            let chosen = Self.protocolVersions.contains(asked) ? asked : Self.protocolVersions[0]
            return Self.result(id: id, .object([
                "protocolVersion": .string(chosen),
                "capabilities": .object(["tools": .object(["listChanged": .bool(false)])]),
                "serverInfo": .object(["name": .string("gossip-node"), "version": .string(version)]),
                "instructions": .string("Shared memory of this tailnet's sf hosts: lessons, anti-patterns, provider outages (circuit breakers) and benchmark observations, each with its provenance (author, host, trusted). Best effort: when the local gossip-node does not answer, tools say so and you carry on without."),
            ]))
        case "ping":
            return Self.result(id: id, .object([:]))
        case "tools/list":
            return Self.result(id: id, .object(["tools": .array(MCPTools.all.map(\.description))]))
        case "tools/call":
            guard let name = params["name"]?.stringValue, let tool = MCPTools.all.first(where: { $0.name == name }) else {
                return Self.error(id: id, code: -32602, "unknown tool \(params["name"]?.stringValue ?? "(none)"); tools/list names them")
            }
            let arguments = params["arguments"] ?? .object([:])
            return Self.result(id: id, tool.run(arguments, call))
        default:
            return Self.error(id: id, code: -32601, "method not found: \(method)")
        }
    }

    static func result(id: JSONValue, _ value: JSONValue) -> String {
        JSON.serialize(.object(["jsonrpc": .string("2.0"), "id": id, "result": value]))
    }

    static func error(id: JSONValue, code: Int, _ message: String) -> String {
        JSON.serialize(.object(["jsonrpc": .string("2.0"), "id": id,
                                "error": .object(["code": .number(Double(code)), "message": .string(message)])]))
    }
}

/// The tools: each a JSON schema for its arguments and a mapping onto the local API.
enum MCPTools {
    struct Tool: Sendable {
        let name: String
        let title: String
        let summary: String
        let inputSchema: JSONValue
        let run: @Sendable (JSONValue, MCPServer.NodeCall) -> JSONValue

        var description: JSONValue {
            .object(["name": .string(name), "title": .string(title), "description": .string(summary), "inputSchema": inputSchema])
        }
    }

    static func schema(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        .object(["type": .string("object"), "properties": .object(properties), "required": .array(required.map { .string($0) }),
                 "additionalProperties": .bool(false)])
    }
    static func prop(_ type: String, _ description: String) -> JSONValue { .object(["type": .string(type), "description": .string(description)]) }

    /// A tool result: the JSON as text and as structured content, or an error the agent reads.
    static func answer(_ reply: (status: Int, body: JSONValue?)?, _ what: String) -> JSONValue {
        guard let reply else {
            return .object(["isError": .bool(true), "content": .array([.object(["type": .string("text"),
                "text": .string("the local gossip-node does not answer (\(what)); memory is best effort: carry on without it")])])])
        }
        guard (200..<300).contains(reply.status), let body = reply.body else {
            let message = reply.body?["error"]?["message"]?.stringValue ?? "HTTP \(reply.status)"
            return .object(["isError": .bool(true), "content": .array([.object(["type": .string("text"), "text": .string("\(what) failed: \(message)")])])])
        }
        return .object(["isError": .bool(false), "content": .array([.object(["type": .string("text"), "text": .string(JSON.serialize(body))])]),
                        "structuredContent": body])
    }

    static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { k, v in v.map { "\(k)=\(percentEncode($0))" } }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    static func string(_ a: JSONValue, _ k: String) -> String? { a[k]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
    static func integer(_ a: JSONValue, _ k: String) -> String? {
        a[k]?.numberValue.flatMap { $0.isFinite && $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : nil }
    }

    static let all: [Tool] = [
        Tool(name: "recall", title: "Recall shared memories",
             summary: "Full-text search of the memories every sf host shared (lessons, anti-patterns, outages), best first, each with its provenance: author, host, recorded_at, trusted.",
             inputSchema: schema(["query": prop("string", "words to search for"), "category": prop("string", "only this category"),
                                  "tag": prop("string", "only memories with this tag"), "trusted_only": prop("boolean", "only trusted authors"),
                                  "limit": .object(["type": .string("integer"), "minimum": .number(1), "maximum": .number(100), "description": .string("at most this many (default 10)")])]),
             run: { a, call in
                 let path = "/v1/memories" + query([("q", string(a, "query")), ("category", string(a, "category")), ("tag", string(a, "tag")),
                                                     ("trusted", a["trusted_only"] == .bool(true) ? "only" : nil), ("limit", integer(a, "limit") ?? "10")])
                 return answer(call("GET", path, nil), "recall")
             }),
        Tool(name: "remember", title: "Share a memory",
             summary: "Write a memory every sf host will see: a lesson, an anti-pattern, an outage. A later memory with the same key replaces it.",
             inputSchema: schema(["content": prop("string", "the memory itself"), "category": prop("string", "e.g. lesson, anti-pattern, outage"),
                                  "key": prop("string", "optional: a later memory with the same key supersedes this one"),
                                  "tags": .object(["type": .string("array"), "items": .object(["type": .string("string")])]),
                                  "project": prop("string", "the project it concerns")], required: ["content", "category"]),
             run: { a, call in
                 var body: [String: JSONValue] = [:]
                 for k in ["content", "category", "key", "project"] { if let v = a[k], case .string = v { body[k] = v } }
                 if let t = a["tags"], case .array = t { body["tags"] = t }
                 return answer(call("POST", "/v1/memories", .object(body)), "remember")
             }),
        Tool(name: "breaker_status", title: "Circuit breakers",
             summary: "The merged circuit-breaker state per provider/model across all hosts (open until resets_at, half_open, closed), with who reported it.",
             inputSchema: schema(["provider": prop("string", "only this provider"), "model": prop("string", "only this model")]),
             run: { a, call in
                 answer(call("GET", "/v1/breakers" + query([("provider", string(a, "provider")), ("model", string(a, "model"))]), nil), "breaker_status")
             }),
        Tool(name: "open_breaker", title: "Open a circuit breaker",
             summary: "Tell every host that a provider/model is failing: open its breaker for some minutes (default 15).",
             inputSchema: schema(["provider": prop("string", "e.g. kimi"), "model": prop("string", "e.g. k2"), "reason": prop("string", "what failed"),
                                  "minutes": .object(["type": .string("integer"), "minimum": .number(1), "maximum": .number(10_080), "description": .string("how long (default 15)")])],
                                 required: ["provider", "model"]),
             run: { a, call in
                 let minutes = a["minutes"]?.numberValue.map { min(max($0, 1), 10_080) } ?? 15
                 let until = RFC3339.format(millis: Int64(wallMillis()) + Int64(minutes * 60_000))
                 var body: [String: JSONValue] = ["state": .string("open"), "resets_at": .string(until)]
                 for k in ["provider", "model", "reason"] { if let v = a[k], case .string = v { body[k] = v } }
                 return answer(call("POST", "/v1/breakers", .object(body)), "open_breaker")
             }),
        Tool(name: "benchmarks", title: "Benchmark observations",
             summary: "Aggregated benchmark observations per provider/model/metric (count, last, mean, recency-weighted mean), with the authors and hosts that reported them.",
             inputSchema: schema(["provider": prop("string", "only this provider"), "model": prop("string", "only this model"),
                                  "metric": prop("string", "only this metric, e.g. latency_ms"),
                                  "max_age_seconds": .object(["type": .string("integer"), "minimum": .number(1), "description": .string("only observations this recent (default one day)")])]),
             run: { a, call in
                 let path = "/v1/benchmarks" + query([("provider", string(a, "provider")), ("model", string(a, "model")), ("metric", string(a, "metric")),
                                                       ("max_age", integer(a, "max_age_seconds"))])
                 return answer(call("GET", path, nil), "benchmarks")
             }),
    ]
}

/// Milliseconds since the epoch.
func wallMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}
