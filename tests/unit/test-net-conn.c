/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for block/net-conn.c, the network drivers' connection engine,
 * with a fake library: a connection is a pipe; sending a part writes a
 * byte, and the engine's watch on the read end services the "answer".
 * Covered: parts spread over the least busy connections, never more than
 * the depth on one; a killed connection's waiters move to the live ones,
 * and none left means no slot; the first error of a request wins; a
 * back-off stops the watch until the timer; failures printed once.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/net-conn.h"

#include <poll.h>

typedef struct FakePart {
    NetReq *req;
    int ret;                    /* what the "server" answers */
} FakePart;

typedef struct FakeConn {
    NetConn nc;
    int fds[2];                 /* [0] watched by the engine */
    GQueue answers;             /* FakePart *, oldest first */
    int sent;                   /* parts sent on this connection */
    int max_in_flight;
    int serviced;               /* service hook calls */
    int ticks;
    bool fail_service;          /* the next service kills the connection */
    bool backoff_next;          /* the next service backs off */
} FakeConn;

static FakeConn *fake(NetConn *nc)
{
    return container_of(nc, FakeConn, nc);
}

static int fake_get_fd(NetConn *nc)
{
    return fake(nc)->fds[0];
}

static int fake_which_events(NetConn *nc)
{
    return g_queue_is_empty(&fake(nc)->answers) ? 0 : POLLIN;
}

static void fake_service(NetConn *nc, int revents)
{
    FakeConn *c = fake(nc);
    FakePart *part;
    char b;

    c->serviced++;
    if (c->fail_service) {
        /* the library fails what it holds, as libnfs does */
        while ((part = g_queue_pop_head(&c->answers))) {
            net_conn_put(nc);
            net_req_fail(part->req, -EIO);
            net_req_put(part->req);
            g_free(part);
        }
        net_conn_kill(nc);
        return;
    }
    if (c->backoff_next) {
        c->backoff_next = false;
        net_conn_backoff(nc, 20 * 1000 * 1000);
        return;
    }
    if (!(revents & POLLIN)) {
        return;
    }
    g_assert_cmpint(read(c->fds[0], &b, 1), ==, 1);
    part = g_queue_pop_head(&c->answers);
    g_assert_nonnull(part);
    net_conn_put(nc);
    if (part->ret) {
        net_req_fail(part->req, part->ret);
    }
    net_req_put(part->req);
    g_free(part);
}

static void fake_tick(NetConn *nc)
{
    fake(nc)->ticks++;
    net_conn_update_events(nc);
}

static const NetConnOps fake_ops = {
    .get_fd = fake_get_fd,
    .which_events = fake_which_events,
    .service = fake_service,
    .tick = fake_tick,
};

typedef struct Fixture {
    NetPool pool;
    FakeConn conns[4];
    int nconns;
} Fixture;

static void fixture_init(Fixture *f, int nconns, int depth)
{
    int i;

    memset(f, 0, sizeof(*f));
    f->nconns = nconns;
    net_pool_init(&f->pool, qemu_get_aio_context(), depth);
    for (i = 0; i < nconns; i++) {
        FakeConn *c = &f->conns[i];

        net_pool_add(&f->pool, &c->nc, &fake_ops);
        g_assert_cmpint(pipe(c->fds), ==, 0);
        g_queue_init(&c->answers);
    }
}

static void fixture_destroy(Fixture *f)
{
    int i;

    for (i = 0; i < f->nconns; i++) {
        FakeConn *c = &f->conns[i];

        net_conn_close(&c->nc);
        close(c->fds[0]);
        close(c->fds[1]);
        g_queue_clear_full(&c->answers, g_free);
    }
    net_pool_destroy(&f->pool);
}

/* Send one part of @req on a free slot; false if no connection is left. */
static bool coroutine_fn fake_send(Fixture *f, NetReq *req, int ret)
{
    NetConn *nc = net_pool_co_get_slot(&f->pool);
    FakeConn *c;
    FakePart *part;

    if (!nc) {
        return false;
    }
    c = fake(nc);
    part = g_new0(FakePart, 1);
    part->req = req;
    part->ret = ret;
    net_req_get(req);
    net_conn_get(nc);
    g_assert_cmpint(nc->in_flight, <=, f->pool.depth);
    c->max_in_flight = MAX(c->max_in_flight, nc->in_flight);
    c->sent++;
    g_queue_push_tail(&c->answers, part);
    g_assert_cmpint(write(c->fds[1], "x", 1), ==, 1);
    net_conn_update_events(nc);
    return true;
}

typedef struct SendTest {
    Fixture *f;
    int nparts;
    int fail_part;              /* part answered -EIO, or -1 */
    int kill_after;             /* conns[0] dies after this many parts, or -1 */
    int sent;
    int ret;
} SendTest;

static void coroutine_fn send_test_co(void *opaque)
{
    SendTest *t = opaque;
    NetReq req;
    int i;

    net_req_init(&req);
    for (i = 0; i < t->nparts; i++) {
        if (i == t->kill_after) {
            /* its socket fails at the next answer, while we wait */
            t->f->conns[0].fail_service = true;
        }
        if (!fake_send(t->f, &req, i == t->fail_part ? -EIO - i : 0)) {
            net_req_fail(&req, -ENOTCONN);
            break;
        }
        t->sent++;
    }
    t->ret = net_req_wait(&req);
}

