/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for block/aio-task.c: the limit is never exceeded, tasks run
 * concurrently when they yield, the first error is kept, wait_all drains,
 * tasks that finish without yielding, and no leaks (ASan runs these).
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/aio-task.h"

typedef struct Stats {
    int running;
    int max_running;
    int finished;
    GString *order;
} Stats;

typedef struct TestTask {
    AioTask task;
    Stats *st;
    int id;
    int sleep_ms;       /* 0: finish without yielding */
    int ret;
} TestTask;

static int coroutine_fn test_task_func(AioTask *task)
{
    TestTask *t = container_of(task, TestTask, task);

    t->st->running++;
    t->st->max_running = MAX(t->st->max_running, t->st->running);
    if (t->sleep_ms) {
        qemu_co_sleep_ns(t->sleep_ms * 1000000LL);
    }
    t->st->running--;
    t->st->finished++;
    if (t->st->order) {
        g_string_append_printf(t->st->order, "%d,", t->id);
    }
    return t->ret;
}

static TestTask *new_task(Stats *st, int id, int sleep_ms, int ret)
{
    TestTask *t = g_new0(TestTask, 1);

    t->task.func = test_task_func;
    t->st = st;
    t->id = id;
    t->sleep_ms = sleep_ms;
    t->ret = ret;
    return t;
}

typedef struct PoolTest {
    int max_busy;
    int ntasks;
    int sleep_ms;
    int fail_at;        /* task id that fails with -EIO, or -1 */
    bool stop_on_error;
    Stats st;
    int status;
    int started;
} PoolTest;

static void coroutine_fn pool_test_co(void *opaque)
{
    PoolTest *p = opaque;
    AioTaskPool *pool = aio_task_pool_new(p->max_busy);
    int i;

    for (i = 0; i < p->ntasks; i++) {
        if (p->stop_on_error && aio_task_pool_status(pool) < 0) {
            break;
        }
        /* later tasks fail too: their errors must not replace the first */
        aio_task_pool_start_task(pool, &new_task(&p->st, i, p->sleep_ms,
            (p->fail_at >= 0 && i >= p->fail_at) ? -EIO - (i - p->fail_at)
                                                 : 0)->task);
        g_assert_cmpint(aio_task_pool_busy(pool), <=, p->max_busy);
        p->started++;
    }
    aio_task_pool_wait_all(pool);
    g_assert_true(aio_task_pool_empty(pool));
    p->status = aio_task_pool_status(pool);
    aio_task_pool_free(pool);
}

static void test_limit_and_concurrency(void)
{
    PoolTest p = { .max_busy = 4, .ntasks = 20, .sleep_ms = 5,
                   .fail_at = -1 };
    int64_t t0 = get_clock_ns();

    aio_run_coroutine(pool_test_co, &p);
    g_assert_cmpint(p.st.finished, ==, 20);
    g_assert_cmpint(p.st.max_running, ==, 4);
    g_assert_cmpint(p.status, ==, 0);
    /* 20 tasks of 5 ms, 4 at a time: well under the 100 ms serial time */
    g_assert_cmpint(get_clock_ns() - t0, <, 90 * 1000000LL);
}

static void test_serial_pool(void)
{
    PoolTest p = { .max_busy = 1, .ntasks = 5, .sleep_ms = 1,
                   .fail_at = -1 };

    p.st.order = g_string_new(NULL);
    aio_run_coroutine(pool_test_co, &p);
    g_assert_cmpint(p.st.max_running, ==, 1);
    g_assert_cmpstr(p.st.order->str, ==, "0,1,2,3,4,");
    g_string_free(p.st.order, TRUE);
}

static void test_first_error_wins(void)
{
    PoolTest p = { .max_busy = 3, .ntasks = 10, .sleep_ms = 2, .fail_at = 2 };

    aio_run_coroutine(pool_test_co, &p);
    /* task 2 fails with -EIO; tasks 3.. fail with other codes later */
    g_assert_cmpint(p.status, ==, -EIO);
    g_assert_cmpint(p.st.finished, ==, 10);
}

static void test_stop_after_error(void)
{
    PoolTest p = { .max_busy = 2, .ntasks = 50, .sleep_ms = 2, .fail_at = 0,
                   .stop_on_error = true };

    aio_run_coroutine(pool_test_co, &p);
    g_assert_cmpint(p.status, ==, -EIO);
    /* the owner noticed the error and stopped starting tasks */
    g_assert_cmpint(p.started, <, 50);
    g_assert_cmpint(p.st.finished, ==, p.started);
}

typedef struct FinishTest {
    int caller_ret;     /* what the owner passes to finish */
    int task_ret;       /* what the one task returns */
    int result;
    Stats st;
} FinishTest;

static void coroutine_fn finish_test_co(void *opaque)
{
    FinishTest *f = opaque;
    AioTaskPool *pool = aio_task_pool_new(2);

    aio_task_pool_start_task(pool, &new_task(&f->st, 0, 2, f->task_ret)->task);
    /* finish waits for the sleeping task before it frees the pool */
    f->result = aio_task_pool_finish(pool, f->caller_ret);
}

static void coroutine_fn finish_null_co(void *opaque)
{
    *(int *)opaque = aio_task_pool_finish(NULL, -ENOSPC);
}

static void test_finish(void)
{
    FinishTest ok = { 0, 0 }, task_err = { 0, -EIO }, own_err = { -EPERM, -EIO };
    int null_ret = 0;

    aio_run_coroutine(finish_test_co, &ok);
    g_assert_cmpint(ok.result, ==, 0);
    g_assert_cmpint(ok.st.finished, ==, 1);
    aio_run_coroutine(finish_test_co, &task_err);
    g_assert_cmpint(task_err.result, ==, -EIO);
    g_assert_cmpint(task_err.st.finished, ==, 1);
    /* the owner's own error comes first: it happened before the wait */
    aio_run_coroutine(finish_test_co, &own_err);
    g_assert_cmpint(own_err.result, ==, -EPERM);
    g_assert_cmpint(own_err.st.finished, ==, 1);
    aio_run_coroutine(finish_null_co, &null_ret);
    g_assert_cmpint(null_ret, ==, -ENOSPC);
}

static void test_sync_tasks(void)
{
    PoolTest p = { .max_busy = 2, .ntasks = 100, .sleep_ms = 0,
                   .fail_at = -1 };

    /* tasks that never yield finish inside start_task */
    aio_run_coroutine(pool_test_co, &p);
    g_assert_cmpint(p.st.finished, ==, 100);
    g_assert_cmpint(p.st.max_running, ==, 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/aio-task/limit-and-concurrency",
                    test_limit_and_concurrency);
    g_test_add_func("/aio-task/serial-pool-keeps-order", test_serial_pool);
    g_test_add_func("/aio-task/first-error-wins", test_first_error_wins);
    g_test_add_func("/aio-task/stop-after-error", test_stop_after_error);
    g_test_add_func("/aio-task/tasks-without-yield", test_sync_tasks);
    g_test_add_func("/aio-task/finish", test_finish);
    return g_test_run();
}
