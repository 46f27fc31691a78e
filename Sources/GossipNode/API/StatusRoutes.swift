import CRDTLog
import GossipCore
import Hummingbird
import ServiceLifecycle
import Wire

/// Status, peers, the raw log, metrics and health.
extension APIHandlers {
    func status() async -> Response {
        let readiness = await node.readiness()
        let (entries, authors, quarantined) = await store.counts()
        let c = await node.memberCounts()
        var identity: [String: JSONValue] = ["author": .string(node.identity.publicKey.hex), "successor_of": .null]
        if let s = store.ownSuccession {
            // This node moved to a successor identity after its previous one forked: say so, and what to do.
            identity["successor_of"] = .string(s.predecessor.hex)
            identity["announced_at"] = APIResponse.time(Int64(s.announcedAt.millis))
            identity["fork_point"] = (await store.forkPointsByAuthor()[s.predecessor]).map { .number(Double($0)) } ?? .null
            identity["advice"] = .string("the previous identity forked (its log was written from two places: a restored backup or a copied data directory); this node writes under a new key announced by both; entries before the fork stay; trust lists that name the previous identity follow it while the previous identity stays forked; add the new key to them")
        }
        var retention: JSONValue = .null
        if let r = try? await store.retentionStatus() {
            retention = .object([
                "stored_entries": .number(Double(r.storedEntries)), "stored_bytes": .number(Double(r.storedBytes)),
                "live_entries": .number(Double(r.storedEntries - min(r.storedEntries, r.deadEntries))),
                "live_bytes": .number(Double(r.storedBytes - min(r.storedBytes, r.deadBytes))),
                "dead_entries": .number(Double(r.deadEntries)), "dead_bytes": .number(Double(r.deadBytes)),
                "compacted_entries": .number(Double(r.compactedEntries)), "compacted_bytes": .number(Double(r.compactedBytes)),
                "authors_checkpointed": .number(Double(r.authorsCheckpointed)), "checkpoints_pending": .number(Double(r.pendingCheckpoints)),
                "database_bytes": .number(Double(r.databaseBytes)), "database_free_bytes": .number(Double(r.freeBytes)),
            ])
        }
        return APIResponse.json(.object([
            "retention": retention,
            "identity": .object(identity),
            "author": .string(node.identity.publicKey.hex), "entries": .number(Double(entries)), "authors": .number(Double(authors)),
            "digest": .string(await store.digest().hex),
            "peers": .object(["alive": .number(Double(c.alive)), "suspect": .number(Double(c.suspect)), "dead": .number(Double(c.dead))]),
            "quarantined": .number(Double(quarantined)), "held": .number(Double(await store.heldEntries().count)),
            "address": .string(await node.advertisedAddress), "host": .string(host), "version": .string(GossipNodeVersion.current),
            "ready": .bool(readiness.ready), "not_ready": .array(readiness.reasons.map { .string($0) }),
            "writes": .string(readiness.signingPaused ? "pending" : "signed"),
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

    /// Liveness: the process answers (a supervisor restarts it when this fails).
    func health() async -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }

    /// Readiness: sockets bound, database answering, own log writable; 503 with the reasons otherwise.
    func ready() async -> Response {
        let r = await node.readiness()
        let text = r.ready ? "ready\n" : "not ready: " + r.reasons.joined(separator: "; ") + "\n"
        return Response(status: r.ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
