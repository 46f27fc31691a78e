import CRDTLog
import GossipCore
import Hummingbird
import Wire

/// Builders for the API's JSON answers.
enum APIResponse {
    static func json(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = JSON.serializedBytes(v)
        bytes.append(UInt8(ascii: "\n"))
        let buffer = ByteBuffer(bytes: bytes)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func time(_ ms: Int64) -> JSONValue { .string(RFC3339.format(millis: ms)) }
    static func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    static func memory(_ m: Memory) -> JSONValue {
        .object([
            "key": .string(m.key), "category": .string(m.category), "content": .string(m.content),
            "tags": .array(m.tags.map { .string($0) }), "project": opt(m.project),
            "meta": m.metaJSON.flatMap { try? JSON.parse(Array($0.utf8)) } ?? .null,
            "author": .string(m.author.hex), "host": .string(m.host), "recorded_at": time(m.recordedAtMillis),
            "id": .string(m.id.hex), "seq": .number(Double(m.seq)), "trusted": .bool(m.trusted), "pending": .bool(false),
        ])
    }

    static func breaker(_ b: BreakerStatus) -> JSONValue {
        .object([
            "provider": .string(b.provider), "model": .string(b.model), "state": .string(b.state.rawValue),
            "reason": opt(b.reason), "resets_at": b.resetsAtMillis.map(time) ?? .null,
            "recorded_at": time(b.recordedAtMillis), "host": .string(b.host), "author": .string(b.author.hex),
            "id": .string(b.id.hex), "trusted": .bool(b.trusted),
        ])
    }

    static func benchmark(_ b: BenchmarkSummary) -> JSONValue {
        .object([
            "provider": .string(b.provider), "model": .string(b.model), "metric": .string(b.metric),
            "count": .number(Double(b.count)), "last": .number(b.last), "mean": .number(b.mean),
            "weighted_mean": .number(b.weightedMean), "hosts": .array(b.hosts.map { .string($0) }),
            "newest_recorded_at": time(b.newestRecordedAtMillis),
            "authors": .array(b.authors.map { .string($0.hex) }), "newest_id": .string(b.newestID.hex),
            "newest_author": .string(b.newestAuthor.hex), "trusted": .bool(b.trusted),
        ])
    }

    /// An entry with every field, for `/v1/log` and the event stream.
    static func entry(_ e: Entry, trusted: Bool) -> JSONValue {
        var payload: JSONValue = (try? JSON.parse(e.payload)) ?? .string(String(decoding: e.payload, as: UTF8.self))
        if e.kind == EntryKind.checkpoint, let cp = (try? Checkpoint(seq: e.seq, payload: e.payload)) ?? nil {
            // Binary on the wire (docs/protocol.md, "Retention"); shown decoded.
            payload = .object(["keep_from": .number(Double(cp.keepFrom)), "listed": .array(cp.listed.map { .number(Double($0)) }),
                               "listed_hash": .string(cp.listedHash.hex)])
        }
        return .object([
            "id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq)),
            "prev": .string(e.prev.hex), "hlc": .string(String(e.hlc.rawValue)), "recorded_at": time(Int64(e.hlc.millis)),
            "kind": .string(e.kind), "key": .string(e.key), "payload_hash": .string(e.payloadHash.hex),
            "signature": .string(Hex.encode(e.signature)), "payload": payload,
            "host": payload["host"] ?? .null, "trusted": .bool(trusted),
            "size": .number(Double(e.signedHeader.count + e.payload.count)),
        ])
    }
}
