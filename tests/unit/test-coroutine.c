/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/coroutine.c: enter/yield, nesting, ping-pong,
 * CoMutex fairness, CoQueue, CoWaiter, sleep, and a switch-cost
 * micro-benchmark (reported, never a pass/fail criterion).
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"

static void coroutine_fn set_and_exit(void *opaque)
{
    *(bool *)opaque = true;
}

static void test_enter_exit(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(set_and_exit, &done);

    g_assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(co);
    g_assert_true(done);
}

static void coroutine_fn yield_twice(void *opaque)
{
    int *step = opaque;

    g_assert_true(qemu_in_coroutine());
    (*step)++;
    qemu_coroutine_yield();
    (*step)++;
    qemu_coroutine_yield();
    (*step)++;
}

static void test_yield(void)
{
    int step = 0;
    Coroutine *co = qemu_coroutine_create(yield_twice, &step);

    qemu_coroutine_enter(co);
    g_assert_cmpint(step, ==, 1);
    g_assert_false(qemu_coroutine_entered(co));
    qemu_coroutine_enter(co);
    g_assert_cmpint(step, ==, 2);
    qemu_coroutine_enter(co);
    g_assert_cmpint(step, ==, 3);
}

typedef struct NestData {
    int depth;
    int max;
} NestData;

static void coroutine_fn nest(void *opaque)
{
    NestData *d = opaque;

    if (d->depth < d->max) {
        Coroutine *self = qemu_coroutine_self();
        d->depth++;
        qemu_coroutine_enter(qemu_coroutine_create(nest, d));
        /* the child returned to us, its caller */
        g_assert_true(qemu_coroutine_self() == self);
    }
}

static void test_nesting(void)
{
    NestData d = { .depth = 0, .max = 64 };

    qemu_coroutine_enter(qemu_coroutine_create(nest, &d));
    g_assert_cmpint(d.depth, ==, 64);
}

/* Ping-pong: two coroutines alternate through a shared log. */
typedef struct PingPong {
    GString *log;
    Coroutine *peer;
    char mark;
    int rounds;
} PingPong;

static void coroutine_fn pingpong(void *opaque)
{
    PingPong *p = opaque;
    int i;

    for (i = 0; i < p->rounds; i++) {
        g_string_append_c(p->log, p->mark);
        qemu_coroutine_yield();
    }
}

static void test_ping_pong(void)
{
    g_autoptr(GString) log = g_string_new(NULL);
    PingPong a = { .log = log, .mark = 'a', .rounds = 3 };
    PingPong b = { .log = log, .mark = 'b', .rounds = 3 };
    Coroutine *ca = qemu_coroutine_create(pingpong, &a);
    Coroutine *cb = qemu_coroutine_create(pingpong, &b);
    int i;

    for (i = 0; i < 4; i++) {
        qemu_coroutine_enter(ca);
        qemu_coroutine_enter(cb);
    }
    g_assert_cmpstr(log->str, ==, "ababab");
}

static void coroutine_fn noop(void *opaque)
{
}

static void test_pool_reuse(void)
{
    uint64_t before;
    int i;

    qemu_coroutine_enter(qemu_coroutine_create(noop, NULL));
    before = qemu_coroutine_stats_created();
    for (i = 0; i < 1000; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(noop, NULL));
    }
    /* terminated coroutines are recycled: no new stacks */
    g_assert_cmpuint(qemu_coroutine_stats_created(), ==, before);
}

/* CoMutex: waiters get the lock in arrival order. */
typedef struct MutexData {
    CoMutex mutex;
    GString *order;
    int inside;
} MutexData;

typedef struct MutexUser {
    MutexData *d;
    char id;
} MutexUser;

static void coroutine_fn mutex_user(void *opaque)
{
    MutexUser *u = opaque;

    qemu_co_mutex_lock(&u->d->mutex);
    g_assert_cmpint(u->d->inside, ==, 0);
    u->d->inside++;
    g_string_append_c(u->d->order, u->id);
    qemu_coroutine_yield();     /* hold the lock across a yield */
    u->d->inside--;
    qemu_co_mutex_unlock(&u->d->mutex);
}

static void test_co_mutex_fifo(void)
{
    MutexData d = { .order = g_string_new(NULL) };
    MutexUser users[5];
    Coroutine *cos[5];
    int i, round;

    qemu_co_mutex_init(&d.mutex);
    for (i = 0; i < 5; i++) {
        users[i].d = &d;
        users[i].id = 'A' + i;
        cos[i] = qemu_coroutine_create(mutex_user, &users[i]);
        qemu_coroutine_enter(cos[i]);
    }
    /* A holds the lock; B..E wait in order.  Resume the holder each round. */
    for (round = 0; round < 5; round++) {
        qemu_coroutine_enter(cos[round]);
    }
    g_assert_cmpstr(d.order->str, ==, "ABCDE");
    g_assert_false(d.mutex.locked);
    g_string_free(d.order, TRUE);
}

