import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// The route handlers: parse and check the input, ask the node, shape the answer.
struct APIHandlers: Sendable {
    let node: Node
    let bodyLimit: Int
    /// See ``APIConfiguration/eventKeepAliveMillis``.
    var eventKeepAliveMillis: UInt64 = 15_000
    var store: LogStore { node.store }

    // MARK: Input

    func body(_ request: Request) async throws -> RequestBody {
        let r = request
        let buffer = try await r.body.collect(upTo: bodyLimit)
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw APIError.badRequest("the request needs a JSON object body") }
        let value: JSONValue
        do { value = try JSON.parse(bytes) } catch { throw APIError(.badRequest, "malformed_json", error.description) }
        guard case .object(let o) = value else { throw APIError.badRequest("the body must be a JSON object") }
        return RequestBody(fields: o)
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

    /// Signs and stores one entry of this node's log with `payload` (a typed payload's JSON), or,
    /// during the start-up check, accepts it into the durable outbox: never refused for start-up.
    func write(kind: String, key: String, payload: JSONValue) async throws -> Node.WriteOutcome {
        let bytes = JSON.serializedBytes(payload)
        guard bytes.count <= LogLimits.maxPayloadBytes else {
            throw APIError(.contentTooLarge, "payload_too_large", "the entry is \(bytes.count) bytes, the limit is \(LogLimits.maxPayloadBytes)")
        }
        do {
            return try await node.accept(kind: kind, key: key, payload: bytes)
        } catch {
            switch error {
            case .store(let e):
                switch e {
                case .invalidEntry(let why): throw APIError.badRequest(why.description)
                case .ownAuthorQuarantined: throw APIError(.serviceUnavailable, "identity_forked", e.description)
                default:
                    throw APIError(.serviceUnavailable, "storage_unavailable", "\(e.description); nothing was written, try again when the disk has room")
                }
            }
        }
    }

    /// The answer to a write: 201 with the entry, or 202 while it waits in the outbox.
    func written(_ outcome: Node.WriteOutcome, key: String? = nil, extra: [String: JSONValue] = [:],
                 signedStatus: HTTPResponse.Status = .created) -> Response {
        switch outcome {
        case .signed(let e):
            var o: [String: JSONValue] = ["id": .string(e.id.hex), "author": .string(e.author.hex), "seq": .number(Double(e.seq)), "pending": .bool(false)]
            if let key { o["key"] = .string(key) }
            return APIResponse.json(.object(o.merging(extra) { a, _ in a }), status: signedStatus)
        case .pending(let w):
            var o: [String: JSONValue] = ["author": .string(node.identity.publicKey.hex), "pending": .bool(true), "outbox_id": .number(Double(w.id))]
            if let key { o["key"] = .string(key) }
            return APIResponse.json(.object(o.merging(extra) { a, _ in a }), status: .accepted)
        }
    }
}
