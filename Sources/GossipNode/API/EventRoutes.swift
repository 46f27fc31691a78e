import CRDTLog
import GossipCore
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Wire

/// `/v1/events`: Server-Sent Events, one per entry newly stored here, resumable.
///
/// Each event's `id` is the entry's place in this node's log (its storage order). A client that
/// reconnects with `Last-Event-ID` (browsers' EventSource do so by themselves; or `?after=`) gets
/// every entry stored since, from the log, then the live ones: nothing is lost while it was away
/// or slow, because the stream reads the log by cursor instead of buffering entries. A comment
/// line every `events-keep-alive` (15 s) keeps proxies and idle timeouts from closing a quiet stream.
extension APIHandlers {
    /// Entries read from the log per step.
    static let eventBatch = 256

    enum StreamSignal: Sendable { case stored, keepAlive }

    func events(_ r: Request) async throws -> Response {
        let known: [String: String] = ["memory": EntryKind.memory, "breaker": EntryKind.breaker, "benchmark": EntryKind.benchmark]
        var kinds: Set<String>? = nil
        if let k = query(r, "kinds") {
            var set = Set<String>()
            for name in k.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard let kind = known[name] else { throw APIError.invalid("kinds", "takes memory, breaker, benchmark (comma-separated)") }
                set.insert(kind)
                if kind == EntryKind.memory { set.insert(EntryKind.memoryRetraction) }
            }
            guard !set.isEmpty else { throw APIError.invalid("kinds", "names no kind: give memory, breaker, benchmark (comma-separated) or leave it out") }
            kinds = set
        }
        let start: Int64
        func cursor(_ text: String?, _ name: String) throws(APIError) -> Int64? {
            guard let text else { return nil }
            guard let c = Int64(text), c >= 0 else { throw APIError.invalid(name, "must be an event id this node sent (a whole number)") }
            return c
        }
        let fromHeader = try cursor(HTTPField.Name("Last-Event-ID").flatMap { r.headers[$0] }, "Last-Event-ID")
        let fromQuery = try cursor(query(r, "after"), "after")
        if let c = fromHeader ?? fromQuery {
            start = c
        } else {
            do { start = try await store.lastRow() } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
        }
        guard let (changes, subscription) = await node.subscribe() else {
            await node.countAPIRefusal("subscriber_limit")
            throw APIError(.serviceUnavailable, "too_many_subscribers",
                           "\(GossipNodeDefaults.maxSubscribers) event streams are open already; close one and retry")
        }
        let node = self.node
        let store = self.store
        let filter = kinds
        let keepAlive = eventKeepAliveMillis
        let body = ResponseBody { writer in
            var cursor = start
            // Reconnect after a second; the cursor comes back as Last-Event-ID.
            try await writer.write(ByteBuffer(string: ": gossip-node events\nretry: 1000\n\n"))
            let (signals, signal) = AsyncStream<StreamSignal>.makeStream(bufferingPolicy: .bufferingNewest(2))
            let forward = Task {
                for await _ in changes { signal.yield(.stored) }
                signal.finish()
            }
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Int64(keepAlive)))
                    signal.yield(.keepAlive)
                }
            }
            defer { forward.cancel(); ticker.cancel() }
            // An endless stream: it must end when the server shuts down, or shutdown would wait forever.
            try await withGracefulShutdownHandler {
                signal.yield(.stored)  // what was stored since the cursor, at once
                for await s in signals {
                    if s == .keepAlive { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")); continue }
                    while true {
                        let (batch, next) = try await store.storedEntries(afterRow: cursor, limit: Self.eventBatch)
                        var text = ""
                        for (row, e) in batch where filter?.contains(e.kind) ?? true {
                            let json = JSON.serialize(APIResponse.entry(e, trusted: store.isTrusted(e.author)))
                            text += "event: \(e.kind)\nid: \(row)\ndata: \(json)\n\n"
                        }
                        if next == cursor { break }
                        cursor = next
                        // A stretch of filtered-out entries still moves a reconnecting client on.
                        if text.isEmpty { text = "id: \(next)\n\n" }
                        try await writer.write(ByteBuffer(string: text))
                    }
                }
            } onGracefulShutdown: {
                Task { await node.unsubscribe(subscription) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
