import Dispatch
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decoding, payload hashing and signature checks of entries: the costly step of every ingest
/// (replication, import, `verify`), in one place. Batches spread over all cores; catch-ups use
/// the low-priority pool of ``BackgroundVerifier`` so the serial commit gets the CPU first.
public enum EntryVerifier {
    /// One encoded entry (`signed header || payload`).
    @Sendable public static func check(one bytes: [UInt8]) -> Result<Entry, EntryRejection> {
        do throws(EntryRejection) {
            return check(entry: try Entry(encoded: bytes))
        } catch { return .failure(error) }
    }

    /// One entry kept as the store keeps it, header and payload apart.
    @Sendable public static func check(header: [UInt8], payload: [UInt8]) -> Result<Entry, EntryRejection> {
        do throws(EntryRejection) {
            return check(entry: try Entry(signedHeader: header, payload: payload))
        } catch { return .failure(error) }
    }

    /// An entry already decoded: its signature.
    /// A successor announcement also needs its predecessor's signature (``Succession``).
    @Sendable public static func check(entry e: Entry) -> Result<Entry, EntryRejection> {
        guard e.verifySignature() else { return .failure(.badSignature) }
        return checkKind(e)
    }

    /// The checks of an authentic entry's kind: a successor's predecessor signature, a checkpoint's payload.
    @Sendable static func checkKind(_ e: Entry) -> Result<Entry, EntryRejection> {
        if e.kind == EntryKind.successor {
            do throws(EntryRejection) { _ = try Succession(entry: e) } catch { return .failure(error) }
        }
        if e.kind == EntryKind.checkpoint {
            do throws(EntryRejection) { _ = try Checkpoint(seq: e.seq, payload: e.payload) } catch { return .failure(error) }
        }
        return .success(e)
    }

    /// One encoded entry decoded (structure, limits, payload hash), its signature not yet checked.
    @Sendable static func decode(_ bytes: [UInt8]) -> Result<Entry, EntryRejection> {
        do throws(EntryRejection) { return .success(try Entry(encoded: bytes)) } catch { return .failure(error) }
    }

    /// A batch of encoded entries, decoded on all cores and authenticated by ``ChainAuthentication``
    /// (one signature per run of an author's chain, the rest by their hash links); results in
    /// input order. Blocks the caller: call it off any actor (see ``checked(_:)``).
    public static func check(_ encoded: [[UInt8]]) -> [Result<Entry, EntryRejection>] {
        authenticate(parallelMap(encoded, decode))
    }

    /// A batch of decoded entries, authenticated as ``check(_:)-([[UInt8]])`` does.
    public static func check(_ entries: [Entry]) -> [Result<Entry, EntryRejection>] {
        authenticate(entries.map { .success($0) })
    }

    /// Runs ``ChainAuthentication`` over decoded entries, checking its signatures on all cores.
    static func authenticate(_ decoded: [Result<Entry, EntryRejection>]) -> [Result<Entry, EntryRejection>] {
        var auth = ChainAuthentication(decoded)
        while !auth.pending.isEmpty { auth.record(parallelMap(auth.pendingEntries, check(entry:))) }
        return auth.results
    }

    /// ``check(_:)`` on a detached task, so the caller's actor stays free meanwhile.
    public static func checked(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        await Task.detached { check(encoded) }.value
    }

    /// A catch-up's batch on the low-priority verification threads (see ``BackgroundVerifier``).
    public static func inBackground(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        await BackgroundVerifier.shared.decodeAndVerify(encoded)
    }

    /// `transform` over `items` on all cores, results in input order.
    static func parallelMap<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        if items.count < 16 { return items.map(transform) }
        let chunks = min(items.count / 8, ProcessInfoCores.count * 4)
        let out = ResultBuffer<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = items.count * c / chunks, hi = items.count * (c + 1) / chunks
            for i in lo..<hi { out.set(i, transform(items[i])) }
        }
        return out.values()
    }
}

/// The number of cores to spread verification over.
enum ProcessInfoCores {
    static let count: Int = max(1, sysconfCores())
}

#if canImport(Glibc)
private func sysconfCores() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#elseif canImport(Darwin)
private func sysconfCores() -> Int { Int(sysconf(_SC_NPROCESSORS_ONLN)) }
#endif

/// A fixed-size buffer that `concurrentPerform` workers fill, each index written by exactly one
/// worker and read only after all of them finished. That discipline is why the unchecked
/// Sendable is safe here.
final class ResultBuffer<R>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<R?>
    private let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }
    deinit { storage.deinitialize(count: count); storage.deallocate() }
    func set(_ i: Int, _ v: R) { storage[i] = v }
    func values() -> [R] { (0..<count).map { storage[$0]! } }
}
