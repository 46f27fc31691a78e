import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// `/v1/events`: Server-Sent Events, one per entry newly stored here.
extension APIHandlers {
    func events(_ r: Request) async throws -> Response {
        let known: [String: String] = ["memory": EntryKind.memory, "breaker": EntryKind.breaker, "benchmark": EntryKind.benchmark]
        var kinds: Set<String>? = nil
        if let k = query(r, "kinds") {
            var set = Set<String>()
            for name in k.split(separator: ",").map({ String($0).trimming(" ") }) where !name.isEmpty {
                guard let kind = known[name] else { throw APIError.invalid("kinds", "takes memory, breaker, benchmark (comma-separated)") }
                set.insert(kind)
                if kind == EntryKind.memory { set.insert(EntryKind.memoryRetraction) }
            }
            kinds = set
        }
        guard let (stream, subscription) = await node.subscribe() else {
            await node.countAPIRefusal("subscriber_limit")
            throw APIError(.serviceUnavailable, "too_many_subscribers",
                           "\(GossipNodeDefaults.maxSubscribers) event streams are open already; close one and retry")
        }
        let node = self.node
        let store = self.store
        let filter = kinds
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ": gossip-node events\n\n"))
            // An endless stream: it must end when the server shuts down, or shutdown would wait forever.
            try await withGracefulShutdownHandler {
                for await e in stream {
                    if let filter, !filter.contains(e.kind) { continue }
                    let json = JSON.serialize(APIResponse.entry(e, trusted: store.isTrusted(e.author)))
                    try await writer.write(ByteBuffer(string: "event: \(e.kind)\nid: \(e.id.hex)\ndata: \(json)\n\n"))
                }
            } onGracefulShutdown: {
                Task { await node.unsubscribe(subscription) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
