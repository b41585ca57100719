/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection engine of the network protocol drivers (nfs.c, iscsi.c;
 * nbd.c next): what is the same whatever the protocol.
 *
 * - NetConn: one connection, the socket of one library context (libnfs,
 *   libiscsi, libnbd).  The engine registers the socket with the AioContext
 *   for the events the library waits for, calls the driver's service hook
 *   when they come, and runs the connection's timer.  A connection is
 *   dead once the driver kills it: every later request on it fails.
 * - NetPool: the connections to one server, the slots (requests each may
 *   have in flight: the depth), the requests waiting for a slot, the least
 *   busy live connection chosen for the next one, and failures printed once
 *   per distinct text (a dying server fails many requests alike).
 * - NetReq: one request made of several parts (RPCs, commands) waited for by
 *   one coroutine: the library's callbacks count parts down and keep the
 *   first error; the last one schedules the coroutine, never enters it.
 * - The back-off between tries of a request the server was too busy for.
 *
 * The driver embeds NetConn in its connection and NetPool in its state
 * (names as in nfs.c and iscsi.c: s is the driver's state, c a connection),
 * and keeps its protocol: URL, options, open, create and the commands.
 * The engine never calls the driver but through NetConnOps.
 * Context: one AioContext, its thread.
 */
#ifndef BLOCK_NET_CONN_H
#define BLOCK_NET_CONN_H

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/co-slots.h"
#include "util/error.h"

typedef struct NetConn NetConn;
typedef struct NetPool NetPool;

/* How the engine drives a connection's library context. */
typedef struct NetConnOps {
    /* The library's socket now (it may change on reconnection), or -1. */
    int (*get_fd)(NetConn *c);
    /* POLLIN and/or POLLOUT: what the library waits for now. */
    int (*which_events)(NetConn *c);
    /*
     * Let the library work on @revents (0: only its timeouts).  It may
     * kill the connection or back off; otherwise the engine registers the
     * socket for what the library waits for next.
     */
    void (*service)(NetConn *c, int revents);
    /* The connection's timer fired; a back-off has ended. */
    void (*tick)(NetConn *c);
} NetConnOps;

struct NetConn {
    NetPool *pool;
    const NetConnOps *ops;
    int fd;                     /* registered with the AioContext, or -1 */
    int events;                 /* POLLIN/POLLOUT registered, -1 unknown */
    int in_flight;              /* requests sent, not yet answered */
    bool dead;                  /* killed: every new request fails */
    bool connecting;            /* watched, but takes no request yet */
    bool backoff;               /* socket not watched until the timer */
    QEMUTimer *tick;
};

struct NetPool {
    AioContext *ctx;
    NetConn **conns;
    int nconns;
    int depth;                  /* requests in flight per connection */
    CoSlotWaiters slot_waiters; /* requests waiting for a free slot */
    char *last_error;           /* printed once, not once per request */
};

/* ---- pool ---- */

void net_pool_init(NetPool *p, AioContext *ctx, int depth);
/* Add @c (zeroed or closed) to @p, driven by @ops; its timer is created. */
void net_pool_add(NetPool *p, NetConn *c, const NetConnOps *ops);
/* Move @from's connections (closed or not) into @to; @from has none after. */
void net_pool_take_conns(NetPool *to, NetPool *from);
/* Keep the first @n connections only (the driver closed the others). */
void net_pool_shrink(NetPool *p, int n);
/* Forget the connections (the driver closed them); free the rest. */
void net_pool_destroy(NetPool *p);
/*
 * The live connection with the fewest requests in flight, or NULL; one
 * still connecting is not live yet.
 */
NetConn *net_pool_pick(NetPool *p);
/*
 * The connection for the next request: the least busy live one, once it
 * has a free slot (waiting for one if all are at their depth).  NULL when
 * every connection is dead.  The caller takes the slot: net_conn_get().
 */
NetConn *coroutine_fn net_pool_co_get_slot(NetPool *p);
/* error_report() the text, unless it is the same as the last one. */
void net_pool_report(NetPool *p, const char *fmt, ...) QEMU_PRINTF(2, 3);

/* ---- connection ---- */

/* A request was sent on @c: it holds a slot. */
void net_conn_get(NetConn *c);
/* A request of @c was answered: its slot is free for a waiting request. */
void net_conn_put(NetConn *c);
/* Watch the socket for what the library waits for now. */
void net_conn_update_events(NetConn *c);
/* Service @c for @revents, then watch what comes next (see NetConnOps). */
void net_conn_service(NetConn *c, int revents);
/*
 * @c is dead: its socket no longer watched, requests waiting for a slot
 * look again (for another connection, or fail if none is left).
 */
void net_conn_kill(NetConn *c);
/* Stop watching the socket for @ns; the timer brings the driver back. */
void net_conn_backoff(NetConn *c, int64_t ns);
/* Run the timer in @ns unless it is already set. */
void net_conn_arm_tick(NetConn *c, int64_t ns);
/* Run the timer in @ns, whether or not it was set. */
void net_conn_set_tick(NetConn *c, int64_t ns);
/* Stop watching the socket and free the timer; the driver frees the rest. */
void net_conn_close(NetConn *c);

/* ---- requests ---- */

typedef struct NetReq {
    CoWaiter waiter;
    int pending;                /* parts outstanding, +1 while issuing */
    int ret;                    /* first error */
} NetReq;

/* A request with the issuer's reference, before any part is sent. */
void net_req_init(NetReq *req);
/* One more part in flight. */
void net_req_get(NetReq *req);
/* A part answered (after net_req_fail() if it failed). */
void net_req_put(NetReq *req);
/* The request fails with @err (a -errno) unless it failed already. */
void net_req_fail(NetReq *req, int err);
/* Drop the issuer's reference and wait for every part; the first error. */
int coroutine_fn net_req_wait(NetReq *req);

/* ---- options every network driver takes ---- */

/* The longest a request may wait for its answer, in seconds. */
#define NET_MAX_TIMEOUT_S 3600
/*
 * Check the engine's numbers, in the order the drivers name them: the
 * connections (@conns_key: "connections", "sessions") in [1, @max_conns],
 * "queue-depth" in [1, @max_depth], "timeout" at most NET_MAX_TIMEOUT_S.
 */
bool net_check_options(const char *conns_key, uint64_t conns, int max_conns,
                       uint64_t depth, int max_depth, uint64_t timeout,
                       Error **errp);

/* ---- retries ---- */

/* Sleep before try @tries + 1: 8 ms, 32 ms, 128 ms, ... */
void coroutine_fn net_co_retry_sleep(int tries);

#endif /* BLOCK_NET_CONN_H */
