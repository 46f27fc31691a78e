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

#endif
