import ArgumentParser
import CRDTLog
import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GossipNode
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a stopped node's database offline: every signature, hash chain and derived view.",
        discussion: "Exit status 0 when clean, 3 with a report when it found invalid data, 1 when it could not check. Example: gossip-node verify --data ~/.gossip-node")
    @OptionGroup var data: DataOption
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() async throws {
        let dir = try data.directory()!
        guard FileManager.default.fileExists(atPath: dir.databasePath) else { throw UserError("no database at \(dir.databasePath); is --data right?") }
        let store: LogStore
        do { store = try LogStore(path: dir.databasePath, identity: nil) } catch { throw UserError("cannot open \(dir.databasePath): \(error)") }
        let start = Date()
        let progress = CommandProgress("checked")
        let report: IntegrityReport
        do {
            report = try await store.verify(progress: { n in progress.update(n) })
        } catch { throw UserError("verify could not read the database: \(error)") }
        progress.finish()
        await store.close()
        if json {
            print(JSON.serialize(.object([
                "clean": .bool(report.isClean), "entries": .number(Double(report.entriesChecked)),
                "authors": .number(Double(report.authorsChecked)), "fork_proofs": .number(Double(report.forkProofsChecked)),
                "seconds": .number(Date().timeIntervalSince(start)), "problems": .array(report.problems.map { .string($0) }),
            ])))
            if !report.isClean { throw ExitCode(3) }
            return
        }
        print("checked \(report.entriesChecked) entries of \(report.authorsChecked) authors, \(report.forkProofsChecked) fork proofs, and every view, in \(decimal(Date().timeIntervalSince(start), places: 1)) s")
        if report.isClean { print("clean"); return }
        print("\(report.problems.count) problem(s):")
        for p in report.problems.prefix(200) { print("  \(p)") }
        throw ExitCode(3)
    }
}

