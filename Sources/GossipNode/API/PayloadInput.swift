import CRDTLog
import GossipCore
import Hummingbird
import Wire

/// Field limits of the API in characters (docs/openapi.yaml states each as `maxLength`).
enum APILimits {
    /// A memory's key: 64 characters are at most 256 bytes, the log's key limit.
    static let keyCharacters = 64
    /// A memory's content: 16,000 characters are at most 64,000 bytes, within the payload limit.
    static let contentCharacters = 16_000
}

/// A request's JSON body, and the one validation path from it to each typed payload: every
/// field's type, presence and length checked here, with the API's error for each.
struct RequestBody {
    let fields: [String: JSONValue]

    /// A string field: required and non-empty unless `required` is false, at most `maxLength`
    /// characters (Unicode scalars, as JSON Schema's `maxLength` counts them; docs/openapi.yaml
    /// states each limit). `null` reads as absent.
    func string(_ field: String, required: Bool = true, maxLength: Int = 4096) throws(APIError) -> String? {
        guard let v = fields[field], v != .null else {
            if required { throw APIError.missing(field) }
            return nil
        }
        guard case .string(let s) = v else { throw APIError.invalid(field, "must be a string") }
        if required && s.isEmpty { throw APIError.invalid(field, "must not be empty") }
        guard s.unicodeScalars.count <= maxLength else { throw APIError.invalid(field, "is longer than \(maxLength) characters") }
        return s
    }

    /// An RFC 3339 time field, normalised to milliseconds and `Z`.
    func time(_ field: String, example: String) throws(APIError) -> String? {
        guard let text = try string(field, required: false, maxLength: 64) else { return nil }
        guard let ms = RFC3339.parse(text) else { throw APIError.invalid(field, "must be an RFC 3339 time like \(example)") }
        return RFC3339.format(millis: ms)
    }
}

extension MemoryPayload {
    /// A memory from `POST /v1/memories`, and its key (generated when absent).
    static func from(_ body: RequestBody, host: String) throws(APIError) -> (payload: MemoryPayload, key: String) {
        let category = try body.string("category", maxLength: 128)!
        let content = try body.string("content", maxLength: APILimits.contentCharacters)!
        // 64 characters are at most 256 bytes of UTF-8: the log's key limit.
        var key = try body.string("key", required: false, maxLength: APILimits.keyCharacters) ?? ""
        if key.isEmpty { key = "m-" + Bytes32(Sodium.randomBytes(32))!.hex.prefix(20) }
        var tags: [String]?
        if let t = body.fields["tags"], t != .null {
            guard let a = t.arrayValue, a.count <= 64, a.allSatisfy({ $0.stringValue.map { !$0.isEmpty && $0.unicodeScalars.count <= 64 } ?? false }) else {
                throw APIError.invalid("tags", "must be a list of at most 64 non-empty strings of at most 64 characters")
            }
            tags = a.compactMap(\.stringValue)
        }
        let project = try body.string("project", required: false, maxLength: 256)
        var meta: JSONValue?
        if let m = body.fields["meta"], m != .null {
            guard case .object = m else { throw APIError.invalid("meta", "must be a JSON object") }
            meta = m
        }
        return (MemoryPayload(category: category, content: content, tags: tags, project: project, meta: meta, host: host), key)
    }
}

extension BreakerPayload {
    /// A breaker event from `POST /v1/breakers`.
    static func from(_ body: RequestBody, host: String) throws(APIError) -> BreakerPayload {
        let provider = try body.string("provider", maxLength: 128)!, model = try body.string("model", maxLength: 128)!
        guard !provider.contains("/") else { throw APIError.invalid("provider", "must not contain '/'") }
        let stateText = try body.string("state", maxLength: 16)!
        guard let state = BreakerState(rawValue: stateText) else { throw APIError.invalid("state", "must be open, half_open or closed") }
        let reason = try body.string("reason", required: false, maxLength: 1024)
        let resetsAt = try body.time("resets_at", example: "2026-01-01T14:00:00Z")
        if resetsAt == nil, state == .open {
            throw APIError(.badRequest, "missing_field", "the field \"resets_at\" is required when state is open")
        }
        return BreakerPayload(provider: provider, model: model, state: state, reason: reason, resetsAt: resetsAt, host: host)
    }
}

extension BenchmarkPayload {
    /// A benchmark observation from `POST /v1/benchmarks`.
    static func from(_ body: RequestBody, host: String) throws(APIError) -> BenchmarkPayload {
        let provider = try body.string("provider", maxLength: 128)!, model = try body.string("model", maxLength: 128)!
        let metric = try body.string("metric", maxLength: 128)!
        guard let v = body.fields["value"] else { throw APIError.missing("value") }
        guard let value = v.numberValue, value.isFinite else { throw APIError.invalid("value", "must be a finite number") }
        let recordedAt = try body.time("recorded_at", example: "2026-01-01T14:00:00Z")
        return BenchmarkPayload(provider: provider, model: model, metric: metric, value: value, recordedAt: recordedAt, host: host)
    }
}
