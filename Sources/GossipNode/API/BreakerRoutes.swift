import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// Circuit breakers and benchmark observations.
extension APIHandlers {
    func postBreaker(_ r: Request) async throws -> Response {
        let payload = try BreakerPayload.from(try await body(r), host: host)
        return written(try await write(kind: EntryKind.breaker, key: "\(payload.provider)/\(payload.model)", payload: payload.json))
    }

    func getBreakers(_ r: Request) async throws -> Response {
        do {
            let bs = try await store.readBreakers(provider: query(r, "provider"), model: query(r, "model"), trustedOnly: try trustedOnly(r), nowMillis: nowMillis)
            return APIResponse.json(.object(["breakers": .array(bs.map(APIResponse.breaker))]))
        } catch let e as APIError { throw e } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
    }

    func postBenchmark(_ r: Request) async throws -> Response {
        let payload = try BenchmarkPayload.from(try await body(r), host: host)
        return written(try await write(kind: EntryKind.benchmark, key: "", payload: payload.json))
    }

    func getBenchmarks(_ r: Request) async throws -> Response {
        // Observations older than the retention window are dropped at their author's next
        // checkpoint, so no longer window is answered.
        let window = max(1, Int(clamping: node.configuration.retention.benchmarkWindowMillis / 1000))
        let maxAge = try intQuery(r, "max_age", default: min(86_400, window), range: 1...window)
        do {
            let bs = try await store.readBenchmarks(provider: query(r, "provider"), model: query(r, "model"), metric: query(r, "metric"),
                                                maxAgeSeconds: Int64(maxAge), trustedOnly: try trustedOnly(r), nowMillis: nowMillis)
            return APIResponse.json(.object(["benchmarks": .array(bs.map(APIResponse.benchmark))]))
        } catch let e as APIError { throw e } catch { throw APIError(.serviceUnavailable, "storage_unavailable", "\(error)") }
    }
}
