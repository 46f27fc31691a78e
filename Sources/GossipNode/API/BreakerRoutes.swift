import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// Circuit breakers and benchmark observations.
extension APIHandlers {
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
}
