/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Thread pool: run blocking or CPU-heavy functions on worker threads while
 * the submitting coroutine yields.  Completions come back to the pool's
 * AioContext through a bottom half, which re-enters each coroutine.
 * Workers start on demand up to the pool's limit and exit after 10 s idle.
 */
#ifndef UTIL_THREAD_POOL_H
#define UTIL_THREAD_POOL_H

#include "util/osdep.h"
#include "util/aio.h"

/* Runs in a worker thread; the return value goes back to the submitter. */
typedef int ThreadPoolFunc(void *opaque);

/* Context: @ctx's thread.  Ownership: free with thread_pool_free(). */
ThreadPool *thread_pool_new(AioContext *ctx, int max_threads);
/* Stops and joins every worker; no request may be in flight. */
void thread_pool_free(ThreadPool *pool);

/*
 * Run @func(@opaque) on a worker; yield until it returns; return its
 * result.  Context: coroutine in the pool's AioContext.
 */
int coroutine_fn thread_pool_co_submit(ThreadPool *pool, ThreadPoolFunc *func,
                                       void *opaque);

int thread_pool_max_threads(ThreadPool *pool);
/* Workers currently alive (for tests). */
int thread_pool_cur_threads(ThreadPool *pool);

#endif /* UTIL_THREAD_POOL_H */
