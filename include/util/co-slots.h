/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CoSlotWaiters: requests waiting for a free slot (an RPC or a command a
 * connection may still take), woken when slots are freed from a library's
 * callback.  The wake-up runs from a bottom half, never inside the
 * callback, and wakes at most one waiter per freed slot: a woken request
 * that finds no slot (one issued in between took it) queues again, behind
 * the others.  The owner decides what a slot is; see nfs.c and iscsi.c.
 * Context: one AioContext, its thread.
 */
#ifndef UTIL_CO_SLOTS_H
#define UTIL_CO_SLOTS_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

typedef struct CoSlotWaiters {
    CoQueue queue;
    QEMUBH *bh;                 /* NULL before init and after destroy */
    int freed;                  /* slots freed since the BH last ran */
    int waiting;                /* coroutines in co_slot_waiters_wait() */
} CoSlotWaiters;

void co_slot_waiters_init(CoSlotWaiters *w, AioContext *ctx);
void co_slot_waiters_destroy(CoSlotWaiters *w);
/* @n slots were freed (a large @n wakes everyone); safe in callbacks. */
void co_slot_waiters_wake(CoSlotWaiters *w, int n);
/* Wait until a slot may have been freed; the caller looks again. */
void coroutine_fn co_slot_waiters_wait(CoSlotWaiters *w);

#endif /* UTIL_CO_SLOTS_H */
