/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Coroutines: cooperative, stackful, one thread each.  A coroutine runs
 * until it yields or returns; entering one from another makes the enterer
 * its caller, and a yield returns there.  Wake-ups requested from inside a
 * coroutine (CoMutex unlock, CoQueue restart, aio_co_wake) are deferred
 * until the current coroutine yields, so they never nest deeply.
 *
 * Also here: CoMutex (fair, FIFO hand-off), CoQueue, CoWaiter (the one
 * helper callback libraries use to wake a coroutine) and co sleep.
 */
#ifndef UTIL_COROUTINE_H
#define UTIL_COROUTINE_H

#include "util/osdep.h"
#include "util/queue.h"

typedef struct Coroutine Coroutine;
typedef struct AioContext AioContext;

typedef void coroutine_fn CoroutineEntry(void *opaque);

/*
 * Create a coroutine that will run @entry(@opaque) when entered.
 * Context: any thread; the coroutine must be entered in that thread.
 * Ownership: freed automatically when @entry returns.
 */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);

/*
 * Run @co until it yields or terminates, then run any coroutines it woke.
 * Entering a coroutine that is already running aborts (a bug).
 * Context: any; from a coroutine, @co becomes a child of the caller.
 */
void qemu_coroutine_enter(Coroutine *co);

/* Give control back to the caller of the current coroutine. */
void coroutine_fn qemu_coroutine_yield(void);

/* The current coroutine, or NULL outside coroutine context. */
Coroutine *qemu_coroutine_self(void);
bool qemu_in_coroutine(void);

/* True while @co has been entered and has not yielded or returned. */
bool qemu_coroutine_entered(Coroutine *co);

/* The AioContext @co was created in. */
AioContext *qemu_coroutine_get_aio_context(Coroutine *co);

/*
 * Wake @co (which must be yielded) in the current thread: entered at once
 * from outside coroutine context, or right after the current coroutine
 * yields when called from one.
 */
void aio_co_wake(Coroutine *co);

/*
 * Statistics of the coroutine pool, for tests: coroutines created (stacks
 * allocated) since start.
 */
uint64_t qemu_coroutine_stats_created(void);

/* ---- CoQueue: a FIFO of waiting coroutines ---- */

typedef struct CoMutex CoMutex;

typedef struct CoQueue {
    QSIMPLEQ_HEAD(, Coroutine) entries;
} CoQueue;

void qemu_co_queue_init(CoQueue *queue);
/*
 * Wait until woken; @mutex (may be NULL) is released while waiting and
 * taken again before returning.
 */
void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *mutex);
/* Wake the first waiter; returns false if there was none. */
bool qemu_co_queue_next(CoQueue *queue);
/* Wake every waiter. */
void qemu_co_queue_restart_all(CoQueue *queue);
bool qemu_co_queue_empty(CoQueue *queue);

/* ---- CoMutex: fair sleeping lock (ownership handed over FIFO) ---- */

struct CoMutex {
    bool locked;
    Coroutine *holder;
    CoQueue waiters;
};

void qemu_co_mutex_init(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);
/* Asserts that the current coroutine holds @mutex. */
void qemu_co_mutex_assert_locked(CoMutex *mutex);

/* ---- CoWaiter: wake-up from library callbacks ---- */

typedef struct CoWaiter {
    Coroutine *co;
    int ret;
    bool done;
} CoWaiter;

/* Prepare @w for the current coroutine; call before issuing the request. */
void co_waiter_init(CoWaiter *w);
/*
 * Record @ret and schedule the waiting coroutine; never enters it, so it is
 * safe inside a library's callback with the library's state in flux.
 * Context: the thread of the waiting coroutine.
 */
void co_waiter_finish(CoWaiter *w, int ret);
/* Yield until co_waiter_finish() ran; returns its @ret. */
int coroutine_fn co_waiter_wait(CoWaiter *w);

/* Sleep for @ns nanoseconds on the current AioContext's clock. */
void coroutine_fn qemu_co_sleep_ns(int64_t ns);

#endif /* UTIL_COROUTINE_H */
