import ArgumentParser
import CRDTLog
import GossipClient
import GossipNode
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gossip-node mcp`: a Model Context Protocol server over stdio for coding agents (Claude Code,
/// Cursor, ...), backed by the local node's API.
struct MCP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the Model Context Protocol over stdio: recall, remember, breaker_status, open_breaker, benchmarks.",
        discussion: """
            One JSON-RPC 2.0 message per line on stdin, replies on stdout (protocol 2025-06-18).
            It talks to the running node's API; when the node does not answer, tools say so.
            An agent's MCP config: {"mcpServers": {"gossip-node": {"command": "gossip-node", "args": ["mcp"]}}}
            """)
    @OptionGroup var client: ClientOptions

    func run() throws {
        let api = try client.client()
        var server = MCPServer(version: GossipNodeVersion.current) { method, path, body in
            let bytes = body.map { JSON.serializedBytes($0) } ?? []
            guard let reply = try? api.request(method, path, body: bytes) else { return nil }
            return (reply.status, reply.json)
        }
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty, let reply = server.handle(line) else { continue }
            // Unbuffered: the client waits for each reply.
            let bytes = Array((reply + "\n").utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                sent += n
            }
        }
    }
}