/// The bundle format of export/import: `gossip-node bundle 1\n`, then per entry a u32
/// length and the encoded entry, then per fork proof `0xffffffff`, two u32-prefixed headers.
enum Bundle {
    static let magic = Array("gossip-node bundle 1\n".utf8)
    static let proofMarker: UInt32 = 0xffff_ffff
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a bundle of signed entries to standard output (works whether the node runs or not).",
        discussion: "Example: gossip-node export --data ~/.gossip-node > laptop.bundle   (then `import` it elsewhere)")
    @OptionGroup var data: DataOption
    @Option(help: "Only this author's entries (repeatable; default: all).") var author: [String] = []

    func run() async throws {
        let dir = try data.directory()!
        if isatty(1) == 1 { throw UserError("the bundle is binary: redirect it to a file, e.g. gossip-node export --data \(dir.path) > node.bundle") }
        let wanted = try Set(author.map { s -> AuthorID in
            guard let a = Bytes32(hex: s) else { throw ValidationError("--author \(s): expected 64 hex characters") }
            return a
        })
        let store: LogStore
        do { store = try LogStore(path: dir.databasePath, identity: nil) } catch { throw UserError("cannot open \(dir.databasePath): \(error)") }
        func out(_ bytes: [UInt8]) throws {
            do { try writeAll(1, bytes) } catch { throw UserError("cannot write the bundle to standard output: \(error)") }
        }
        try out(Bundle.magic)
        var count = 0
        let authors = await store.versionVector().heads.keys.sorted().filter { wanted.isEmpty || wanted.contains($0) }
        for a in authors {
            var after: UInt64 = 0
            var first = true
            while true {
                // A compacted author's checkpoint first, so that an import applies it (docs/protocol.md, "Retention").
                let es = try await store.entries(author: a, afterSeq: after, limit: 1000, checkpointFirst: first)
                first = false
                if es.isEmpty { break }
                var w = ByteWriter(capacity: es.count * 600)
                for e in es { let b = e.encoded; w.u32(UInt32(b.count)); w.raw(b) }
                try out(w.bytes)
                count += es.count
                after = es.last!.seq
            }
        }
        var proofs = 0
        for p in try await store.forkProofs() where wanted.isEmpty || wanted.contains(p.author) {
            var w = ByteWriter()
            w.u32(Bundle.proofMarker)
            w.u32(UInt32(p.first.signedHeader.count)); w.raw(p.first.signedHeader)
            w.u32(UInt32(p.second.signedHeader.count)); w.raw(p.second.signedHeader)
            try out(w.bytes)
            proofs += 1
        }
        await store.close()
        printError("exported \(count) entries of \(authors.count) author(s) and \(proofs) fork proof(s)")
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Verify and store the entries of a bundle (made by export) into a stopped node's database.",
        discussion: "Prints how many were stored and rejected; exit status 3 if any was rejected (invalid data), 1 if the import could not run.\nExample: gossip-node import --data ~/.gossip-node laptop.bundle")
    @OptionGroup var data: DataOption
    @Flag(help: "Print the outcome as one JSON object.") var json = false
    @Argument(help: "The bundle file.") var file: String

    func run() async throws {
        let dir = try data.directory()!
        guard FileManager.default.fileExists(atPath: dir.databasePath) else { throw UserError("no database at \(dir.databasePath); run `gossip-node init --data \(dir.path)` first") }
        if dir.isRunning { throw UserError("the node on \(dir.path) is running; stop it first, import, then start it again") }
        guard let bytes = FileManager.default.contents(atPath: file).map(Array.init) else { throw UserError("cannot read \(file)") }
        guard bytes.count >= Bundle.magic.count, Array(bytes[0..<Bundle.magic.count]) == Bundle.magic else {
            throw UserError("\(file) is not a gossip-node bundle (made by `gossip-node export`)")
        }
        let settings = try Settings(flags: [:], dataDirectory: dir.path)
        let storeConfig = StoreConfiguration(trusted: try settings.authors("trust"), blocked: try settings.authors("block"))
        let store: LogStore
        do { store = try LogStore(path: dir.databasePath, identity: nil, configuration: storeConfig) } catch { throw UserError("cannot open \(dir.databasePath): \(error)") }
        var r = ByteReader(bytes, range: Bundle.magic.count..<bytes.count)
        var batch: [[UInt8]] = []
        var stored = 0, duplicates = 0, rejected = 0, held = 0, proofsStored = 0
        var reasons: [String: Int] = [:]
        let now = wallClockMillis()
        let progress = CommandProgress("read")
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let report: IngestReport
            do { report = try await store.ingest(encoded: batch, now: now) } catch { throw UserError("storing failed: \(error)") }
            stored += report.stored.count; duplicates += report.duplicates; held += report.held
            rejected += report.rejected.count
            for x in report.rejected { reasons[x.label, default: 0] += 1 }
            batch = []
            progress.update(stored + duplicates + rejected)
        }
        do {
            while !r.isAtEnd {
                let n = try r.u32()
                if n == Bundle.proofMarker {
                    let a = try r.raw(Int(try r.u32())), b = try r.raw(Int(try r.u32()))
                    if let p = try? ForkProof(first: a, second: b) {
                        // A valid proof that shows nothing new (its fork point is not lower) is like a duplicate.
                        if (try? await store.ingest(proof: p, now: now)) == true { proofsStored += 1 } else { duplicates += 1 }
                    } else { rejected += 1; reasons["bad_fork_proof", default: 0] += 1 }
                    continue
                }
                guard Int(n) <= Entry.maxEncodedBytes else { throw UserError("\(file) is corrupt: an entry of \(n) bytes") }
                batch.append(try r.raw(Int(n)))
                if batch.count >= 1000 { try await flush() }
            }
            try await flush()
        } catch let e as WireDecodingError {
            try await flush()
            rejected += 1
            reasons["truncated_bundle", default: 0] += 1
            printError("\(file) ends early: \(e)")
        }
        // Entries still held lack a predecessor that was not in the bundle.
        rejected += held
        if held > 0 { reasons["missing_predecessor", default: 0] += held }
        // The batches left the full-text index in many segments, which the first writes of the
        // node would merge as they go (FTS5 automerge: after importing 100,000 memories, 14
        // segments, and API writes at p99 5.5-7.5 ms for their first thousand, 2.8-3.5 after).
        // Merged once here (0.2 s for 100,000), as a running node does once it is quiet.
        if stored > 0 { try? await store.optimizeSearchIndex() }
        await store.close()
        progress.finish()
        if json {
            print(JSON.serialize(.object([
                "stored": .number(Double(stored)), "duplicates": .number(Double(duplicates)), "rejected": .number(Double(rejected)),
                "fork_proofs_stored": .number(Double(proofsStored)),
                "rejected_by_reason": .object(reasons.mapValues { .number(Double($0)) }),
            ])))
            if rejected > 0 { throw ExitCode(3) }
            return
        }
        print("stored \(stored), already had \(duplicates), rejected \(rejected), fork proofs \(proofsStored)")
        if rejected > 0 {
            print("rejected by reason: " + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            throw ExitCode(3)
        }
    }
}
