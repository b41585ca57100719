/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Generic coroutine code: creation with a per-thread pool of stacks,
 * enter/yield with deferred wake-ups, CoQueue, CoMutex, CoWaiter, sleep.
 * The stack switching itself lives in coroutine-ucontext.c.
 */
#include "util/osdep.h"
#include "coroutine-int.h"
#include "util/aio.h"

/* Terminated coroutines kept for reuse, per thread: stacks are costly. */
#define POOL_MAX 256

static __thread QSLIST_HEAD(, Coroutine) pool;
static __thread unsigned pool_size;
static uint64_t created_count;

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    Coroutine *co = QSLIST_FIRST(&pool);

    if (co) {
        QSLIST_REMOVE_HEAD(&pool, pool_next);
        pool_size--;
    } else {
        co = qemu_coroutine_new();
        __atomic_add_fetch(&created_count, 1, __ATOMIC_RELAXED);
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->caller = NULL;
    co->scheduled = NULL;
    co->ctx = qemu_get_current_aio_context();
    QSIMPLEQ_INIT(&co->co_queue_wakeup);
    return co;
}

uint64_t qemu_coroutine_stats_created(void)
{
    return __atomic_load_n(&created_count, __ATOMIC_RELAXED);
}

static void coroutine_release(Coroutine *co)
{
    if (pool_size < POOL_MAX) {
        QSLIST_INSERT_HEAD(&pool, co, pool_next);
        pool_size++;
    } else {
        qemu_coroutine_delete(co);
    }
}

void qemu_coroutine_enter(Coroutine *co)
{
    QSIMPLEQ_HEAD(, Coroutine) pending = QSIMPLEQ_HEAD_INITIALIZER(pending);

    QSIMPLEQ_INSERT_TAIL(&pending, co, co_queue_next);

    /* Run @co, then everything it (transitively) woke, in FIFO order. */
    while (!QSIMPLEQ_EMPTY(&pending)) {
        Coroutine *to = QSIMPLEQ_FIRST(&pending);
        Coroutine *self = qemu_coroutine_backend_self();
        CoroutineAction ret;

        QSIMPLEQ_REMOVE_HEAD(&pending, co_queue_next);
        if (to->caller) {
            fprintf(stderr, "Co-routine re-entered recursively\n");
            abort();
        }
        to->caller = self;
        ret = qemu_coroutine_switch(self, to, COROUTINE_ENTER);

        /* Deferred wake-ups run before anything queued earlier. */
        QSIMPLEQ_PREPEND(&pending, &to->co_queue_wakeup);

        switch (ret) {
        case COROUTINE_YIELD:
            break;
        case COROUTINE_TERMINATE:
            assert(QSIMPLEQ_EMPTY(&to->co_queue_wakeup));
            coroutine_release(to);
            break;
        default:
            abort();
        }
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = qemu_coroutine_backend_self();
    Coroutine *to = self->caller;

    if (!to) {
        fprintf(stderr, "Co-routine is yielding to no one\n");
        abort();
    }
    self->caller = NULL;
    qemu_coroutine_switch(self, to, COROUTINE_YIELD);
}

Coroutine *qemu_coroutine_self(void)
{
    return qemu_coroutine_backend_in_leader() ? NULL :
           qemu_coroutine_backend_self();
}

bool qemu_in_coroutine(void)
{
    return !qemu_coroutine_backend_in_leader();
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}

AioContext *qemu_coroutine_get_aio_context(Coroutine *co)
{
    return co->ctx;
}

void aio_co_wake(Coroutine *co)
{
    Coroutine *self = qemu_coroutine_self();

    if (self) {
        QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
    } else {
        qemu_coroutine_enter(co);
    }
}

/* ---- CoQueue ---- */

void qemu_co_queue_init(CoQueue *queue)
{
    QSIMPLEQ_INIT(&queue->entries);
}

void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    assert(self);
    QSIMPLEQ_INSERT_TAIL(&queue->entries, self, co_queue_next);
    if (mutex) {
        qemu_co_mutex_unlock(mutex);
    }
    qemu_coroutine_yield();
    if (mutex) {
        qemu_co_mutex_lock(mutex);
    }
}

bool qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *next = QSIMPLEQ_FIRST(&queue->entries);

    if (!next) {
        return false;
    }
    QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);
    aio_co_wake(next);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* each call wakes one */
    }
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    return QSIMPLEQ_EMPTY(&queue->entries);
}

/* ---- CoMutex ---- */

void qemu_co_mutex_init(CoMutex *mutex)
{
    memset(mutex, 0, sizeof(*mutex));
    qemu_co_queue_init(&mutex->waiters);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    assert(self);
    if (!mutex->locked) {
        mutex->locked = true;
        mutex->holder = self;
        return;
    }
    assert(mutex->holder != self);
    QSIMPLEQ_INSERT_TAIL(&mutex->waiters.entries, self, co_queue_next);
    qemu_coroutine_yield();
    /* unlock() handed the lock over to us */
    assert(mutex->locked && mutex->holder == self);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    Coroutine *next = QSIMPLEQ_FIRST(&mutex->waiters.entries);

    assert(mutex->locked && mutex->holder == qemu_coroutine_self());
    if (next) {
        /* FIFO hand-off: no barging, so waiters are served in order. */
        QSIMPLEQ_REMOVE_HEAD(&mutex->waiters.entries, co_queue_next);
        mutex->holder = next;
        aio_co_wake(next);
    } else {
        mutex->locked = false;
        mutex->holder = NULL;
    }
}

void qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    assert(mutex->locked && mutex->holder == qemu_coroutine_self());
}

/* ---- CoWaiter ---- */

void co_waiter_init(CoWaiter *w)
{
    w->co = qemu_coroutine_self();
    w->ret = 0;
    w->done = false;
    assert(w->co);
}

void co_waiter_finish(CoWaiter *w, int ret)
{
    w->ret = ret;
    w->done = true;
    if (w->co == qemu_coroutine_self()) {
        /* completed synchronously, before the waiter yielded */
        return;
    }
    aio_co_schedule(qemu_coroutine_get_aio_context(w->co), w->co);
}

int coroutine_fn co_waiter_wait(CoWaiter *w)
{
    while (!w->done) {
        qemu_coroutine_yield();
    }
    return w->ret;
}

/* ---- sleep ---- */

static void co_sleep_cb(void *opaque)
{
    Coroutine *co = opaque;

    aio_co_wake(co);
}

void coroutine_fn qemu_co_sleep_ns(int64_t ns)
{
    Coroutine *self = qemu_coroutine_self();
    QEMUTimer *t = aio_timer_new(self->ctx, co_sleep_cb, self);

    timer_mod(t, get_clock_ns() + ns);
    qemu_coroutine_yield();
    timer_free(t);
}
