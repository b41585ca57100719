/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AioTaskPool implementation (contract in include/block/aio-task.h).
 * The owner sleeps in one place at a time (slot, one, all); a finishing
 * task wakes it only if it sleeps, so wake-ups are never lost or doubled.
 */
#include "util/osdep.h"
#include "block/aio-task.h"

struct AioTaskPool {
    Coroutine *owner;
    int status;             /* first error, or 0 */
    int max_busy;
    int busy;               /* tasks started and not finished */
    bool waiting;           /* the owner sleeps until a task finishes */
};

AioTaskPool *coroutine_fn aio_task_pool_new(int max_busy_tasks)
{
    AioTaskPool *pool = g_new0(AioTaskPool, 1);

    assert(max_busy_tasks > 0);
    pool->owner = qemu_coroutine_self();
    assert(pool->owner);
    pool->max_busy = max_busy_tasks;
    return pool;
}

void aio_task_pool_free(AioTaskPool *pool)
{
    if (pool) {
        assert(pool->busy == 0);
        g_free(pool);
    }
}

static void coroutine_fn aio_task_co(void *opaque)
{
    AioTask *task = opaque;
    AioTaskPool *pool = task->pool;
    int ret = task->func(task);

    if (ret < 0 && pool->status == 0) {
        pool->status = ret;
    }
    g_free(task);
    pool->busy--;
    if (pool->waiting) {
        pool->waiting = false;
        aio_co_wake(pool->owner);
    }
}

static void coroutine_fn owner_sleep(AioTaskPool *pool)
{
    assert(qemu_coroutine_self() == pool->owner);
    pool->waiting = true;
    qemu_coroutine_yield();
    assert(!pool->waiting);
}

void coroutine_fn aio_task_pool_wait_one(AioTaskPool *pool)
{
    assert(pool->busy > 0);
    owner_sleep(pool);
}

void coroutine_fn aio_task_pool_wait_slot(AioTaskPool *pool)
{
    while (pool->busy >= pool->max_busy) {
        aio_task_pool_wait_one(pool);
    }
}

void coroutine_fn aio_task_pool_wait_all(AioTaskPool *pool)
{
    while (pool->busy > 0) {
        aio_task_pool_wait_one(pool);
    }
}

void coroutine_fn aio_task_pool_start_task(AioTaskPool *pool, AioTask *task)
{
    assert(qemu_coroutine_self() == pool->owner);
    aio_task_pool_wait_slot(pool);
    task->pool = pool;
    pool->busy++;
    qemu_coroutine_enter(qemu_coroutine_create(aio_task_co, task));
}

int coroutine_fn aio_task_pool_finish(AioTaskPool *pool, int ret)
{
    if (!pool) {
        return ret;
    }
    aio_task_pool_wait_all(pool);
    if (ret == 0) {
        ret = aio_task_pool_status(pool);
    }
    aio_task_pool_free(pool);
    return ret;
}

int aio_task_pool_status(AioTaskPool *pool)
{
    return pool ? pool->status : 0;
}

bool aio_task_pool_empty(AioTaskPool *pool)
{
    return !pool || pool->busy == 0;
}

int aio_task_pool_busy(AioTaskPool *pool)
{
    return pool ? pool->busy : 0;
}
