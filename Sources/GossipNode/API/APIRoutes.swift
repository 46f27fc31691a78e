import CRDTLog
import GossipClient
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
    /// Time between keep-alive comments on a quiet event stream.
    public var eventKeepAliveMillis: UInt64 = 15_000
    public init() {}
}

/// One route of the local HTTP API: its method, its path as docs/openapi.yaml writes it (with
/// `{param}` placeholders), and its handler. The router and the OpenAPI test both read this table.
public struct APIRoute: Sendable {
    public let method: String
    public let path: String
    let handle: @Sendable (APIHandlers, Request, [String]) async throws -> Response

    /// The path as the router matches it: each `{param}` becomes a positional `:p0`, `:p1`, ...
    /// (so `GET /v1/memories/{author}/{key}` and `DELETE /v1/memories/{key}` can share a prefix).
    var routerPath: String {
        var n = 0
        return path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            defer { n += 1 }
            return ":p\(n)"
        }.joined(separator: "/")
    }

    var parameterCount: Int { parameterNames.count }

    /// A client's read or write of the log (memories, breakers, benchmarks): while one is in
    /// progress, a peer's batch lets it in between two of its transactions (``ClientDemand``).
    var isClientUse: Bool {
        path.hasPrefix("/v1/memories") || path.hasPrefix("/v1/breakers") || path.hasPrefix("/v1/benchmarks")
    }

    /// A read of the views that goes to the store's read connection during a catch-up (``LogStore/recall(_:)``,
    /// ``LogStore/readBreakers(provider:model:trustedOnly:nowMillis:)``,
    /// ``LogStore/readBenchmarks(provider:model:metric:maxAgeSeconds:trustedOnly:nowMillis:)``):
    /// it never waits for a peer's batch, so none needs to end early for it.
    var readsOwnConnection: Bool {
        method == "GET" && ["/v1/memories", "/v1/breakers", "/v1/benchmarks"].contains(path)
    }

    /// The names of the path's `{param}`s, in order.
    var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }
}

/// The routes of the local HTTP API (docs/openapi.yaml describes each; a test keeps the two in step).
public enum APIRoutes {
    /// Every route, in one table (handlers in MemoryRoutes, BreakerRoutes, EventRoutes, StatusRoutes).
    static let table: [APIRoute] = [
        APIRoute(method: "POST", path: "/v1/memories") { api, r, _ in try await api.postMemory(r) },
        APIRoute(method: "GET", path: "/v1/memories") { api, r, _ in try await api.getMemories(r) },
        APIRoute(method: "GET", path: "/v1/memories/{author}/{key}") { api, _, p in try await api.getMemory(author: p[0], key: p[1]) },
        APIRoute(method: "DELETE", path: "/v1/memories/{key}") { api, _, p in try await api.deleteMemory(key: p[0]) },
        APIRoute(method: "POST", path: "/v1/breakers") { api, r, _ in try await api.postBreaker(r) },
        APIRoute(method: "GET", path: "/v1/breakers") { api, r, _ in try await api.getBreakers(r) },
        APIRoute(method: "POST", path: "/v1/benchmarks") { api, r, _ in try await api.postBenchmark(r) },
        APIRoute(method: "GET", path: "/v1/benchmarks") { api, r, _ in try await api.getBenchmarks(r) },
        APIRoute(method: "GET", path: "/v1/events") { api, r, _ in try await api.events(r) },
        APIRoute(method: "GET", path: "/v1/status") { api, _, _ in await api.status() },
        APIRoute(method: "GET", path: "/v1/peers") { api, _, _ in await api.peers() },
        APIRoute(method: "GET", path: "/v1/log") { api, r, _ in try await api.log(r) },
        APIRoute(method: "GET", path: "/metrics") { api, _, _ in await api.metrics() },
        APIRoute(method: "GET", path: "/healthz") { api, _, _ in await api.health() },
        APIRoute(method: "GET", path: "/readyz") { api, _, _ in await api.ready() },
    ]

    /// Every route as (method, path) with `{param}` placeholders.
    public static var all: [(method: String, path: String)] { table.map { ($0.method, $0.path) } }

    /// The router with every route, the JSON error shape, the local-caller checks, and the
    /// bearer token when configured.
    public static func router(node: Node, configuration: APIConfiguration) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: MethodCheckMiddleware(routes: table))
        router.add(middleware: LocalCallerMiddleware(node: node, bind: configuration.bind))
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        let api = APIHandlers(node: node, bodyLimit: configuration.bodyLimitBytes, eventKeepAliveMillis: configuration.eventKeepAliveMillis)
        for route in table {
            let count = route.parameterCount
            let name = "\(route.method) \(route.path)"
            guard let method = HTTPRequest.Method(route.method) else { continue }
            let clientUse = route.isClientUse
            let readsOwnConnection = route.readsOwnConnection
            router.on(RouterPath(route.routerPath), method: method) { request, context in
                let started = ContinuousClock.now
                // A read on the read connection (during a catch-up) waits for no batch.
                let marks = clientUse && !(readsOwnConnection && node.store.readsUseOwnConnection)
                if marks { node.store.clientDemand.begin() }
                defer { if marks { node.store.clientDemand.end() } }
                func seconds() -> Double {
                    let d = ContinuousClock.now - started
                    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                }
                do {
                    // Path parameters arrive percent-encoded (a key may hold `/`, a space, `%`, any UTF-8).
                    let parameters = try (0..<count).map { i in
                        let raw = context.parameters.get("p\(i)") ?? ""
                        guard let decoded = percentDecode(raw) else {
                            throw APIError.invalid(route.parameterNames[i], "is not valid percent-encoded UTF-8")
                        }
                        return decoded
                    }
                    let response = try await route.handle(api, request, parameters)
                    node.apiMetrics.record(route: name, status: response.status.code, seconds: seconds())
                    return response
                } catch {
                    node.apiMetrics.record(route: name, status: (error as? any HTTPResponseError)?.status.code ?? 500, seconds: seconds())
                    throw error
                }
            }
        }
        return router
    }
}

/// A method a known path does not declare is 405 with `Allow` listing the ones it does (not
/// 404, and before the other checks: it says nothing about the request but its method).
struct MethodCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let patterns: [(segments: [Substring], methods: Set<String>)]

    init(routes: [APIRoute]) {
        var byPath: [String: Set<String>] = [:]
        for r in routes { byPath[r.path, default: []].insert(r.method) }
        patterns = byPath.map { (segments: $0.key.split(separator: "/"), methods: $0.value) }
    }

    /// The methods of every route whose path matches `path` (a `{param}` matches any segment).
    func allowed(for path: String) -> Set<String> {
        let parts = path.split(separator: "/")
        var out = Set<String>()
        for p in patterns where p.segments.count == parts.count {
            if zip(p.segments, parts).allSatisfy({ pattern, part in pattern.hasPrefix("{") || pattern == part }) { out.formUnion(p.methods) }
        }
        return out
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let method = request.method.rawValue
        let allowed = allowed(for: request.uri.path)
        if !allowed.isEmpty, !allowed.contains(method), !(method == "HEAD" && allowed.contains("GET")) {
            let list = allowed.sorted().joined(separator: ", ")
            throw APIError(.methodNotAllowed, "method_not_allowed", "\(method) is not allowed on \(request.uri.path); allowed: \(list)",
                           headers: [.allow: list])
        }
        return try await next(request, context)
    }
}
