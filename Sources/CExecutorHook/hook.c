#include "CExecutorHook.h"
#include <stdatomic.h>
#include <stddef.h>

// The Swift runtime's hook for enqueueing a job on the global executor (declared in the runtime's
// Concurrency.h; both functions use the Swift calling convention).
typedef void (*swift_enqueue_original)(void *job) __attribute__((swiftcall));
typedef void (*swift_enqueue_hook)(void *job, swift_enqueue_original original) __attribute__((swiftcall));
extern swift_enqueue_hook swift_task_enqueueGlobal_hook;

static gossip_global_job_handler installed_handler;
static _Atomic(swift_enqueue_original) runtime_enqueue;

__attribute__((swiftcall)) static void enqueue_through_handler(void *job, swift_enqueue_original original) {
    atomic_store_explicit(&runtime_enqueue, original, memory_order_relaxed);
    installed_handler(job);
}

int gossip_install_global_job_handler(gossip_global_job_handler handler) {
    if (swift_task_enqueueGlobal_hook != NULL) return 0;
    installed_handler = handler;
    swift_task_enqueueGlobal_hook = enqueue_through_handler;
    return 1;
}

int gossip_enqueue_on_runtime_pool(void *job) {
    swift_enqueue_original original = atomic_load_explicit(&runtime_enqueue, memory_order_relaxed);
    if (original == NULL) return 0;
    original(job);
    return 1;
}
