import CRDTLog
import GossipCore
import Wire
/// `/metrics` in the Prometheus text exposition format.
enum PrometheusText {
    static func render(node: Node) async -> String {
        let m = await node.metrics
        let membershipRejected = await node.membershipRejected()
        let (entries, authors, quarantined) = await node.store.counts()
        let c = await node.memberCounts()
        let held = await node.store.heldEntries().count
        var out = ""
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) {
            out += "# HELP gossip_node_\(name) \(help)\n# TYPE gossip_node_\(name) \(type)\n"
            for (labels, v) in samples { out += "gossip_node_\(name)\(labels) \(v == v.rounded() ? String(Int64(v)) : String(v))\n" }
        }
        func labelled(_ dict: [String: Int], _ key: String) -> [(String, Double)] {
            dict.sorted { $0.key < $1.key }.map { ("{\(key)=\"\($0.key)\"}", Double($0.value)) }
        }
        metric("entries", "Entries stored and served.", "gauge", [("", Double(entries))])
        metric("authors", "Authors with entries.", "gauge", [("", Double(authors))])
        metric("quarantined_authors", "Authors quarantined for forking.", "gauge", [("", Double(quarantined))])
        metric("held_entries", "Entries waiting for a predecessor.", "gauge", [("", Double(held))])
        metric("peers", "Members by state.", "gauge", [("{state=\"alive\"}", Double(c.alive)), ("{state=\"suspect\"}", Double(c.suspect)), ("{state=\"dead\"}", Double(c.dead))])
        metric("packets_total", "Datagrams received and sent.", "counter", [("{direction=\"in\"}", Double(m.packetsIn)), ("{direction=\"out\"}", Double(m.packetsOut))])
        metric("bytes_total", "Bytes on the wire.", "counter", [
            ("{transport=\"udp\",direction=\"in\"}", Double(m.bytesIn)), ("{transport=\"udp\",direction=\"out\"}", Double(m.bytesOut)),
            ("{transport=\"tcp\",direction=\"in\"}", Double(m.tcpBytesIn)), ("{transport=\"tcp\",direction=\"out\"}", Double(m.tcpBytesOut)),
        ])
        metric("packets_dropped_total", "Datagrams dropped, by reason.", "counter", labelled(m.packetsDropped, "reason"))
        metric("sessions_rejected_total", "TCP sessions closed for a protocol error, by reason.", "counter", labelled(m.sessionsRejected, "reason"))
        metric("entries_rejected_total", "Entries refused, by reason.", "counter", labelled(m.entriesRejected, "reason"))
        metric("membership_rejected_total", "Membership records and probes refused (bad signature, unverifiable claim, unknown sender, limits), by reason.", "counter", labelled(membershipRejected, "reason"))
        metric("connections_refused_total", "TCP connections closed before their handshake by a limit, by reason.", "counter", labelled(m.connectionsRefused, "reason"))
        metric("promises_broken_total", "Sync sessions whose peer announced heads it did not deliver.", "counter", [("", Double(m.promisesBroken))])
        metric("discovered_addresses", "Addresses discovery found at its last look.", "gauge", [("", Double(m.discoveredAddresses))])
        metric("api_refused_total", "API requests refused by the local-caller checks, by reason.", "counter", labelled(m.apiRefused, "reason"))
        metric("entries_received_total", "Entries received from peers.", "counter", [("", Double(m.entriesReceived))])
        metric("entries_pushed_total", "Entries pushed eagerly.", "counter", [("", Double(m.entriesPushed))])
        metric("push_duplicates_total", "Pushed entries dropped on arrival: copies of entries this node took in lately.", "counter",
               [("", Double(m.duplicatePushes))])
        metric("push_bytes_total", "Bytes of the datagrams sent that carried pushed entries (as sealed, without IP/UDP headers).", "counter",
               [("", Double(m.pushBytesOut))])
        metric("sync_sessions_total", "Sync sessions that ended, by outcome (each session counts once).", "counter", [
            ("{outcome=\"completed\"}", Double(m.syncsCompleted)), ("{outcome=\"failed\"}", Double(m.syncsFailed)),
        ])
        metric("sync_dials_total", "Sync sessions this node opened (also counted in sync_sessions_total when they end).", "counter",
               [("", Double(m.syncsStarted))])
        metric("sync_exchanges_total", "Sync sessions run with a peer, dialled or accepted (counted when they start).", "counter", [("", Double(m.syncSessions))])
        metric("ingest_seconds", "Time spent ingesting batches from peers.", "summary", [("_sum", m.ingestSeconds), ("_count", Double(m.ingestBatches))])
        metric("ingest_yields_total", "Transactions of a peer's batch ended early because a client's API request waited for the store.", "counter",
               [("", Double(m.ingestYields))])
        metric("udp_rebinds_total", "Times the gossip UDP socket was closed by a send error and bound again.", "counter", [("", Double(m.udpRebinds))])
        metric("memory_releases_total", "Times unused memory (page cache, freed heap, start-up code pages) was handed back.", "counter", [("", Double(m.memoryReleases))])
        metric("search_index_merges_total", "Merges of the full-text search index, by reason: quiet (no change for 30 s) or grown (to twice its merged size).", "counter",
               ["quiet", "grown"].map { ("{reason=\"\($0)\"}", Double(m.searchIndexMerges[$0] ?? 0)) })
        if let r = try? await node.store.retentionStatus() {
            metric("stored_entries", "Entries in the database: live, and dead ones awaiting compaction.", "gauge",
                   [("{state=\"live\"}", Double(r.storedEntries - min(r.storedEntries, r.deadEntries))), ("{state=\"dead\"}", Double(r.deadEntries))])
            metric("stored_entry_bytes", "Encoded bytes (headers and payloads) of the entries in the database, by state.", "gauge",
                   [("{state=\"live\"}", Double(r.storedBytes - min(r.storedBytes, r.deadBytes))), ("{state=\"dead\"}", Double(r.deadBytes))])
            metric("compacted_entries_total", "Dead entries deleted by compaction since start.", "counter", [("", Double(r.compactedEntries))])
            metric("compacted_bytes_total", "Bytes of the dead entries deleted since start.", "counter", [("", Double(r.compactedBytes))])
            metric("checkpoints_total", "Checkpoints applied since start: written by this node, or received.", "counter",
                   [("{origin=\"own\"}", Double(r.checkpointsWritten)), ("{origin=\"any\"}", Double(r.checkpointsApplied))])
            metric("checkpoints_pending", "Checkpoints received ahead of their author's head, waiting for the entries they keep.", "gauge",
                   [("", Double(r.pendingCheckpoints))])
            metric("dead_entries_dropped_total", "Entries received that an applied or pending checkpoint had declared dead (not stored).", "counter",
                   [("", Double(r.droppedDead))])
            metric("database_bytes", "Size of the database file, by use (free pages are handed back by incremental vacuum).", "gauge",
                   [("{use=\"total\"}", Double(r.databaseBytes)), ("{use=\"free\"}", Double(r.freeBytes))])
        }
        metric("tasks_on_event_loops", "1 when the node's tasks run on the event loops that read their input (the default), 0 when on the runtime's thread pool (GOSSIP_NODE_EXECUTOR=threads).",
               "gauge", [("", EventLoopExecutor.isInstalled ? 1 : 0)])
        metric("build_info", "The running build (always 1).", "gauge",
               [("{version=\"\(GossipNodeVersion.current)\",protocol=\"\(WireLimits.protocolVersions.upperBound)\"}", 1)])
        out += node.apiMetrics.render(prefix: "gossip_node_")
        // Standard process metrics, without the gossip_node_ prefix (as Prometheus client libraries name them).
        out += "# HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.\n# TYPE process_start_time_seconds gauge\n"
        out += "process_start_time_seconds \(Double(ProcessStart.millis) / 1000)\n"
        #if os(Linux)
        out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n"
        out += "process_resident_memory_bytes \(MemoryRelease.residentKiB() * 1024)\n"
        #endif
        return out
    }
}
