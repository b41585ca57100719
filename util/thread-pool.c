/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Thread pool.  A request lives on the submitting coroutine's stack: it is
 * queued under pool->lock, a worker runs it and moves it to the done list,
 * and the completion bottom half wakes the coroutine, which then returns
 * the result.  No allocation per request.
 */
#include "util/osdep.h"
#include "util/thread-pool.h"
#include "util/queue.h"

#include <pthread.h>
#include <time.h>

#define IDLE_TIMEOUT_SEC 10

typedef struct ThreadPoolElement {
    ThreadPoolFunc *func;
    void *opaque;
    int ret;
    Coroutine *co;
    QSIMPLEQ_ENTRY(ThreadPoolElement) next;
} ThreadPoolElement;

struct ThreadPool {
    AioContext *ctx;
    QEMUBH *completion_bh;
    pthread_mutex_t lock;           /* requests and thread counts */
    pthread_mutex_t done_lock;      /* the done list only */
    pthread_cond_t request_cond;
    pthread_cond_t exit_cond;
    QSIMPLEQ_HEAD(, ThreadPoolElement) requests;   /* waiting for a worker */
    QSIMPLEQ_HEAD(, ThreadPoolElement) done;       /* waiting for the BH */
    int max_threads;
    int cur_threads;
    int idle_threads;
    int n_requests;     /* length of @requests */
    bool stopping;
};

static void *worker_thread(void *opaque)
{
    ThreadPool *pool = opaque;

    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        ThreadPoolElement *req = QSIMPLEQ_FIRST(&pool->requests);

        if (!req) {
            struct timespec ts;
            int rc;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += IDLE_TIMEOUT_SEC;
            pool->idle_threads++;
            rc = pthread_cond_timedwait(&pool->request_cond, &pool->lock, &ts);
            pool->idle_threads--;
            if (rc == ETIMEDOUT && QSIMPLEQ_EMPTY(&pool->requests)) {
                break;
            }
            continue;
        }
        QSIMPLEQ_REMOVE_HEAD(&pool->requests, next);
        pool->n_requests--;
        pthread_mutex_unlock(&pool->lock);

        req->ret = req->func(req->opaque);

        /* completions do not contend with submissions */
        pthread_mutex_lock(&pool->done_lock);
        QSIMPLEQ_INSERT_TAIL(&pool->done, req, next);
        pthread_mutex_unlock(&pool->done_lock);
        qemu_bh_schedule(pool->completion_bh);
        pthread_mutex_lock(&pool->lock);
    }
    pool->cur_threads--;
    pthread_cond_signal(&pool->exit_cond);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void completion_bh(void *opaque)
{
    ThreadPool *pool = opaque;
    QSIMPLEQ_HEAD(, ThreadPoolElement) list = QSIMPLEQ_HEAD_INITIALIZER(list);

    pthread_mutex_lock(&pool->done_lock);
    QSIMPLEQ_CONCAT(&list, &pool->done);
    pthread_mutex_unlock(&pool->done_lock);

    while (!QSIMPLEQ_EMPTY(&list)) {
        ThreadPoolElement *req = QSIMPLEQ_FIRST(&list);
        QSIMPLEQ_REMOVE_HEAD(&list, next);
        /* @req lives on the coroutine's stack: do not touch it after this */
        aio_co_wake(req->co);
    }
}

ThreadPool *thread_pool_new(AioContext *ctx, int max_threads)
{
    ThreadPool *pool = g_new0(ThreadPool, 1);

    assert(max_threads > 0);
    pool->ctx = ctx;
    pool->max_threads = max_threads;
    pool->completion_bh = aio_bh_new(ctx, completion_bh, pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->done_lock, NULL);
    pthread_cond_init(&pool->request_cond, NULL);
    pthread_cond_init(&pool->exit_cond, NULL);
    QSIMPLEQ_INIT(&pool->requests);
    QSIMPLEQ_INIT(&pool->done);
    return pool;
}

void thread_pool_free(ThreadPool *pool)
{
    if (!pool) {
        return;
    }
    pthread_mutex_lock(&pool->lock);
    assert(QSIMPLEQ_EMPTY(&pool->requests));
    pool->stopping = true;
    pthread_cond_broadcast(&pool->request_cond);
    while (pool->cur_threads > 0) {
        pthread_cond_wait(&pool->exit_cond, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    qemu_bh_delete(pool->completion_bh);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->done_lock);
    pthread_cond_destroy(&pool->request_cond);
    pthread_cond_destroy(&pool->exit_cond);
    g_free(pool);
}

/* Called with pool->lock held. */
static void spawn_thread_locked(ThreadPool *pool)
{
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all, old;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Workers must not take signals meant for the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&thread, &attr, worker_thread, pool) == 0) {
        pool->cur_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

int coroutine_fn thread_pool_co_submit(ThreadPool *pool, ThreadPoolFunc *func,
                                       void *opaque)
{
    ThreadPoolElement req = {
        .func = func,
        .opaque = opaque,
        .co = qemu_coroutine_self(),
    };
    bool wake;

    assert(req.co);
    pthread_mutex_lock(&pool->lock);
    QSIMPLEQ_INSERT_TAIL(&pool->requests, &req, next);
    pool->n_requests++;
    /* each idle worker takes one request; start more for the rest */
    if (pool->n_requests > pool->idle_threads &&
        pool->cur_threads < pool->max_threads) {
        spawn_thread_locked(pool);
    }
    assert(pool->cur_threads > 0);
    /* busy workers take the next request themselves when they finish */
    wake = pool->idle_threads > 0;
    pthread_mutex_unlock(&pool->lock);
    if (wake) {
        /* after unlocking, so the woken worker does not block on the lock */
        pthread_cond_signal(&pool->request_cond);
    }

    qemu_coroutine_yield();
    return req.ret;
}

int thread_pool_max_threads(ThreadPool *pool)
{
    return pool->max_threads;
}

int thread_pool_cur_threads(ThreadPool *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->cur_threads;
    pthread_mutex_unlock(&pool->lock);
    return n;
}
