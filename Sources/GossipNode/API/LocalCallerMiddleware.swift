import GossipCore
import Hummingbird

/// Keeps web pages out of the local API. A page in the user's browser can send requests to
/// 127.0.0.1 (a form POST needs no CORS preflight), and DNS rebinding lets a page read the
/// answers under its own host name. So, on every request:
///
/// - `Host` must name this machine's loopback (`localhost`, 127.0.0.0/8, `::1`, with any port)
///   unless the API is bound beyond loopback (then the bearer token protects it): a rebound
///   name is refused (403 `host_not_allowed`);
/// - an `Origin` header, which browsers send and scripts and sf do not, must be the API's own
///   origin (403 `origin_not_allowed`);
/// - a request with a body must say `Content-Type: application/json` (415
///   `unsupported_media_type`): the content types a page may POST without asking are not JSON.
///
/// Each refusal is counted (`gossip_node_api_refused_total{reason}`).
struct LocalCallerMiddleware<Context: RequestContext>: RouterMiddleware {
    let node: Node
    let bind: HostPort

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let reason = LocalCallerPolicy.refusal(method: request.method.rawValue, host: request.head.authority,
                                     origin: request.headers[.origin], contentType: request.headers[.contentType], bind: bind) {
            await node.countAPIRefusal(reason.code)
            throw reason
        }
        return try await next(request, context)
    }
}

/// The checks of ``LocalCallerMiddleware``, as a pure function.
enum LocalCallerPolicy {
    /// Why a request is refused, or nil.
    static func refusal(method: String, host: String?, origin: String?, contentType: String?, bind: HostPort) -> APIError? {
        if bind.isLoopback {
            guard let host, let hp = HostPort(host, defaultPort: 80), hp.isLoopback else {
                return APIError(.forbidden, "host_not_allowed",
                                "the Host header must be localhost or a loopback address (requests from web pages are refused)")
            }
        }
        if let origin {
            let own = ["http://\(bind)", "http://localhost:\(bind.port)", "http://127.0.0.1:\(bind.port)", "http://[::1]:\(bind.port)"]
            guard own.contains(origin.lowercased()) else {
                return APIError(.forbidden, "origin_not_allowed", "requests from web pages (Origin \(origin)) are refused")
            }
        }
        if method == "POST" || method == "PUT" || method == "PATCH" {
            let type = contentType?.split(separator: ";").first.map { String($0).trimming(" \t").lowercased() }
            guard type == "application/json" else {
                return APIError(.unsupportedMediaType, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
            }
        }
        return nil
    }
}
