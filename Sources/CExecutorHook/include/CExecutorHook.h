#ifndef GOSSIP_C_EXECUTOR_HOOK_H
#define GOSSIP_C_EXECUTOR_HOOK_H

/// Receives each job Swift concurrency would have put on its global thread pool (an opaque
/// `Job *`, which Swift reads back as an `UnownedJob`).
typedef void (*gossip_global_job_handler)(void *_Nonnull job);

/// Sets Swift concurrency's global-enqueue hook so that every job for the global executor goes
/// to `handler` instead of the runtime's thread pool. Returns 1 when installed, 0 when another
/// hook was already set (nothing is changed then). Call once, before tasks are started.
int gossip_install_global_job_handler(gossip_global_job_handler _Nonnull handler);

/// Puts `job` on the runtime's own thread pool (what the global executor did before the hook).
/// Returns 0, doing nothing, when the hook has not yet seen the runtime's enqueue function.
int gossip_enqueue_on_runtime_pool(void *_Nonnull job);

/// Makes the main thread, once an `async` main has started its task, wait for and run the main
/// queue's work itself (on Linux, polling libdispatch's main-queue event descriptor) instead of
/// `dispatch_main()`, which parks it with `pthread_exit`: a forced unwind of the main thread's
/// stack that reads the binary's unwind tables (about 0.5 MiB of pages a long-running node then
/// kept resident). Returns 1 when installed, 0 when another hook was set or on other systems
/// (nothing is changed then). Call from the `async` main before its first suspension.
int gossip_install_main_queue_loop(void);

#endif
