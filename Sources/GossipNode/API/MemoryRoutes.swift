import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

extension APIHandlers {
    func postMemory(_ r: Request) async throws -> Response {
        let (payload, key) = try MemoryPayload.from(try await body(r), host: host)
        return written(try await write(kind: EntryKind.memory, key: key, payload: payload.json), key: key)
    }

    func getMemories(_ r: Request) async throws -> Response {
        var q = MemoryQuery()
        q.text = query(r, "q")
        q.category = query(r, "category")
        q.tag = query(r, "tag")
        q.project = query(r, "project")
        q.author = try authorQuery(query(r, "author"), field: "author")
        q.trustedOnly = try trustedOnly(r)
        if let s = query(r, "since") {
            guard let ms = RFC3339.parse(s) else { throw APIError.invalid("since", "must be an RFC 3339 time like 2026-01-01T00:00:00Z") }
            q.sinceMillis = ms
        }
        q.limit = try intQuery(r, "limit", default: 20, range: 1...1000)
        do {
            let (ms, writes) = try await store.recall(q)
            let pending = pendingMemories(matching: q, in: writes)
            let all = pending.map(\.json) + ms.map(APIResponse.memory)
            return APIResponse.json(.object(["memories": .array(Array(all.prefix(q.limit)))]))
        } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
    }

    /// This node's memories still in the outbox (written during the start-up check) that match
    /// the query's filters, newest first; they read as `pending` with no id or seq yet.
    func pendingMemories(matching q: MemoryQuery) async throws -> [(key: String, json: JSONValue)] {
        pendingMemories(matching: q, in: try await store.pendingWrites())
    }

    /// ``pendingMemories(matching:)`` among `writes` (the outbox, read with the query).
    func pendingMemories(matching q: MemoryQuery, in writes: [PendingWrite]) -> [(key: String, json: JSONValue)] {
        let me = node.identity.publicKey
        guard q.author == nil || q.author == me else { return [] }
        let words = q.text.map { LogStore.words($0) } ?? []
        var out: [(key: String, json: JSONValue)] = []
        for w in writes.reversed() where w.kind == EntryKind.memory {
            guard let m = MemoryPayload(json: w.payload) else { continue }
            if let c = q.category, m.category != c { continue }
            if let t = q.tag, !(m.tags ?? []).contains(t) { continue }
            if let p = q.project, m.project != p { continue }
            if let since = q.sinceMillis, w.acceptedAtMillis < since { continue }
            if !words.isEmpty {
                let text = LogStore.words(m.content + " " + m.category + " " + (m.tags ?? []).joined(separator: " "))
                guard words.contains(where: text.contains) else { continue }
            }
            out.append((w.key, .object([
                "key": .string(w.key), "category": .string(m.category), "content": .string(m.content),
                "tags": .array((m.tags ?? []).map { .string($0) }), "project": APIResponse.opt(m.project), "meta": m.meta ?? .null,
                "author": .string(me.hex), "host": .string(m.host ?? host), "recorded_at": APIResponse.time(w.acceptedAtMillis),
                "id": .null, "seq": .null, "trusted": .bool(true), "pending": .bool(true),
            ])))
        }
        return out
    }

    func getMemory(author: String, key: String) async throws -> Response {
        guard let a = try authorQuery(author, field: "author") else { throw APIError.missing("author") }
        if a == node.identity.publicKey, let p = try await pendingMemories(matching: MemoryQuery(limit: 1000)).first(where: { $0.key == key }) {
            return APIResponse.json(p.json)
        }
        guard let m = try? await store.memory(author: a, key: key) else { throw APIError.notFound("no memory \(key) from \(a.short)") }
        return APIResponse.json(APIResponse.memory(m))
    }

    func deleteMemory(key: String) async throws -> Response {
        guard (try? await store.memory(author: node.identity.publicKey, key: key)) != nil else {
            throw APIError.notFound("this node has no memory with key \(key)")
        }
        let outcome = try await write(kind: EntryKind.memoryRetraction, key: key, payload: RetractionPayload(host: host).json)
        return written(outcome, key: key, extra: ["retracted": .bool(true)], signedStatus: .ok)
    }
}
