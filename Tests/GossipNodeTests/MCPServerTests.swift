import CRDTLog
import Testing
@testable import GossipClient

/// The MCP server's rules, without IO: JSON-RPC in, JSON-RPC out.
@Suite("MCP server")
struct MCPServerTests {
    func reply(_ server: inout MCPServer, _ text: String) throws -> JSONValue {
        let out = server.handle(text)
        return try JSON.parse(Array(try #require(out).utf8))
    }

    @Test func initializeNegotiatesTheRevisionAndNotificationsGetNoReply() throws {
        var s = MCPServer(version: "test") { _, _, _ in nil }
        let r = try reply(&s, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        #expect(r["result"]?["protocolVersion"]?.stringValue == "2025-03-26")
        #expect(r["result"]?["capabilities"]?["tools"] != nil)
        let unknown = try reply(&s, #"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#)
        #expect(unknown["result"]?["protocolVersion"]?.stringValue == MCPServer.protocolVersions[0])
        #expect(s.handle(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == nil)
        #expect(s.initialized)
    }

    @Test func errorsAreJSONRPCErrors() throws {
        var s = MCPServer(version: "test") { _, _, _ in nil }
        #expect(try reply(&s, "not json")["error"]?["code"]?.numberValue == -32700)
        #expect(try reply(&s, #"{"jsonrpc":"2.0","id":3,"method":"nope"}"#)["error"]?["code"]?.numberValue == -32601)
        #expect(try reply(&s, #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope"}}"#)["error"]?["code"]?.numberValue == -32602)
        #expect(try reply(&s, #"{"jsonrpc":"2.0","id":5,"method":"ping"}"#)["result"] == .object([:]))
    }

    @Test func toolsMapOntoTheAPIAndANodeThatDoesNotAnswerIsAToolError() throws {
        let calls = Calls()
        var s = MCPServer(version: "test") { method, path, body in
            calls.record("\(method) \(path)")
            return (200, .object(["memories": .array([]), "echo": body ?? .null]))
        }
        let list = try reply(&s, #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(Set(list["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []) ==
                ["recall", "remember", "breaker_status", "open_breaker", "benchmarks"])
        let r = try reply(&s, #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"recall","arguments":{"query":"a b/c","limit":3}}}"#)
        #expect(r["result"]?["isError"] == .bool(false))
        #expect(r["result"]?["structuredContent"]?["memories"] == .array([]))
        #expect(calls.all.last == "GET /v1/memories?q=a%20b%2Fc&limit=3")
        _ = try reply(&s, #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"open_breaker","arguments":{"provider":"kimi","model":"k2"}}}"#)
        #expect(calls.all.last == "POST /v1/breakers")
        var down = MCPServer(version: "test") { _, _, _ in nil }
        let e = try reply(&down, #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"recall","arguments":{}}}"#)
        #expect(e["result"]?["isError"] == .bool(true))
        #expect(e["error"] == nil)
    }
}

/// Requests the fake node saw (the server calls it synchronously, from the test's thread).
final class Calls: @unchecked Sendable {
    var all: [String] = []
    func record(_ s: String) { all.append(s) }
}
