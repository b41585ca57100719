/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Requests waiting for a free slot; see include/util/co-slots.h. */
#include "util/co-slots.h"

static void co_slot_waiters_bh(void *opaque)
{
    CoSlotWaiters *w = opaque;
    /*
     * Each of those waiting now is woken at most once: one that finds no
     * slot queues again, behind them, and must not be woken again here
     * (with "wake everyone" that would spin).
     */
    int n = MIN(w->freed, w->waiting);

    w->freed = 0;
    while (n-- > 0 && qemu_co_queue_next(&w->queue)) {
        /* entered at once: it took its slot or queued again */
    }
}

void co_slot_waiters_init(CoSlotWaiters *w, AioContext *ctx)
{
    qemu_co_queue_init(&w->queue);
    w->bh = aio_bh_new(ctx, co_slot_waiters_bh, w);
    w->freed = 0;
    w->waiting = 0;
}

void co_slot_waiters_destroy(CoSlotWaiters *w)
{
    if (w->bh) {
        qemu_bh_delete(w->bh);
        w->bh = NULL;
    }
}

void co_slot_waiters_wake(CoSlotWaiters *w, int n)
{
    if (w->bh && !qemu_co_queue_empty(&w->queue)) {
        w->freed = n > INT_MAX - w->freed ? INT_MAX : w->freed + n;
        qemu_bh_schedule(w->bh);
    }
}

void coroutine_fn co_slot_waiters_wait(CoSlotWaiters *w)
{
    w->waiting++;
    qemu_co_queue_wait(&w->queue, NULL);
    w->waiting--;
}
