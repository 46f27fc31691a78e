import CRDTLog
import GossipCore
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
        metric("sync_sessions_total", "Sync sessions, by outcome.", "counter", [
            ("{outcome=\"dialled\"}", Double(m.syncsStarted)), ("{outcome=\"completed\"}", Double(m.syncsCompleted)),
            ("{outcome=\"failed\"}", Double(m.syncsFailed)), ("{outcome=\"exchanged\"}", Double(m.syncSessions)),
        ])
        metric("ingest_seconds", "Time spent ingesting batches from peers.", "summary", [("_sum", m.ingestSeconds), ("_count", Double(m.ingestBatches))])
        metric("udp_rebinds_total", "Times the gossip UDP socket was closed by a send error and bound again.", "counter", [("", Double(m.udpRebinds))])
        #if os(Linux)
        metric("resident_memory_bytes", "Resident set size of the process.", "gauge", [("", Double(MemoryRelease.residentKiB() * 1024))])
        #endif
        metric("memory_releases_total", "Times unused memory (page cache, freed heap, start-up code pages) was handed back.", "counter", [("", Double(m.memoryReleases))])
        return out
    }
}
