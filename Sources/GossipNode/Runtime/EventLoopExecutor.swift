import CExecutorHook
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the node's Swift tasks on the event loop that read their input (SwiftNIO's singleton
/// group, one thread per core) instead of handing them to the runtime's thread pool.
///
/// Without it, every datagram and API request crossed threads twice: read on an event loop,
/// handed to a pool thread for the node's actor, handed back to the event loop to be sent. With
/// 128 nodes on two cores those hand-offs (futex and event-loop wake-ups, the scheduler) were the
/// largest part of a node's CPU per datagram.
///
/// The rule, applied to every job Swift concurrency puts on its global executor: a job enqueued on
/// an event loop runs on that loop; any other (a timer firing, a verifier thread resuming a
/// task, a task already on the pool) stays on the runtime's pool. Long blocking work never starts
/// on a loop: sync sessions (a catch-up's transactions among them) and retention run in tasks
/// that prefer ``background``, the runtime's pool, and a store busy there stays there until its
/// queue is empty. A write or a recall that finds the store idle runs its short transaction on
/// the loop that read the request.
///
/// `GOSSIP_NODE_EXECUTOR=threads` leaves the runtime's pool in charge of everything (the build
/// before this, for comparison).
public enum EventLoopExecutor {
    /// Whether ``install()`` put the event loops in charge (set once, before any task starts).
    nonisolated(unsafe) public private(set) static var isInstalled = false
    /// The loops, each as a serial executor, fixed when the hook is installed.
    nonisolated(unsafe) private static var loops: [any NIOSerialEventLoopExecutor] = []

    /// Where long store work runs: the runtime's pool while the event loops run the rest; nil (no
    /// preference, which is the same pool) when the hook is not installed.
    public static var background: (any TaskExecutor)? { isInstalled ? RuntimePool.shared : nil }

    /// Installs the hook; call first thing in `main`, before any task starts, and only in the
    /// process that runs a node. Returns whether the event loops now take the jobs.
    @discardableResult
    public static func install() -> Bool {
        if let v = getenv("GOSSIP_NODE_EXECUTOR"), String(cString: v) == "threads" { return false }
        var found: [any NIOSerialEventLoopExecutor] = []
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            guard let executor = loop as? any NIOSerialEventLoopExecutor else { return false }
            found.append(executor)
        }
        guard !found.isEmpty else { return false }
        loops = found
        isInstalled = gossip_install_global_job_handler { job in EventLoopExecutor.enqueue(job) } == 1
        return isInstalled
    }

    /// Keeps the main thread of an `async` main alive, running the main queue's work itself,
    /// instead of letting `dispatch_main()` park it with `pthread_exit` (whose forced unwind reads
    /// about 0.5 MiB of the binary's unwind tables, resident for the node's life). Call first
    /// thing in the `async` main, before it suspends; returns whether the loop is installed (on
    /// Linux; elsewhere nothing changes).
    @discardableResult
    public static func keepMainThread() -> Bool {
        gossip_install_main_queue_loop() == 1
    }

    fileprivate static func enqueue(_ raw: UnsafeMutableRawPointer) {
        let job = unsafeBitCast(raw, to: UnownedJob.self)
        if let current = MultiThreadedEventLoopGroup.currentEventLoop {
            for loop in loops where loop === current {
                loop.enqueue(ExecutorJob(job))
                return
            }
        }
        // Not on a loop: the runtime's pool, which the hook always knows by now (it learns the
        // pool's enqueue function with the job that led here).
        if gossip_enqueue_on_runtime_pool(raw) == 0 { loops[0].enqueue(ExecutorJob(job)) }
    }
}

/// The runtime's own thread pool as a task executor (see ``EventLoopExecutor/background``).
final class RuntimePool: TaskExecutor {
    static let shared = RuntimePool()

    func enqueue(_ job: consuming ExecutorJob) {
        let raw = unsafeBitCast(UnownedJob(job), to: UnsafeMutableRawPointer.self)
        if gossip_enqueue_on_runtime_pool(raw) == 0 { EventLoopExecutor.enqueue(raw) }
    }
}
