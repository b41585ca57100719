/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network drivers' connection engine; see include/block/net-conn.h. */
#include "block/net-conn.h"
#include "block/block.h"
#include "util/error.h"

#include <poll.h>

/* ---- pool ---- */

void net_pool_init(NetPool *p, AioContext *ctx, int depth)
{
    *p = (NetPool) { .ctx = ctx, .depth = depth };
    co_slot_waiters_init(&p->slot_waiters, ctx);
}

static void net_conn_tick_cb(void *opaque)
{
    NetConn *c = opaque;

    c->backoff = false;
    c->ops->tick(c);
}

void net_pool_add(NetPool *p, NetConn *c, const NetConnOps *ops)
{
    *c = (NetConn) { .pool = p, .ops = ops, .fd = -1, .events = -1 };
    c->tick = aio_timer_new(p->ctx, net_conn_tick_cb, c);
    p->conns = g_renew(NetConn *, p->conns, p->nconns + 1);
    p->conns[p->nconns++] = c;
}

void net_pool_take_conns(NetPool *to, NetPool *from)
{
    int i;

    g_free(to->conns);
    to->conns = g_steal_pointer(&from->conns);
    to->nconns = from->nconns;
    from->nconns = 0;
    for (i = 0; i < to->nconns; i++) {
        to->conns[i]->pool = to;
    }
}

void net_pool_shrink(NetPool *p, int n)
{
    assert(n >= 0 && n <= p->nconns);
    p->nconns = n;
}

void net_pool_destroy(NetPool *p)
{
    g_free(p->conns);
    p->conns = NULL;
    p->nconns = 0;
    g_free(p->last_error);
    p->last_error = NULL;
    co_slot_waiters_destroy(&p->slot_waiters);
}

NetConn *net_pool_pick(NetPool *p)
{
    NetConn *best = NULL;
    int i;

    for (i = 0; i < p->nconns; i++) {
        NetConn *c = p->conns[i];

        if (!c->dead && !c->connecting &&
            (!best || c->in_flight < best->in_flight)) {
            best = c;
        }
    }
    return best;
}

NetConn *coroutine_fn net_pool_co_get_slot(NetPool *p)
{
    NetConn *c;

    while ((c = net_pool_pick(p)) && c->in_flight >= p->depth) {
        co_slot_waiters_wait(&p->slot_waiters);
    }
    return c;
}

void net_pool_report(NetPool *p, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (p->last_error && !strcmp(p->last_error, msg)) {
        return;
    }
    g_free(p->last_error);
    p->last_error = g_strdup(msg);
    bdrv_error_report("%s", msg);
}

/* ---- connection ---- */

void net_conn_get(NetConn *c)
{
    c->in_flight++;
}

void net_conn_put(NetConn *c)
{
    c->in_flight--;
    co_slot_waiters_wake(&c->pool->slot_waiters, 1);
}

static void net_conn_unwatch(NetConn *c)
{
    if (c->fd >= 0) {
        aio_set_fd_handler(c->pool->ctx, c->fd, NULL, NULL, NULL);
        c->fd = -1;
    }
    c->events = -1;
}

static void net_conn_readable(void *opaque)
{
    net_conn_service(opaque, POLLIN);
}

static void net_conn_writable(void *opaque)
{
    net_conn_service(opaque, POLLOUT);
}

void net_conn_update_events(NetConn *c)
{
    int fd, ev;

    if (c->dead || c->backoff) {
        return;
    }
    fd = c->ops->get_fd(c);
    ev = c->ops->which_events(c) & (POLLIN | POLLOUT);
    if (fd != c->fd) {
        net_conn_unwatch(c);
        c->fd = fd;
    }
    if (fd >= 0 && ev != c->events) {
        aio_set_fd_handler(c->pool->ctx, fd,
                           (ev & POLLIN) ? net_conn_readable : NULL,
                           (ev & POLLOUT) ? net_conn_writable : NULL, c);
        c->events = ev;
    }
}

void net_conn_service(NetConn *c, int revents)
{
    if (c->dead) {
        return;
    }
    c->ops->service(c, revents);
    net_conn_update_events(c);
}

void net_conn_kill(NetConn *c)
{
    c->dead = true;
    net_conn_unwatch(c);
    /* a large count wakes every waiter: each looks for a slot again */
    co_slot_waiters_wake(&c->pool->slot_waiters, INT_MAX);
}

void net_conn_backoff(NetConn *c, int64_t ns)
{
    net_conn_unwatch(c);
    c->backoff = true;
    net_conn_set_tick(c, ns);
}

void net_conn_arm_tick(NetConn *c, int64_t ns)
{
    if (!timer_pending(c->tick)) {
        net_conn_set_tick(c, ns);
    }
}

void net_conn_set_tick(NetConn *c, int64_t ns)
{
    timer_mod(c->tick, get_clock_ns() + ns);
}

void net_conn_close(NetConn *c)
{
    if (c->tick) {
        timer_del(c->tick);
        timer_free(c->tick);
        c->tick = NULL;
    }
    if (c->pool) {
        net_conn_unwatch(c);
    }
}

/* ---- requests ---- */

void net_req_init(NetReq *req)
{
    *req = (NetReq) { .pending = 1 };
    co_waiter_init(&req->waiter);
}

void net_req_get(NetReq *req)
{
    req->pending++;
}

void net_req_put(NetReq *req)
{
    if (--req->pending == 0) {
        co_waiter_finish(&req->waiter, req->ret);
    }
}

void net_req_fail(NetReq *req, int err)
{
    if (req->ret == 0) {
        req->ret = err;
    }
}

int coroutine_fn net_req_wait(NetReq *req)
{
    net_req_put(req);           /* the issuer's reference */
    return co_waiter_wait(&req->waiter);
}

/* ---- options ---- */

static bool net_check_range(const char *name, uint64_t val, int max,
                            Error **errp)
{
    if (val < 1 || val > (uint64_t)max) {
        error_setg(errp, "Parameter '%s' must be between 1 and %d", name,
                   max);
        return false;
    }
    return true;
}

bool net_check_options(const char *conns_key, uint64_t conns, int max_conns,
                       uint64_t depth, int max_depth, uint64_t timeout,
                       Error **errp)
{
    if (!net_check_range(conns_key, conns, max_conns, errp) ||
        !net_check_range("queue-depth", depth, max_depth, errp)) {
        return false;
    }
    if (timeout > NET_MAX_TIMEOUT_S) {
        error_setg(errp, "Parameter 'timeout' must be at most %d seconds",
                   NET_MAX_TIMEOUT_S);
        return false;
    }
    return true;
}

/* ---- retries ---- */

void coroutine_fn net_co_retry_sleep(int tries)
{
    qemu_co_sleep_ns((8LL << (2 * tries)) * 1000 * 1000);
}