static void test_spread(void)
{
    Fixture f;
    SendTest t = { .f = &f, .nparts = 30, .fail_part = -1, .kill_after = -1 };
    int i;

    fixture_init(&f, 3, 2);
    aio_run_coroutine(send_test_co, &t);
    g_assert_cmpint(t.ret, ==, 0);
    g_assert_cmpint(t.sent, ==, 30);
    for (i = 0; i < 3; i++) {
        /* the least busy first: every connection took its share */
        g_assert_cmpint(f.conns[i].sent, >=, 8);
        g_assert_cmpint(f.conns[i].max_in_flight, ==, 2);
        g_assert_cmpint(f.conns[i].nc.in_flight, ==, 0);
    }
    fixture_destroy(&f);
}

static void test_first_error(void)
{
    Fixture f;
    SendTest t = { .f = &f, .nparts = 10, .fail_part = 3, .kill_after = -1 };

    fixture_init(&f, 2, 2);
    aio_run_coroutine(send_test_co, &t);
    g_assert_cmpint(t.ret, ==, -EIO - 3);
    g_assert_cmpint(t.sent, ==, 10);
    fixture_destroy(&f);
}

static void test_kill_moves_waiters(void)
{
    Fixture f;
    SendTest t = { .f = &f, .nparts = 20, .fail_part = -1, .kill_after = 5 };

    fixture_init(&f, 2, 1);
    aio_run_coroutine(send_test_co, &t);
    /* the parts the dead connection held failed; the rest went on */
    g_assert_cmpint(t.ret, ==, -EIO);
    g_assert_cmpint(t.sent, ==, 20);
    g_assert_true(f.conns[0].nc.dead);
    g_assert_cmpint(f.conns[0].nc.fd, ==, -1);
    g_assert_cmpint(f.conns[1].sent, >=, 15);
    g_assert_true(net_pool_pick(&f.pool) == &f.conns[1].nc);
    fixture_destroy(&f);
}

static void test_all_dead(void)
{
    Fixture f;
    SendTest t = { .f = &f, .nparts = 4, .fail_part = -1, .kill_after = -1 };

    fixture_init(&f, 2, 4);
    net_conn_kill(&f.conns[0].nc);
    net_conn_kill(&f.conns[1].nc);
    g_assert_null(net_pool_pick(&f.pool));
    aio_run_coroutine(send_test_co, &t);
    g_assert_cmpint(t.sent, ==, 0);
    g_assert_cmpint(t.ret, ==, -ENOTCONN);
    fixture_destroy(&f);
}

/* A connection still connecting takes no request until it is done. */
static void test_connecting(void)
{
    Fixture f;

    fixture_init(&f, 2, 4);
    f.conns[1].nc.connecting = true;
    net_conn_get(&f.conns[0].nc);
    net_conn_get(&f.conns[0].nc);
    /* the busier one, since the idle one is not ready */
    g_assert_true(net_pool_pick(&f.pool) == &f.conns[0].nc);
    net_conn_kill(&f.conns[0].nc);
    g_assert_null(net_pool_pick(&f.pool));
    f.conns[1].nc.connecting = false;
    g_assert_true(net_pool_pick(&f.pool) == &f.conns[1].nc);
    net_conn_put(&f.conns[0].nc);
    net_conn_put(&f.conns[0].nc);
    fixture_destroy(&f);
}

static void test_backoff(void)
{
    Fixture f;
    SendTest t = { .f = &f, .nparts = 3, .fail_part = -1, .kill_after = -1 };
    int64_t t0 = get_clock_ns();

    fixture_init(&f, 1, 4);
    /* the first service backs off: answers wait for the timer */
    f.conns[0].backoff_next = true;
    aio_run_coroutine(send_test_co, &t);
    g_assert_cmpint(t.ret, ==, 0);
    g_assert_cmpint(f.conns[0].ticks, ==, 1);
    g_assert_false(f.conns[0].nc.backoff);
    g_assert_cmpint(get_clock_ns() - t0, >=, 20 * 1000 * 1000);
    fixture_destroy(&f);
}

static void test_report_once(void)
{
    Fixture f;

    fixture_init(&f, 1, 1);
    net_pool_report(&f.pool, "net-conn test: %s", "same text");
    g_assert_cmpstr(f.pool.last_error, ==, "net-conn test: same text");
    net_pool_report(&f.pool, "net-conn test: %s", "same text");
    net_pool_report(&f.pool, "net-conn test: %s", "other text");
    g_assert_cmpstr(f.pool.last_error, ==, "net-conn test: other text");
    fixture_destroy(&f);
}

static void test_shrink_and_take(void)
{
    Fixture f;
    NetPool other;

    fixture_init(&f, 3, 1);
    net_conn_close(&f.conns[2].nc);
    net_pool_shrink(&f.pool, 2);
    g_assert_cmpint(f.pool.nconns, ==, 2);
    net_pool_init(&other, qemu_get_aio_context(), 1);
    net_pool_take_conns(&other, &f.pool);
    g_assert_cmpint(f.pool.nconns, ==, 0);
    g_assert_cmpint(other.nconns, ==, 2);
    g_assert_true(f.conns[0].nc.pool == &other);
    g_assert_true(net_pool_pick(&other) == &f.conns[0].nc);
    net_pool_take_conns(&f.pool, &other);
    f.nconns = 3;
    net_pool_destroy(&other);
    fixture_destroy(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/net-conn/spread", test_spread);
    g_test_add_func("/net-conn/first-error", test_first_error);
    g_test_add_func("/net-conn/kill-moves-waiters", test_kill_moves_waiters);
    g_test_add_func("/net-conn/all-dead", test_all_dead);
    g_test_add_func("/net-conn/connecting", test_connecting);
    g_test_add_func("/net-conn/backoff", test_backoff);
    g_test_add_func("/net-conn/report-once", test_report_once);
    g_test_add_func("/net-conn/shrink-and-take", test_shrink_and_take);
    return g_test_run();
}
