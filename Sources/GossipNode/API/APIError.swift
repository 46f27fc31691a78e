import CRDTLog
import GossipCore
import Hummingbird
import NIOCore
import Wire

/// An API error: an HTTP status and `{"error": {"code": "<snake_case>", "message": "..."}}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra headers (`Allow` on a 405); every 503 also carries `Retry-After`.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status; self.code = code; self.message = message; self.headers = headers
    }

    /// Seconds a client should wait before retrying a 503 (storage unavailable, too many streams).
    public static let retryAfterSeconds = 2

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    public static func missing(_ field: String) -> APIError { APIError(.badRequest, "missing_field", "the field \"\(field)\" is required") }
    public static func invalid(_ field: String, _ why: String) -> APIError { APIError(.badRequest, "invalid_field", "\"\(field)\" \(why)") }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = APIResponse.json(.object(["error": .object(["code": .string(code), "message": .string(message)])]), status: status)
        for field in headers { r.headers.append(field) }
        if status == .serviceUnavailable, r.headers[.retryAfter] == nil { r.headers[.retryAfter] = String(Self.retryAfterSeconds) }
        return r
    }
}

/// Turns every error a route or the router throws into the JSON error shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as HTTPError {
            switch e.status {
            case .notFound: throw APIError(.notFound, "not_found", "no route \(request.method) \(request.uri.path); see docs/openapi.yaml")
            case .contentTooLarge: throw APIError(.contentTooLarge, "body_too_large", "the request body exceeds the limit")
            case .methodNotAllowed: throw APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)")
            default: throw APIError(e.status, "http_error", e.body ?? "\(e.status)")
            }
        } catch let e as NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "body_too_large", "the request body exceeds \(e.maxBytes.map(String.init) ?? "the limit") bytes")
        } catch {
            throw APIError(.internalServerError, "internal_error", "\(error)")
        }
    }
}

/// Requires `Authorization: Bearer <token>` (when the API is bound beyond loopback).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization] ?? ""
        guard Sodium.constantTimeEqual(Array(given.utf8), Array("Bearer \(token)".utf8)) else {
            throw APIError(.unauthorized, "unauthorized", "send Authorization: Bearer <token> (the token is in the file named by api-token-file)")
        }
        return try await next(request, context)
    }
}
