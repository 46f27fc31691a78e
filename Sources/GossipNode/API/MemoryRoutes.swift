import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

extension APIHandlers {
    func postMemory(_ r: Request) async throws -> Response {
        let o = try await body(r)
        let category = try string(o, "category", maxBytes: 128)!
        let content = try string(o, "content", maxBytes: LogLimits.maxPayloadBytes)!
        var key = try string(o, "key", required: false, maxBytes: LogLimits.maxKeyBytes) ?? ""
        if key.isEmpty { key = "m-" + Bytes32(Sodium.randomBytes(32))!.hex.prefix(20) }
        var payload: [String: JSONValue] = ["category": .string(category), "content": .string(content), "host": .string(host)]
        if let t = o["tags"], t != .null {
            guard let a = t.arrayValue, a.count <= 64, a.allSatisfy({ $0.stringValue.map { !$0.isEmpty && $0.utf8.count <= 128 } ?? false }) else {
                throw APIError.invalid("tags", "must be a list of at most 64 non-empty strings")
            }
            payload["tags"] = t
        }
        if let p = try string(o, "project", required: false, maxBytes: 256) { payload["project"] = .string(p) }
        if let m = o["meta"], m != .null {
            guard case .object = m else { throw APIError.invalid("meta", "must be a JSON object") }
            payload["meta"] = m
        }
        let e = try await write(kind: EntryKind.memory, key: key, payload: payload)
        return APIResponse.json(.object(["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq)), "key": .string(key)]), status: .created)
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
            let ms = try await store.memories(q)
            return APIResponse.json(.object(["memories": .array(ms.map(APIResponse.memory))]))
        } catch { throw APIError(.serviceUnavailable, "storage_unavailable", error.description) }
    }

    func getMemory(author: String, key: String) async throws -> Response {
        guard let a = try authorQuery(author, field: "author") else { throw APIError.missing("author") }
        guard let m = try? await store.memory(author: a, key: key) else { throw APIError.notFound("no memory \(key) from \(a.short)") }
        return APIResponse.json(APIResponse.memory(m))
    }

    func deleteMemory(key: String) async throws -> Response {
        guard (try? await store.memory(author: node.identity.publicKey, key: key)) != nil else {
            throw APIError.notFound("this node has no memory with key \(key)")
        }
        let e = try await write(kind: EntryKind.memoryRetraction, key: key, payload: ["host": .string(host)])
        return APIResponse.json(.object(["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq)), "key": .string(key), "retracted": .bool(true)]))
    }
}
