import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// How the HTTP API is served.
public struct APIConfiguration: Sendable {
    public var bind = HostPort(host: "127.0.0.1", port: GossipNodeDefaults.apiPort)
    /// Required when `bind` is not loopback.
    public var token: String?
    /// Largest request body.
    public var bodyLimitBytes = 1 << 20
    public init() {}
}

/// The routes of the local HTTP API (docs/openapi.yaml describes each; a test keeps the two in step).
public enum APIRoutes {
    /// Every route as (method, path) with `{param}` placeholders.
    public static let all: [(method: String, path: String)] = [
        ("POST", "/v1/memories"), ("GET", "/v1/memories"), ("GET", "/v1/memories/{author}/{key}"),
        ("DELETE", "/v1/memories/{key}"), ("POST", "/v1/breakers"), ("GET", "/v1/breakers"),
        ("POST", "/v1/benchmarks"), ("GET", "/v1/benchmarks"), ("GET", "/v1/events"), ("GET", "/v1/status"),
        ("GET", "/v1/peers"), ("GET", "/v1/log"), ("GET", "/metrics"), ("GET", "/healthz"),
    ]

    /// The router with every route, the JSON error shape, and the bearer token when configured.
    public static func router(node: Node, configuration: APIConfiguration) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: LocalCallerMiddleware(node: node, bind: configuration.bind))
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        let api = APIHandlers(node: node, bodyLimit: configuration.bodyLimitBytes)
        router.post("/v1/memories") { r, _ in try await api.postMemory(r) }
        router.get("/v1/memories") { r, _ in try await api.getMemories(r) }
        // The router needs one name for the first segment: it is the author in GET, the key in DELETE.
        router.get("/v1/memories/:segment/:key") { _, c in try await api.getMemory(author: c.parameters.get("segment") ?? "", key: c.parameters.get("key") ?? "") }
        router.delete("/v1/memories/:segment") { _, c in try await api.deleteMemory(key: c.parameters.get("segment") ?? "") }
        router.post("/v1/breakers") { r, _ in try await api.postBreaker(r) }
        router.get("/v1/breakers") { r, _ in try await api.getBreakers(r) }
        router.post("/v1/benchmarks") { r, _ in try await api.postBenchmark(r) }
        router.get("/v1/benchmarks") { r, _ in try await api.getBenchmarks(r) }
        router.get("/v1/events") { r, _ in try await api.events(r) }
        router.get("/v1/status") { _, _ in await api.status() }
        router.get("/v1/peers") { _, _ in await api.peers() }
        router.get("/v1/log") { r, _ in try await api.log(r) }
        router.get("/metrics") { _, _ in await api.metrics() }
        router.get("/healthz") { _, _ in await api.health() }
        return router
    }
}

/// The route handlers: parse and check the input, ask the node, shape the answer.
struct APIHandlers: Sendable {
    let node: Node
    let bodyLimit: Int
    var store: LogStore { node.store }

    // MARK: Input

