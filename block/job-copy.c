/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block jobs' copy loop (see block/job-copy.h).  The owner is the
 * job's coroutine: it walks, asks, starts tasks and sleeps for the speed
 * limit; tasks copy.  A failed task never fails the pool: it records the
 * lowest failed offset, and the owner, once the tasks in flight are done,
 * asks the job what to do and walks again from there (ranges copied
 * since then are asked again and found done, or copied once more, which
 * a copy of unchanging data allows).
 */
#include "util/osdep.h"
#include "block/job-copy.h"
#include "block/aio-task.h"

typedef struct JobCopyState {
    JobCopy *c;
    GPtrArray *free_bufs;
    bool failed;
    int64_t fail_offset;
    int fail_ret;
    bool fail_read;
} JobCopyState;

typedef struct JobCopyTask {
    AioTask task;
    JobCopyState *st;
    int64_t offset, bytes;
    bool zero;
} JobCopyTask;

static void job_copy_fail(JobCopyState *st, int64_t offset, int ret,
                          bool is_read)
{
    if (!st->failed || offset < st->fail_offset) {
        st->failed = true;
        st->fail_offset = offset;
        st->fail_ret = ret;
        st->fail_read = is_read;
    }
}

static int coroutine_fn job_copy_task(AioTask *task)
{
    JobCopyTask *t = container_of(task, JobCopyTask, task);
    JobCopyState *st = t->st;
    uint8_t *buf = NULL;
    bool is_read = false;
    int ret;

    if (!t->zero) {
        buf = g_ptr_array_steal_index_fast(st->free_bufs,
                                           st->free_bufs->len - 1);
    }
    ret = st->c->copy(st->c->opaque, t->offset, t->bytes, t->zero, buf,
                      &is_read);
    if (buf) {
        g_ptr_array_add(st->free_bufs, buf);
    }
    if (ret < 0) {
        job_copy_fail(st, t->offset, ret, is_read);
    }
    return 0;
}

static void job_copy_free_buf(gpointer p)
{
    qemu_vfree(p);
}

int coroutine_fn job_copy_run(JobCopy *c, int64_t len)
{
    JobCopyState st = { .c = c };
    AioTaskPool *pool = aio_task_pool_new(c->workers);
    int64_t offset = 0, counted = 0, delay = 0, n;
    int ret = 0, i;

    st.free_bufs = g_ptr_array_new_with_free_func(job_copy_free_buf);
    for (i = 0; i < c->workers; i++) {
        g_ptr_array_add(st.free_bufs,
                        qemu_memalign(MAX(c->buf_align, 512), c->chunk));
    }
    for (;;) {
        JobCopyTask *t;
        int action;

        if (st.failed) {
            aio_task_pool_wait_all(pool);
            if (job_error_action(c->job, st.fail_read ? c->on_source_error :
                                                        c->on_target_error,
                                 st.fail_read, -st.fail_ret) ==
                BLOCK_ERROR_ACTION_REPORT) {
                ret = st.fail_ret;
                break;
            }
            /* stop (paused now: the pause point below waits) or ignore */
            offset = st.fail_offset;
            st.failed = false;
        }
        if (offset >= len) {
            aio_task_pool_wait_all(pool);
            if (!st.failed) {
                break;
            }
            continue;
        }
        job_sleep_ns(c->job, delay);
        delay = 0;
        if (job_is_cancelled(c->job)) {
            ret = -ECANCELED;
            break;
        }
        if (st.failed) {
            continue;
        }
        action = c->status(c->opaque, offset, MIN(len - offset, c->chunk),
                           &n);
        if (action < 0) {
            job_copy_fail(&st, offset, action, true);
            continue;
        }
        assert(n > 0);
        if (offset + n > counted) {
            job_progress_update(c->job, offset + n - MAX(offset, counted));
            counted = offset + n;
        }
        if (action != JOB_COPY_SKIP) {
            t = g_new0(JobCopyTask, 1);
            t->task.func = job_copy_task;
            t->st = &st;
            t->offset = offset;
            t->bytes = n;
            t->zero = action == JOB_COPY_ZERO;
            aio_task_pool_start_task(pool, &t->task);
            if (action == JOB_COPY_DATA) {
                delay = job_ratelimit_get_delay(c->job, n);
            }
        }
        offset += n;
    }
    aio_task_pool_wait_all(pool);
    aio_task_pool_free(pool);
    g_ptr_array_free(st.free_bufs, true);
    return ret;
}