typedef struct QueueData {
    CoQueue queue;
    int woken;
} QueueData;

static void coroutine_fn queue_waiter(void *opaque)
{
    QueueData *d = opaque;

    qemu_co_queue_wait(&d->queue, NULL);
    d->woken++;
}

static void coroutine_fn queue_waker(void *opaque)
{
    QueueData *d = opaque;

    g_assert_true(qemu_co_queue_next(&d->queue));
    /* deferred: nobody runs until we yield or return */
    g_assert_cmpint(d->woken, ==, 0);
    qemu_co_queue_restart_all(&d->queue);
    g_assert_cmpint(d->woken, ==, 0);
}

static void test_co_queue(void)
{
    QueueData d = { .woken = 0 };
    int i;

    qemu_co_queue_init(&d.queue);
    for (i = 0; i < 3; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter, &d));
    }
    g_assert_false(qemu_co_queue_empty(&d.queue));
    qemu_coroutine_enter(qemu_coroutine_create(queue_waker, &d));
    g_assert_cmpint(d.woken, ==, 3);
    g_assert_true(qemu_co_queue_empty(&d.queue));
    g_assert_false(qemu_co_queue_next(&d.queue));
}

typedef struct WaiterData {
    CoWaiter w;
    int result;
    bool sync;
} WaiterData;

static void finish_from_bh(void *opaque)
{
    WaiterData *d = opaque;

    co_waiter_finish(&d->w, 42);
    /* finish only schedules: the coroutine has not run yet */
    g_assert_cmpint(d->result, ==, -1);
}

static void coroutine_fn waiter_co(void *opaque)
{
    WaiterData *d = opaque;

    co_waiter_init(&d->w);
    if (d->sync) {
        co_waiter_finish(&d->w, 7);     /* library completed immediately */
    } else {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), finish_from_bh, d);
    }
    d->result = co_waiter_wait(&d->w);
}

static void test_co_waiter(void)
{
    WaiterData d = { .result = -1 };

    aio_run_coroutine(waiter_co, &d);
    g_assert_cmpint(d.result, ==, 42);

    d.result = -1;
    d.sync = true;
    aio_run_coroutine(waiter_co, &d);
    g_assert_cmpint(d.result, ==, 7);
    /* nothing stays scheduled after a synchronous completion */
    g_assert_false(aio_poll(qemu_get_aio_context(), false));
}

static void coroutine_fn sleeper(void *opaque)
{
    int64_t *elapsed = opaque;
    int64_t t0 = get_clock_ns();

    qemu_co_sleep_ns(20 * 1000 * 1000);
    *elapsed = get_clock_ns() - t0;
}

static void test_co_sleep(void)
{
    int64_t elapsed = 0;

    aio_run_coroutine(sleeper, &elapsed);
    g_assert_cmpint(elapsed, >=, 20 * 1000 * 1000);
    g_assert_cmpint(elapsed, <, 2000 * 1000 * 1000LL);
}

static void coroutine_fn yield_loop(void *opaque)
{
    int n = *(int *)opaque;
    int i;

    for (i = 0; i < n; i++) {
        qemu_coroutine_yield();
    }
}

/* Micro-benchmark: reported with g_test_message, never asserted. */
static void test_switch_cost(void)
{
    int n = 1000000;
    Coroutine *co = qemu_coroutine_create(yield_loop, &n);
    int64_t t0 = get_clock_ns();
    int i;

    for (i = 0; i <= n; i++) {
        qemu_coroutine_enter(co);
    }
    /* two switches per enter/yield round trip */
    g_test_message("coroutine switch: %.1f ns",
                   (double)(get_clock_ns() - t0) / (2.0 * n));
    if (g_test_verbose()) {
        printf("coroutine switch: %.1f ns\n",
               (double)(get_clock_ns() - t0) / (2.0 * n));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/coroutine/enter-exit", test_enter_exit);
    g_test_add_func("/coroutine/yield", test_yield);
    g_test_add_func("/coroutine/nesting", test_nesting);
    g_test_add_func("/coroutine/ping-pong", test_ping_pong);
    g_test_add_func("/coroutine/pool-reuse", test_pool_reuse);
    g_test_add_func("/coroutine/co-mutex-fifo", test_co_mutex_fifo);
    g_test_add_func("/coroutine/co-queue", test_co_queue);
    g_test_add_func("/coroutine/co-waiter", test_co_waiter);
    g_test_add_func("/coroutine/co-sleep", test_co_sleep);
    g_test_add_func("/coroutine/switch-cost", test_switch_cost);
    return g_test_run();
}
