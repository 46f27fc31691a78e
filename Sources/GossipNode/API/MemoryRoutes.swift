import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

extension APIHandlers {
    func postMemory(_ r: Request) async throws -> Response {
        let (payload, key) = try MemoryPayload.from(try await body(r), host: host)
        let e = try await write(kind: EntryKind.memory, key: key, payload: payload.json)
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
        let e = try await write(kind: EntryKind.memoryRetraction, key: key, payload: RetractionPayload(host: host).json)
        return APIResponse.json(.object(["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq)), "key": .string(key), "retracted": .bool(true)]))
    }
}
