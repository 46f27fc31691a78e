#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON payload of a `memory` entry. Unknown fields are kept in the entry and ignored here.
public struct MemoryPayload: Codable, Sendable, Hashable {
    public var category: String
    public var content: String
    public var tags: [String]?
    public var project: String?
    public var meta: JSONValue?
    public var host: String?

    public init(category: String, content: String, tags: [String]? = nil, project: String? = nil, meta: JSONValue? = nil, host: String? = nil) {
        self.category = category; self.content = content; self.tags = tags; self.project = project; self.meta = meta; self.host = host
    }
}

/// The state of a circuit breaker.
public enum BreakerState: String, Codable, Sendable, CaseIterable {
    case open, halfOpen = "half_open", closed
}

/// The JSON payload of a `breaker` entry (key `provider/model`).
public struct BreakerPayload: Codable, Sendable, Hashable {
    public var provider: String
    public var model: String
    public var state: BreakerState
    public var reason: String?
    /// RFC 3339; required when `state` is open.
    public var resetsAt: String?
    public var host: String?

    enum CodingKeys: String, CodingKey { case provider, model, state, reason, resetsAt = "resets_at", host }

    public init(provider: String, model: String, state: BreakerState, reason: String? = nil, resetsAt: String? = nil, host: String? = nil) {
        self.provider = provider; self.model = model; self.state = state; self.reason = reason; self.resetsAt = resetsAt; self.host = host
    }
}

/// The JSON payload of a `benchmark` entry.
public struct BenchmarkPayload: Codable, Sendable, Hashable {
    public var provider: String
    public var model: String
    public var metric: String
    public var value: Double
    /// RFC 3339; when absent the entry's own timestamp is used.
    public var recordedAt: String?
    public var host: String?

    enum CodingKeys: String, CodingKey { case provider, model, metric, value, recordedAt = "recorded_at", host }

    public init(provider: String, model: String, metric: String, value: Double, recordedAt: String? = nil, host: String? = nil) {
        self.provider = provider; self.model = model; self.metric = metric; self.value = value; self.recordedAt = recordedAt; self.host = host
    }
}

extension MemoryPayload {
    /// Reads a memory payload with the fast parser; nil unless category and content are strings.
    public init?(json bytes: [UInt8]) {
        guard let v = try? JSON.parse(bytes), let category = v["category"]?.stringValue, let content = v["content"]?.stringValue else { return nil }
        var tags: [String]? = nil
        if let t = v["tags"] {
            guard let a = t.arrayValue else { return nil }
            tags = a.compactMap(\.stringValue)
            guard tags!.count == a.count else { return nil }
        }
        let meta = v["meta"].flatMap { m -> JSONValue? in if case .null = m { nil } else { m } }
        self.init(category: category, content: content, tags: tags, project: v["project"]?.stringValue, meta: meta, host: v["host"]?.stringValue)
    }
}

extension BreakerPayload {
    public init?(json bytes: [UInt8]) {
        guard let v = try? JSON.parse(bytes), let provider = v["provider"]?.stringValue, let model = v["model"]?.stringValue,
              let state = v["state"]?.stringValue.flatMap(BreakerState.init(rawValue:)) else { return nil }
        self.init(provider: provider, model: model, state: state, reason: v["reason"]?.stringValue,
                  resetsAt: v["resets_at"]?.stringValue, host: v["host"]?.stringValue)
    }
}

extension BenchmarkPayload {
    public init?(json bytes: [UInt8]) {
        guard let v = try? JSON.parse(bytes), let provider = v["provider"]?.stringValue, let model = v["model"]?.stringValue,
              let metric = v["metric"]?.stringValue, let value = v["value"]?.numberValue else { return nil }
        self.init(provider: provider, model: model, metric: metric, value: value, recordedAt: v["recorded_at"]?.stringValue,
                  host: v["host"]?.stringValue)
    }
}

/// A retraction's payload: only the host that wrote it.
public struct RetractionPayload: Codable, Sendable, Hashable {
    public var host: String?
    public init(host: String? = nil) { self.host = host }
}

/// Canonical JSON for payloads written by this node: sorted keys, no escaped slashes.
public enum PayloadCoding {
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; an empty object is the safe fallback.
        return (try? Array(e.encode(value))) ?? Array("{}".utf8)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Serialises a free-form JSON value deterministically (sorted keys).
    public static func string(_ value: JSONValue) -> String { JSON.serialize(value) }
}

// MARK: - Payloads as JSON

extension MemoryPayload {
    /// The payload as a JSON object (absent fields left out), as written to the log.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["category": .string(category), "content": .string(content)]
        if let tags { o["tags"] = .array(tags.map { .string($0) }) }
        if let project { o["project"] = .string(project) }
        if let meta { o["meta"] = meta }
        if let host { o["host"] = .string(host) }
        return .object(o)
    }
}

extension BreakerPayload {
    /// The payload as a JSON object (absent fields left out), as written to the log.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["provider": .string(provider), "model": .string(model), "state": .string(state.rawValue)]
        if let reason { o["reason"] = .string(reason) }
        if let resetsAt { o["resets_at"] = .string(resetsAt) }
        if let host { o["host"] = .string(host) }
        return .object(o)
    }
}

extension BenchmarkPayload {
    /// The payload as a JSON object (absent fields left out), as written to the log.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["provider": .string(provider), "model": .string(model), "metric": .string(metric), "value": .number(value)]
        if let recordedAt { o["recorded_at"] = .string(recordedAt) }
        if let host { o["host"] = .string(host) }
        return .object(o)
    }
}

extension RetractionPayload {
    /// The payload as a JSON object, as written to the log.
    public var json: JSONValue { .object(host.map { ["host": .string($0)] } ?? [:]) }
}
