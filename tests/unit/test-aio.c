/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/aio-posix.c and util/thread-pool.c: bottom halves
 * (also scheduled from other threads), timers in order, fd handlers, and
 * the thread pool's completion, concurrency and limit.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/thread-pool.h"

#include <pthread.h>

static AioContext *ctx;

static void count_cb(void *opaque)
{
    (*(int *)opaque)++;
}

static void test_bh_schedule(void)
{
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);

    qemu_bh_schedule(bh);
    qemu_bh_schedule(bh);   /* merged with the first */
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    g_assert_false(aio_poll(ctx, false));

    qemu_bh_schedule(bh);
    qemu_bh_cancel(bh);
    aio_poll(ctx, false);
    g_assert_cmpint(n, ==, 1);

    qemu_bh_schedule(bh);   /* rescheduling after a cancel works */
    aio_poll(ctx, false);
    g_assert_cmpint(n, ==, 2);

    qemu_bh_schedule(bh);
    qemu_bh_delete(bh);     /* a pending run is dropped */
    aio_poll(ctx, false);
    g_assert_cmpint(n, ==, 2);
}

#define THREAD_BH_COUNT 1000

static void *bh_thread(void *opaque)
{
    int i;

    for (i = 0; i < THREAD_BH_COUNT; i++) {
        aio_bh_schedule_oneshot(ctx, count_cb, opaque);
    }
    return NULL;
}

static void test_bh_from_threads(void)
{
    int n = 0;
    pthread_t t[4];
    int i;

    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, bh_thread, &n);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    while (n < 4 * THREAD_BH_COUNT) {
        aio_poll(ctx, true);    /* the eventfd wakes the blocking poll */
    }
    g_assert_cmpint(n, ==, 4 * THREAD_BH_COUNT);
}

typedef struct TimerLog {
    GString *log;
    char mark;
} TimerLog;

static void timer_cb(void *opaque)
{
    TimerLog *t = opaque;

    g_string_append_c(t->log, t->mark);
}

static void test_timers_order(void)
{
    g_autoptr(GString) log = g_string_new(NULL);
    TimerLog a = { log, 'a' }, b = { log, 'b' }, c = { log, 'c' };
    QEMUTimer *ta = aio_timer_new(ctx, timer_cb, &a);
    QEMUTimer *tb = aio_timer_new(ctx, timer_cb, &b);
    QEMUTimer *tc = aio_timer_new(ctx, timer_cb, &c);
    int64_t now = get_clock_ns();

    timer_mod(tc, now + 30 * 1000000);
    timer_mod(ta, now + 10 * 1000000);
    timer_mod(tb, now + 20 * 1000000);
    g_assert_true(timer_pending(tb));
    while (log->len < 3) {
        aio_poll(ctx, true);
    }
    g_assert_cmpstr(log->str, ==, "abc");
    g_assert_cmpint(get_clock_ns() - now, >=, 30 * 1000000);

    timer_mod(ta, get_clock_ns() + 1000000);
    timer_del(ta);
    g_assert_false(timer_pending(ta));
    timer_free(ta);
    timer_free(tb);
    timer_free(tc);
}

static void pipe_read(void *opaque)
{
    int *fds = opaque;
    char c;

    g_assert_cmpint(read(fds[0], &c, 1), ==, 1);
    fds[2] = c;
}

static void test_fd_handler(void)
{
    int fds[3] = { -1, -1, 0 };

    g_assert_cmpint(pipe(fds), ==, 0);
    aio_set_fd_handler(ctx, fds[0], pipe_read, NULL, fds);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    while (fds[2] == 0) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(fds[2], ==, 'x');
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    g_assert_cmpint(write(fds[1], "y", 1), ==, 1);
    g_assert_false(aio_poll(ctx, false));    /* removed: not called */
    close(fds[0]);
    close(fds[1]);
}

/* ---- thread pool ---- */

typedef struct PoolWork {
    int value;
    int in_flight_seen;
} PoolWork;

static int pool_active;
static int pool_max_active;

static int square_slowly(void *opaque)
{
    PoolWork *w = opaque;
    int now = __atomic_add_fetch(&pool_active, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&pool_max_active, __ATOMIC_SEQ_CST);

    while (now > max &&
           !__atomic_compare_exchange_n(&pool_max_active, &max, now, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        /* retry */
    }
    g_usleep(20000);
    __atomic_sub_fetch(&pool_active, 1, __ATOMIC_SEQ_CST);
    return w->value * w->value;
}

typedef struct PoolJob {
    ThreadPool *pool;
    PoolWork work;
    int result;
    int *done;
    GString *order;
} PoolJob;

static void coroutine_fn pool_job(void *opaque)
{
    PoolJob *j = opaque;

    j->result = thread_pool_co_submit(j->pool, square_slowly, &j->work);
    (*j->done)++;
}

static void run_pool_jobs(int max_threads, int njobs)
{
    ThreadPool *pool = thread_pool_new(ctx, max_threads);
    PoolJob *jobs = g_new0(PoolJob, njobs);
    int done = 0;
    int i;

    pool_max_active = 0;
    for (i = 0; i < njobs; i++) {
        jobs[i].pool = pool;
        jobs[i].work.value = i + 1;
        jobs[i].done = &done;
        qemu_coroutine_enter(qemu_coroutine_create(pool_job, &jobs[i]));
    }
    while (done < njobs) {
        aio_poll(ctx, true);
    }
    for (i = 0; i < njobs; i++) {
        g_assert_cmpint(jobs[i].result, ==, (i + 1) * (i + 1));
    }
    g_assert_cmpint(pool_max_active, <=, max_threads);
    if (njobs >= max_threads) {
        /* sleeping jobs overlap: the pool really runs them in parallel */
        g_assert_cmpint(pool_max_active, >, 1);
    }
    thread_pool_free(pool);
    g_free(jobs);
}

static void test_pool_results(void)
{
    run_pool_jobs(4, 16);
}

static void test_pool_limit(void)
{
    run_pool_jobs(2, 10);
    g_assert_cmpint(pool_max_active, ==, 2);
}

static void test_pool_default_sizes(void)
{
    g_assert_cmpint(thread_pool_max_threads(aio_get_compute_pool(ctx)), ==,
                    qemu_get_ncpus());
    g_assert_cmpint(thread_pool_max_threads(aio_get_thread_pool(ctx)), ==, 64);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ctx = qemu_get_aio_context();
    g_test_add_func("/aio/bh/schedule", test_bh_schedule);
    g_test_add_func("/aio/bh/from-threads", test_bh_from_threads);
    g_test_add_func("/aio/timers/order", test_timers_order);
    g_test_add_func("/aio/fd-handler", test_fd_handler);
    g_test_add_func("/thread-pool/results", test_pool_results);
    g_test_add_func("/thread-pool/limit", test_pool_limit);
    g_test_add_func("/thread-pool/default-sizes", test_pool_default_sizes);
    return g_test_run();
}
