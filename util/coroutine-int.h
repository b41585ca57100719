/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private interface between the generic coroutine code (coroutine.c) and a
 * backend that creates stacks and switches between them
 * (coroutine-ucontext.c).
 */
#ifndef UTIL_COROUTINE_INT_H
#define UTIL_COROUTINE_INT_H

#include "util/coroutine.h"

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;          /* NULL while not running */
    AioContext *ctx;
    /* set while queued by aio_co_schedule(), to catch double scheduling */
    const char *scheduled;
    QSLIST_ENTRY(Coroutine) pool_next;
    /* link in a CoQueue or a wake-up/schedule list */
    QSIMPLEQ_ENTRY(Coroutine) co_queue_next;
    /* coroutines to enter once this one yields (deferred wake-ups) */
    QSIMPLEQ_HEAD(, Coroutine) co_queue_wakeup;
};

/* Backend: allocate a coroutine with its stack (entry set later). */
Coroutine *qemu_coroutine_new(void);
/* Backend: free @co and its stack. */
void qemu_coroutine_delete(Coroutine *co);
/* Backend: save @from, resume @to with @action; returns how @from resumed. */
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);
/* Backend: the running coroutine, or the thread's leader pseudo-coroutine. */
Coroutine *qemu_coroutine_backend_self(void);
/* Backend: true while the leader (not a coroutine) runs. */
bool qemu_coroutine_backend_in_leader(void);

#endif /* UTIL_COROUTINE_INT_H */
