/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AioTaskPool: run up to max_busy tasks at once, each in its own
 * coroutine, for one owner coroutine that starts them and waits for them.
 * Consumers: qcow2 fragmented requests, convert, block jobs, bench.
 *
 * Contract:
 * - Every call except aio_task_pool_status()/_empty()/_free() is made by
 *   the owner: the coroutine that called aio_task_pool_new().
 * - aio_task_pool_start_task() waits for a free slot, then runs the task
 *   until its first yield (or to completion) before returning.
 * - The first failing task's error is kept; later errors do not replace
 *   it.  Starting more tasks after an error is the owner's choice: check
 *   aio_task_pool_status() first (the usual choice is to stop and
 *   aio_task_pool_wait_all()).
 * - Tasks are allocated by the owner with g_new/g_malloc (embedding AioTask
 *   as the first member) and belong to the pool once started: the pool
 *   g_free()s each one right after its func returns.
 * - aio_task_pool_free() requires an empty pool.
 */
#ifndef BLOCK_AIO_TASK_H
#define BLOCK_AIO_TASK_H

#include "util/osdep.h"
#include "util/coroutine.h"

typedef struct AioTaskPool AioTaskPool;   /* opaque: in block/aio-task.c */
typedef struct AioTask AioTask;

typedef int coroutine_fn AioTaskFunc(AioTask *task);

struct AioTask {
    AioTaskPool *pool;      /* set by aio_task_pool_start_task() */
    AioTaskFunc *func;      /* returns 0 or -errno */
};

/* Context: coroutine (becomes the owner).  Ownership: free with _free(). */
AioTaskPool *coroutine_fn aio_task_pool_new(int max_busy_tasks);
void aio_task_pool_free(AioTaskPool *pool);

/* See the contract above.  Context: the owner coroutine. */
void coroutine_fn aio_task_pool_start_task(AioTaskPool *pool, AioTask *task);
/* Wait until fewer than max_busy tasks run.  Context: the owner. */
void coroutine_fn aio_task_pool_wait_slot(AioTaskPool *pool);
/* Wait until at least one running task finished.  Context: the owner. */
void coroutine_fn aio_task_pool_wait_one(AioTaskPool *pool);
/* Wait until no task runs.  Context: the owner. */
void coroutine_fn aio_task_pool_wait_all(AioTaskPool *pool);

/*
 * The end of a request on a pool: wait for every task, free @pool (NULL
 * is fine: the request did not need one) and return @ret, or when @ret
 * is 0 the first error of a task.  Context: the owner.
 */
int coroutine_fn aio_task_pool_finish(AioTaskPool *pool, int ret);

/* 0, or the first error a task returned.  Context: any. */
int aio_task_pool_status(AioTaskPool *pool);
/* True when no task runs.  Context: any. */
bool aio_task_pool_empty(AioTaskPool *pool);
/* Tasks running now (for tests and statistics). */
int aio_task_pool_busy(AioTaskPool *pool);

#endif /* BLOCK_AIO_TASK_H */
