import ArgumentParser
import CRDTLog
import GossipClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GossipNode

/// `gossip-node compact`: what a running node does in the background, at once, on a stopped node.
struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Delete what checkpoints declared dead and hand the space back, on a stopped node.",
        discussion: """
            A running node does this by itself in small steps. Run it on a stopped node to get the space back at once, \
            or once on a database made before retention existed (it is rewritten to enable incremental vacuum; that \
            needs free disk about the database's size). Example: gossip-node compact --data ~/.gossip-node
            """)
    @OptionGroup var data: DataOption
    @Flag(help: "Print the result as one JSON object.") var json = false

    func run() async throws {
        let dir = try data.directory()!
        guard FileManager.default.fileExists(atPath: dir.databasePath) else { throw UserError("no database at \(dir.databasePath); is --data right?") }
        if dir.isRunning { throw UserError("the node on \(dir.path) is running and compacts by itself; stop it first to compact at once") }
        let start = Date()
        let store: LogStore
        do { store = try LogStore(path: dir.databasePath, identity: nil) } catch { throw UserError("cannot open \(dir.databasePath): \(error)") }
        let before: RetentionStatus, after: RetentionStatus
        let deleted: Int
        do {
            before = try await store.retentionStatus()
            deleted = try await store.compactAll()
            try await store.vacuum()
            after = try await store.retentionStatus()
        } catch {
            await store.close()
            throw UserError("compaction failed, nothing lost (each step is its own transaction): \(error)")
        }
        await store.close()
        let fileBefore = before.databaseBytes, fileAfter = after.databaseBytes
        if json {
            print(JSON.serialize(.object([
                "deleted_entries": .number(Double(deleted)), "deleted_bytes": .number(Double(after.compactedBytes)),
                "stored_entries": .number(Double(after.storedEntries)), "stored_bytes": .number(Double(after.storedBytes)),
                "database_bytes_before": .number(Double(fileBefore)), "database_bytes_after": .number(Double(fileAfter)),
                "seconds": .number(Date().timeIntervalSince(start)),
            ])))
            return
        }
        print("deleted \(deleted) dead entries (\(after.compactedBytes) bytes); \(after.storedEntries) entries of \(after.storedBytes) bytes remain")
        print("database \(fileBefore) -> \(fileAfter) bytes, in \(decimal(Date().timeIntervalSince(start), places: 1)) s")
    }
}