    func body(_ request: Request) async throws -> [String: JSONValue] {
        var r = request
        let buffer = try await r.body.collect(upTo: bodyLimit)
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw APIError.badRequest("the request needs a JSON object body") }
        let value: JSONValue
        do { value = try JSON.parse(bytes) } catch { throw APIError(.badRequest, "malformed_json", error.description) }
        guard case .object(let o) = value else { throw APIError.badRequest("the body must be a JSON object") }
        return o
    }

    func string(_ o: [String: JSONValue], _ field: String, required: Bool = true, maxBytes: Int = 4096) throws -> String? {
        guard let v = o[field], v != .null else {
            if required { throw APIError.missing(field) }
            return nil
        }
        guard case .string(let s) = v else { throw APIError.invalid(field, "must be a string") }
        if required && s.isEmpty { throw APIError.invalid(field, "must not be empty") }
        guard s.utf8.count <= maxBytes else { throw APIError.invalid(field, "is longer than \(maxBytes) bytes") }
        return s
    }

    func query(_ r: Request, _ name: String) -> String? { r.uri.queryParameters.get(name) }

    func trustedOnly(_ r: Request) throws -> Bool {
        guard let t = query(r, "trusted") else { return false }
        guard t == "only" else { throw APIError.invalid("trusted", "must be \"only\" when given") }
        return true
    }

    func intQuery(_ r: Request, _ name: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let s = query(r, name) else { return d }
        guard let v = Int(s), range.contains(v) else { throw APIError.invalid(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    func authorQuery(_ s: String?, field: String) throws -> AuthorID? {
        guard let s else { return nil }
        guard let a = Bytes32(hex: s) else { throw APIError.invalid(field, "must be 64 hex characters (an author id)") }
        return a
    }

    var nowMillis: Int64 { Int64(wallClockMillis()) }
    var host: String { node.configuration.hostName }

    func write(kind: String, key: String, payload: [String: JSONValue]) async throws -> Entry {
        let bytes = Array(JSON.serialize(.object(payload)).utf8)
        guard bytes.count <= LogLimits.maxPayloadBytes else {
            throw APIError(.contentTooLarge, "payload_too_large", "the entry is \(bytes.count) bytes, the limit is \(LogLimits.maxPayloadBytes)")
        }
        do {
            return try await node.write(kind: kind, key: key, payload: bytes)
        } catch {
            switch error {
            case .store(let e):
                switch e {
                case .writesFenced(let why): throw APIError(.serviceUnavailable, "writes_paused", why)
                case .invalidEntry(let why): throw APIError.badRequest(why.description)
                default:
                    throw APIError(.serviceUnavailable, "storage_unavailable", "\(e.description); nothing was written, try again when the disk has room")
                }
            }
        }
    }

    // MARK: Memories

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

    // MARK: Breakers and benchmarks

    func postBreaker(_ r: Request) async throws -> Response {
        let o = try await body(r)
        let provider = try string(o, "provider", maxBytes: 128)!, model = try string(o, "model", maxBytes: 128)!
        guard !provider.contains("/") else { throw APIError.invalid("provider", "must not contain '/'") }
        let stateText = try string(o, "state", maxBytes: 16)!
        guard let state = BreakerState(rawValue: stateText) else { throw APIError.invalid("state", "must be open, half_open or closed") }
        var payload: [String: JSONValue] = ["provider": .string(provider), "model": .string(model), "state": .string(state.rawValue), "host": .string(host)]
        if let reason = try string(o, "reason", required: false, maxBytes: 1024) { payload["reason"] = .string(reason) }
        if let resets = try string(o, "resets_at", required: false, maxBytes: 64) {
            guard let ms = RFC3339.parse(resets) else { throw APIError.invalid("resets_at", "must be an RFC 3339 time like 2026-01-01T14:00:00Z") }
            payload["resets_at"] = .string(RFC3339.format(millis: ms))
        } else if state == .open {
            throw APIError(.badRequest, "missing_field", "the field \"resets_at\" is required when state is open")
        }
        let e = try await write(kind: EntryKind.breaker, key: "\(provider)/\(model)", payload: payload)
        return APIResponse.json(.object(["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq))]), status: .created)
    }

    func getBreakers(_ r: Request) async throws -> Response {
        do {
            let bs = try await store.breakers(provider: query(r, "provider"), model: query(r, "model"), trustedOnly: try trustedOnly(r), nowMillis: nowMillis)
            return APIResponse.json(.object(["breakers": .array(bs.map(APIResponse.breaker))]))
        } catch let e as APIError { throw e } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
    }

    func postBenchmark(_ r: Request) async throws -> Response {
        let o = try await body(r)
        let provider = try string(o, "provider", maxBytes: 128)!, model = try string(o, "model", maxBytes: 128)!
        let metric = try string(o, "metric", maxBytes: 128)!
        guard let v = o["value"] else { throw APIError.missing("value") }
        guard let value = v.numberValue, value.isFinite else { throw APIError.invalid("value", "must be a finite number") }
        var payload: [String: JSONValue] = ["provider": .string(provider), "model": .string(model), "metric": .string(metric), "value": .number(value), "host": .string(host)]
        if let at = try string(o, "recorded_at", required: false, maxBytes: 64) {
            guard let ms = RFC3339.parse(at) else { throw APIError.invalid("recorded_at", "must be an RFC 3339 time") }
            payload["recorded_at"] = .string(RFC3339.format(millis: ms))
        }
        let e = try await write(kind: EntryKind.benchmark, key: "", payload: payload)
        return APIResponse.json(.object(["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq))]), status: .created)
    }

    func getBenchmarks(_ r: Request) async throws -> Response {
        let maxAge = try intQuery(r, "max_age", default: 86_400, range: 1...(10 * 365 * 86_400))
        do {
            let bs = try await store.benchmarks(provider: query(r, "provider"), model: query(r, "model"), metric: query(r, "metric"),
                                                maxAgeSeconds: Int64(maxAge), trustedOnly: try trustedOnly(r), nowMillis: nowMillis)
            return APIResponse.json(.object(["benchmarks": .array(bs.map(APIResponse.benchmark))]))
        } catch let e as APIError { throw e } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
    }

    // MARK: Events, status

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

    func status() async -> Response {
        let (entries, authors, quarantined) = await store.counts()
        let c = await node.memberCounts()
        return APIResponse.json(.object([
            "author": .string(node.identity.publicKey.hex), "entries": .number(Double(entries)), "authors": .number(Double(authors)),
            "digest": .string(await store.digest().hex),
            "peers": .object(["alive": .number(Double(c.alive)), "suspect": .number(Double(c.suspect)), "dead": .number(Double(c.dead))]),
            "quarantined": .number(Double(quarantined)), "held": .number(Double(await store.heldEntries().count)),
            "address": .string(await node.advertisedAddress), "host": .string(host), "version": .string(GossipNodeVersion.current),
        ]))
    }

    func peers() async -> Response {
        let ms = await node.members()
        return APIResponse.json(.object(["peers": .array(ms.map { m in
            .object([
                "author": .string(m.id.hex), "address": .string(m.address), "state": .string("\(m.state)"),
                "last_seen": m.lastSeen > 0 ? APIResponse.time(Int64(m.lastSeen)) : .null, "incarnation": .number(Double(m.incarnation)),
            ])
        })]))
    }

    func log(_ r: Request) async throws -> Response {
        let limit = try intQuery(r, "limit", default: 100, range: 1...1000)
        let after = UInt64(try intQuery(r, "after_seq", default: 0, range: 0...Int.max))
        var authors: [AuthorID]
        if let a = try authorQuery(query(r, "author"), field: "author") { authors = [a] } else {
            authors = await store.versionVector().heads.keys.sorted()
        }
        var out: [JSONValue] = []
        for a in authors where out.count < limit {
            guard let es = try? await store.entries(author: a, afterSeq: after, limit: limit - out.count) else {
                throw APIError(.serviceUnavailable, "storage_unavailable", "cannot read the log")
            }
            out += es.map { APIResponse.entry($0, trusted: store.isTrusted($0.author)) }
        }
        return APIResponse.json(.object(["entries": .array(out)]))
    }

    func metrics() async -> Response {
        let text = await PrometheusText.render(node: node)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func health() async -> Response {
        let ok = await node.isBound
        return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: ok ? "ok\n" : "starting\n")))
    }
}
