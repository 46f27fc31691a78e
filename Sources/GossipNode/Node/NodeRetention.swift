import CRDTLog
import Logging

extension Node {
    /// Retention, off the write path: once a second, a checkpoint of this node's own log when one
    /// is due (``RetentionRules/checkpointEvery``), then compaction in steps of
    /// ``GossipNodeDefaults/compactionStepRows`` rows, each its own short transaction, so that
    /// writes, reads and replication run between them. The search index is merged once quiet for
    /// ``GossipNodeDefaults/searchIndexQuietMillis``, and on a node that is never quiet when
    /// rewrites have grown it past twice its merged size (``LogStore/searchIndexNeedsMerge()``).
    func runRetention() async {
        // The index a node starts with was merged by the run that wrote it (or by `compact`): it
        // is merged again only after this run stores something.
        searchIndexOptimizedFor = digest
        while !Task.isCancelled {
            await retentionPass()
            try? await Task.sleep(for: .milliseconds(Int(configuration.retentionIntervalMillis)))
        }
    }

    /// One pass: a checkpoint if due, then compaction until nothing dead is left.
    func retentionPass() async {
        do {
            if let cp = try await store.checkpointIfDue(rules: configuration.retention, now: now()) {
                metrics.checkpointsWritten += 1
                log.debug("checkpoint written", metadata: ["seq": "\(cp.seq)", "payload_bytes": "\(cp.payload.count)"])
                await afterStore([cp], forks: false, from: nil, pushOn: true)
            }
            var deleted = 0
            while !Task.isCancelled {
                let step = try await store.compactStep(maxRows: GossipNodeDefaults.compactionStepRows)
                deleted += step.deleted
                if step.done { break }
                await Task.yield()
            }
            if deleted > 0 { log.debug("compacted", metadata: ["entries_deleted": "\(deleted)"]) }
            // The search index is merged once quiet for a while since the last change, and on a
            // busy node when its delete markers have doubled it (LogStore.searchIndexNeedsMerge).
            let t = now()
            var reason: String?
            if searchIndexOptimizedFor != digest, t >= lastStoreChangeAt, t - lastStoreChangeAt >= GossipNodeDefaults.searchIndexQuietMillis {
                reason = "quiet"
            } else if searchIndexCheckedFor != digest {
                searchIndexCheckedFor = digest
                if try await store.searchIndexNeedsMerge() { reason = "grown" }
            }
            if let reason {
                let merged = digest
                try await store.optimizeSearchIndex()
                searchIndexOptimizedFor = merged
                metrics.searchIndexMerges[reason, default: 0] += 1
                // The merge read the whole index through SQLite's page cache: hand that back soon.
                memoryReleaseAt = min(memoryReleaseAt ?? .max, now() + GossipNodeDefaults.memoryReleaseDelayMillis)
                scheduleTick()
            }
        } catch {
            if logThrottle.note("retention", now: now()) != nil {
                log.warning("retention pass failed; it runs again in a second", metadata: ["error": "\(error)"])
            }
        }
    }
}
