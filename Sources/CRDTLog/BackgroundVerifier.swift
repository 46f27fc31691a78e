import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Threads, one per core, that verify the batches of a catch-up at a lower scheduling priority
/// (nice +15) than the rest of the node.
///
/// A catch-up has two stages: signature checks, which run on any core, and the commit (entries,
/// views, full-text index), which is serial. On a machine with few cores the two compete; at equal
/// priority the commit gets a share of one core and becomes the bottleneck. At a lower priority
/// the checks still use every idle cycle, but yield to the commit (and to the rest of the node,
/// such as its probes and its API) whenever it is ready to run.
public final class BackgroundVerifier: Sendable {
    public static let shared = BackgroundVerifier(threads: ProcessInfoCores.count)

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    /// Counts queued jobs; threads sleep on it (portable: no unnamed POSIX semaphores, which macOS lacks).
    private let ready = DispatchSemaphore(value: 0)
    public let threads: Int

    init(threads: Int) {
        self.threads = max(1, threads)
        for _ in 0..<self.threads { startThread() }
    }

    /// Decodes and authenticates `encoded` (as ``EntryVerifier/check(_:)-([[UInt8]])`` does) on
    /// the pool's threads; results in input order.
    public func decodeAndVerify(_ encoded: [[UInt8]]) async -> [Result<Entry, EntryRejection>] {
        var auth = ChainAuthentication(await map(encoded, EntryVerifier.decode))
        while !auth.pending.isEmpty { auth.record(await map(auth.pendingEntries, EntryVerifier.check(entry:))) }
        return auth.results
    }

    /// `transform` over `items` on the pool's threads; results in input order.
    func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @escaping @Sendable (T) -> R) async -> [R] {
        if items.isEmpty { return [] }
        let parts = min(threads, max(1, items.count / 16))
        let gather = Gather<R>(parts: parts)
        return await withCheckedContinuation { done in
            for part in 0..<parts {
                let slice = Array(items[items.count * part / parts..<items.count * (part + 1) / parts])
                submit {
                    if let all = gather.finish(part, slice.map(transform)) { done.resume(returning: all) }
                }
            }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        ready.signal()
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let rc = pthread_create(&thread, nil, { raw in
            let pool = Unmanaged<BackgroundVerifier>.fromOpaque(raw!).takeRetainedValue()
            lowerThisThreadsPriority()
            pool.run()
        }, context)
        precondition(rc == 0, "cannot start a verification thread (pthread_create: \(rc))")
        #if canImport(Glibc)
        pthread_detach(thread)
        #else
        if let thread { pthread_detach(thread) }
        #endif
    }

    private func run() -> Never {
        while true {
            ready.wait()
            let job = jobs.withLock { $0.removeFirst() }
            job()
        }
    }

    /// Collects the parts of one batch; the last part to finish gets the whole result.
    private final class Gather<R: Sendable>: Sendable {
        private let state: Mutex<(results: [[R]], left: Int)>
        init(parts: Int) { state = Mutex((Array(repeating: [], count: parts), parts)) }

        func finish(_ part: Int, _ result: [R]) -> [R]? {
            state.withLock { s in
                s.results[part] = result
                s.left -= 1
                return s.left == 0 ? s.results.flatMap { $0 } : nil
            }
        }
    }
}

/// Lowers the calling thread's scheduling priority (verification yields to the commit).
private func lowerThisThreadsPriority() {
    #if canImport(Glibc)
    // On Linux, PRIO_PROCESS with id 0 applies to the calling thread only: nice +15.
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 15)
    #elseif canImport(Darwin)
    // On macOS setpriority would lower the whole process; a thread's QoS class is its own.
    _ = pthread_set_qos_class_self_np(QOS_CLASS_UTILITY, 0)
    #endif
}
