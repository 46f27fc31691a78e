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

#if defined(__linux__)
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>

// The runtime's hook for the loop an `async` main ends in (declared in the runtime's
// Concurrency.h; Swift calling convention; it must not return), and libdispatch's main-queue
// entry points for run loops (the ones CoreFoundation's run loop uses on Linux).
typedef void (*swift_drain_original)(void) __attribute__((swiftcall));
typedef void (*swift_drain_override)(swift_drain_original original) __attribute__((swiftcall));
extern void (*swift_task_asyncMainDrainQueue_hook)(swift_drain_original original, swift_drain_override compat) __attribute__((swiftcall));
extern int _dispatch_get_main_queue_handle_4CF(void);
extern void _dispatch_main_queue_callback_4CF(void *msg);

__attribute__((swiftcall, noreturn)) static void drain_main_queue_here(swift_drain_original original, swift_drain_override compat) {
    (void)original; (void)compat;
    int fd = _dispatch_get_main_queue_handle_4CF();
    for (;;) {
        _dispatch_main_queue_callback_4CF(NULL);
        struct pollfd wake = {.fd = fd, .events = POLLIN, .revents = 0};
        while (poll(&wake, 1, -1) < 0 && errno == EINTR) {}
        eventfd_t pokes;
        (void)eventfd_read(fd, &pokes);
    }
}

int gossip_install_main_queue_loop(void) {
    if (swift_task_asyncMainDrainQueue_hook != NULL) return 0;
    swift_task_asyncMainDrainQueue_hook = drain_main_queue_here;
    return 1;
}
#else
int gossip_install_main_queue_loop(void) { return 0; }
#endif
