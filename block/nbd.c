/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "nbd" protocol: an export of an NBD server, reached with libnbd's
 * asynchronous API.
 *
 * Each connection is one libnbd handle (its own socket and handshake),
 * driven by the connection engine (block/net-conn.h): its socket watched
 * for the direction libnbd wants, the handle told when the socket is ready;
 * libnbd's callbacks only record results and schedule the waiting
 * coroutine, never enter it.
 *
 * Where the server allows it (CAN_MULTI_CONN), several connections: a
 * request is cut into commands of the server's maximum payload, spread
 * over the connections (the least busy first), at most queue-depth in
 * flight on each; the request completes when the last one answers.  A
 * flush on any one connection covers the writes answered on all (the NBD
 * spec's promise with CAN_MULTI_CONN).  Without it, one connection, as
 * QEMU 7.2.
 *
 * A connection whose socket fails is dead: libnbd fails its commands, and
 * later requests go to the others, or fail when none is left.  A command
 * unanswered for "timeout" seconds kills its connection the same way, so
 * a server that hangs ends a copy with an error, not a hang.
 *
 * reconnect-delay (7.2's): when the last connection is lost, requests
 * that fail for it, and those that come after, wait up to that many
 * seconds from the loss while the client connects again; on success they
 * are sent again (whole: a request is idempotent), after it they fail at
 * once.  The attempts are made by the waiting requests themselves (one
 * at a time, backing off), so nothing runs in the background that a
 * close would have to stop: a request still waiting holds the close off,
 * as any request does.  A server that comes back with another size is
 * not used.
 *
 * Block status: the meta context base:allocation (or x-dirty-bitmap's,
 * read as 7.2 reads it), asked for a range and its extents kept: a copy
 * asks the server once per range, not once per extent.
 *
 * Names and options: nbd-opts.c.  Files, each calling only those below it:
 * nbd.c (this driver), then nbd-opts.c and net-conn.c.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/error.h"
#include "block/net-conn.h"
#include "block/nbd-opts.h"

#include <poll.h>
#include <sys/socket.h>
#include <libnbd.h>

/* NBD_STATE_HOLE / NBD_STATE_ZERO of base:allocation */
#define NBD_EXTENT_HOLE         1u
#define NBD_EXTENT_ZERO         2u
/* The most one read or write carries, whatever the server says (7.2's). */
#define NBD_MAX_PAYLOAD         (32 * 1024 * 1024)
/* The most one zero, trim or block status command covers. */
#define NBD_MAX_RANGE           (1024 * 1024 * 1024)
/* Reconnection: the pause between tries, doubled up to the most. */
#define NBD_RECONNECT_PAUSE_NS  (250 * 1000 * 1000LL)
#define NBD_RECONNECT_MAX_NS    (2 * 1000 * 1000 * 1000LL)
/* ... the longest one handshake may take, and after reconnect-delay
 * has run out, the least time between two tries by later requests. */
#define NBD_RECONNECT_HANDSHAKE_NS  (5 * 1000 * 1000 * 1000LL)
#define NBD_RECONNECT_AFTER_NS  (1000 * 1000 * 1000LL)
/* How often a connection with commands out checks for its timeout. */
#define NBD_TICK_NS             (500 * 1000 * 1000LL)
/*
 * Connections beyond the first finish their handshake within this long
 * or are given up (a server may take fewer clients than it says it can
 * share with: qemu-nbd -e 2 leaves a third in its listen queue).
 */
#define NBD_EXTRA_CONNECT_NS    (1000 * 1000 * 1000LL)

typedef struct NBDClient NBDClient;

/* One connection: a libnbd handle. */
typedef struct NBDConn {
    NetConn nc;                 /* the engine's part: socket, slots, timer */
    struct nbd_handle *h;
    NetReq *connecting;         /* the open waiting for the handshake */
    int64_t deadline_ns;        /* handshake or oldest command: then dead */
    char *error;                /* why the handshake failed */
    int error_errno;
    bool quiet;                 /* its end was reported already */
    bool ready;                 /* its handshake succeeded */
} NBDConn;

/* An extent of the last block status answer: up to @end, @flags. */
typedef struct NBDExtent {
    int64_t end;
    uint32_t flags;
} NBDExtent;

struct NBDClient {
    NetPool pool;
    NBDConn *conns;             /* pool.nconns of them */
    BlockDriverState *bs;
    NBDOptions opts;            /* kept to connect again */
    char *url;                  /* the canonical name */
    char *server;               /* its address, for messages */
    int64_t size;
    int64_t timeout_ns;
    bool read_only, can_flush, can_fua, can_trim, can_zero, can_fast_zero;
    bool multi_conn;
    bool base_allocation;       /* block status from the meta context */
    bool alloc_depth;           /* ... which is qemu:allocation-depth */
    uint32_t min_block, opt_block, max_payload;
    /* block status: the last answer's extents, from ext_start */
    int64_t ext_start;
    GArray *extents;            /* of NBDExtent, ends increasing */
    uint64_t ext_gen;           /* write_gen when it was asked */
    uint64_t write_gen;         /* our writes, zeroes and trims so far */
    uint64_t flushed_gen;       /* write_gen the last flush covered */
    /* reconnection */
    int64_t reconnect_ns;       /* reconnect-delay; 0: never */
    uint64_t losses;            /* connections lost so far */
    int64_t lost_ns;            /* when the last live one went, or 0 */
    int64_t last_try_ns;        /* the last reconnection try */
    CoMutex reconnect_lock;     /* one request tries at a time */
};

/* One command of a request (NetReq: several, one waiting coroutine). */
typedef struct NBDCmd {
    NetReq *req;
    NBDConn *conn;
    /* data: where in the request; block status: the range asked */
    int64_t offset, bytes;
    uint8_t *bounce;            /* data across buffers of the request */
    GArray *extents;
    bool alloc_depth;
} NBDCmd;

static NBDConn *nbd_conn(NetConn *nc)
{
    return container_of(nc, NBDConn, nc);
}

static NBDClient *nbd_client(NBDConn *c)
{
    return container_of(c->nc.pool, NBDClient, pool);
}

static int64_t nbd_now(void)
{
    return get_clock_ns();
}

/* @ns from now; 0 (none) when @ns is 0 */
static int64_t nbd_deadline(int64_t ns)
{
    return ns ? nbd_now() + ns : 0;
}

/* ---- the engine's hooks ---- */

static int nbd_conn_get_fd(NetConn *nc)
{
    return nbd_aio_get_fd(nbd_conn(nc)->h);
}

static int nbd_conn_which_events(NetConn *nc)
{
    unsigned dir = nbd_aio_get_direction(nbd_conn(nc)->h);

    return (dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
           (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0);
}

/* The handle is dead or closed: so is the connection; a handshake ends. */
static void nbd_conn_check(NBDConn *c, const char *why, int err)
{
    NBDClient *s = nbd_client(c);

    if (c->connecting && !nbd_aio_is_connecting(c->h)) {
        NetReq *req = g_steal_pointer(&c->connecting);

        c->nc.connecting = false;
        c->ready = nbd_aio_is_ready(c->h);
        if (!c->ready) {
            c->error = g_strdup(why ? why : "connection closed");
            c->error_errno = err ? err : EIO;
            net_req_fail(req, -c->error_errno);
        }
        net_req_put(req);
    }
    if ((nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)) && !c->nc.dead) {
        if (!c->error && !c->quiet && !s->reconnect_ns) {
            /* one line however many connections and commands it takes */
            net_pool_report(&s->pool, "NBD server '%s': connection lost",
                            s->server);
        }
        net_conn_kill(&c->nc);
        if (c->ready) {
            c->ready = false;
            s->losses++;
            if (!net_pool_pick(&s->pool) && !s->lost_ns) {
                s->lost_ns = nbd_now();
            }
        }
    }
}

static void nbd_conn_service(NetConn *nc, int revents)
{
    NBDConn *c = nbd_conn(nc);
    const char *why = NULL;
    int r = 0, err = 0;

    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        r = nbd_aio_notify_read(c->h);
    }
    if (r == 0 && (revents & POLLOUT) && !nbd_aio_is_dead(c->h)) {
        r = nbd_aio_notify_write(c->h);
    }
    if (r < 0) {
        why = nbd_get_error();
        err = nbd_get_errno();
        /* "nbd_aio_notify_read: handshake: ...": the function is noise */
        if (why && g_str_has_prefix(why, "nbd_aio_notify_") &&
            strchr(why, ' ')) {
            why = strchr(why, ' ') + 1;
        }
    }
    nbd_conn_check(c, why, err);
}

/*
 * Give up on @c: its socket shut, libnbd sees the end of the stream and
 * fails what is in flight; the connection is dead.
 */
static void nbd_conn_abort(NBDConn *c, const char *why)
{
    int fd = nbd_aio_get_fd(c->h);

    if (!c->connecting) {
        NBDClient *s = nbd_client(c);

        net_pool_report(&s->pool, "NBD server '%s': no reply within %" PRId64
                        " seconds", s->server, s->timeout_ns / (int64_t)1000000000);
        c->quiet = true;
    }
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
    nbd_aio_notify_read(c->h);  /* libnbd sees the end: dead, or not */
    nbd_conn_check(c, why, ETIMEDOUT);
    if (!c->nc.dead) {
        net_conn_kill(&c->nc);
    }
}

/* The timer: a handshake or a command that took too long kills @c. */
static void nbd_conn_tick(NetConn *nc)
{
    NBDConn *c = nbd_conn(nc);

    if (nc->dead || !c->deadline_ns) {
        return;
    }
    if (!c->connecting && nc->in_flight == 0) {
        c->deadline_ns = 0;
        return;
    }
    if (nbd_now() >= c->deadline_ns) {
        nbd_conn_abort(c, c->connecting ? "handshake timed out"
                                         : "request timed out");
        return;
    }
    net_conn_set_tick(nc, NBD_TICK_NS);
}

static const NetConnOps nbd_conn_ops = {
    .get_fd = nbd_conn_get_fd,
    .which_events = nbd_conn_which_events,
    .service = nbd_conn_service,
    .tick = nbd_conn_tick,
};

/* ---- completion ---- */

/* A lost connection is an I/O error to the block layer, as in 7.2. */
static int nbd_errno(int err)
{
    switch (err) {
    case ENOTCONN:
    case ESHUTDOWN:
    case ECONNRESET:
    case EPIPE:
    case ETIMEDOUT:
        return -EIO;
    default:
        return -err;
    }
}

static int nbd_cmd_cb(void *opaque, int *error)
{
    NBDCmd *cmd = opaque;
    NBDConn *c = cmd->conn;

    net_conn_put(&c->nc);
    if (c->nc.in_flight > 0 && c->deadline_ns) {
        c->deadline_ns = nbd_deadline(nbd_client(c)->timeout_ns);
    }
    if (*error) {
        net_req_fail(cmd->req, nbd_errno(*error));
    }
    net_req_put(cmd->req);
    return 1;                   /* retire the command */
}

/* Block status: keep the extents of the one context asked for. */
static int nbd_extent_cb(void *opaque, const char *context, uint64_t offset,
                         uint32_t *entries, size_t nr_entries, int *error)
{
    NBDCmd *cmd = opaque;
    int64_t pos = cmd->offset, end = cmd->offset + cmd->bytes;
    size_t i;

    if (cmd->extents->len || offset != (uint64_t)cmd->offset) {
        return 0;               /* a second reply or context: 7.2 ignores */
    }
    for (i = 0; i + 1 < nr_entries * 2 && pos < end; i += 2) {
        NBDExtent e = { .flags = entries[i + 1] };

        if (!entries[i]) {
            break;              /* malformed: what came before stands */
        }
        e.end = MIN(end, pos + (int64_t)entries[i]);
        if (cmd->alloc_depth && e.flags > NBD_EXTENT_ZERO) {
            e.flags = NBD_EXTENT_ZERO;  /* depth > 2 is 2, as 7.2 */
        }
        g_array_append_val(cmd->extents, e);
        pos = e.end;
    }
    return 0;
}

/* ---- issuing ---- */

static bool coroutine_fn nbd_co_retry(NBDClient *s, uint64_t losses,
                                      int ret);

enum {
    NBD_OP_READ,
    NBD_OP_WRITE,
    NBD_OP_ZERO,
    NBD_OP_TRIM,
    NBD_OP_FLUSH,
    NBD_OP_STATUS,
};

static int64_t nbd_send(NBDConn *c, NBDCmd *cmd, int op, void *buf,
                        uint64_t offset, uint64_t bytes, uint32_t flags)
{
    nbd_completion_callback cb = { .callback = nbd_cmd_cb, .user_data = cmd };

    switch (op) {
    case NBD_OP_READ:
        return nbd_aio_pread(c->h, buf, bytes, offset, cb, 0);
    case NBD_OP_WRITE:
        return nbd_aio_pwrite(c->h, buf, bytes, offset, cb, flags);
    case NBD_OP_ZERO:
        return nbd_aio_zero(c->h, bytes, offset, cb, flags);
    case NBD_OP_TRIM:
        return nbd_aio_trim(c->h, bytes, offset, cb, flags);
    case NBD_OP_FLUSH:
        return nbd_aio_flush(c->h, cb, 0);
    default: {
        nbd_extent_callback ecb = { .callback = nbd_extent_cb,
                                    .user_data = cmd };
        return nbd_aio_block_status(c->h, bytes, offset, ecb, cb, 0);
    }
    }
}

/*
 * Send one command on a connection with a free slot (waiting for one);
 * @cmd (zeroed but for the block status fields) lives until @req is
 * waited for.  False: none sent, @req failed.
 */
static bool coroutine_fn nbd_co_send(NBDClient *s, NetReq *req, NBDCmd *cmd,
                                     int op, void *buf, uint64_t offset,
                                     uint64_t bytes, uint32_t flags)
{
    NetConn *nc = net_pool_co_get_slot(&s->pool);
    NBDConn *c;

    if (!nc) {
        net_req_fail(req, -EIO);
        if (!s->reconnect_ns) {
            net_pool_report(&s->pool, "NBD server '%s': connection lost",
                            s->server);
        }
        return false;
    }
    c = nbd_conn(nc);
    cmd->req = req;
    cmd->conn = c;
    if (nc->in_flight == 0 && s->timeout_ns) {
        c->deadline_ns = nbd_deadline(s->timeout_ns);
        net_conn_arm_tick(nc, NBD_TICK_NS);
    }
    net_req_get(req);
    net_conn_get(nc);
    if (nbd_send(c, cmd, op, buf, offset, bytes, flags) < 0) {
        int err = nbd_get_errno();

        net_pool_report(&s->pool, "NBD server '%s': %s", s->server,
                        nbd_get_error());
        net_conn_put(nc);
        net_req_put(req);
        net_req_fail(req, nbd_errno(err ? err : EIO));
        nbd_conn_check(c, NULL, 0);
        return false;
    }
    /*
     * libnbd sends at once: a socket that broke doing so killed the
     * handle, and the callbacks of what was in flight have run already.
     */
    nbd_conn_check(c, NULL, 0);
    net_conn_update_events(nc);
    return true;
}

/*
 * The next command of a data request at @pos of @qiov (aligned to the
 * server's minimum block, as io.c aligns requests): up to max_payload
 * bytes within one buffer of @qiov, cut to a multiple of the minimum
 * block; where less than one minimum block is left in the buffer, one
 * minimum block through a bounce buffer (*bounce set).  Its length.
 */
static int64_t nbd_data_piece(NBDClient *s, QEMUIOVector *qiov, int64_t pos,
                              int64_t bytes, uint8_t **ptr, bool *bounce)
{
    int64_t left = MIN(bytes - pos, (int64_t)s->max_payload);
    size_t off = pos;
    int i;

    for (i = 0; off >= qiov->iov[i].iov_len; i++) {
        off -= qiov->iov[i].iov_len;
    }
    *ptr = (uint8_t *)qiov->iov[i].iov_base + off;
    *bounce = false;
    if ((int64_t)(qiov->iov[i].iov_len - off) >= left) {
        return left;
    }
    left = (qiov->iov[i].iov_len - off) / s->min_block * s->min_block;
    if (left > 0) {
        return left;
    }
    *bounce = true;
    return MIN(bytes - pos, (int64_t)s->min_block);
}

/*
 * Data: @bytes at @offset from or into @qiov, as commands of at most
 * max_payload bytes (nbd_data_piece()), all in flight at once over the
 * connections; waits for the last answer.
 */
static int coroutine_fn nbd_co_data_once(NBDClient *s, int op,
                                         int64_t offset, int64_t bytes,
                                         QEMUIOVector *qiov, uint32_t flags)
{
    g_autofree NBDCmd *cmds = NULL;
    size_t n = 0, k;
    int64_t pos, len;
    uint8_t *ptr;
    bool bounce;
    NetReq req;
    int ret;

    for (pos = 0; pos < bytes; pos += len, n++) {
        len = nbd_data_piece(s, qiov, pos, bytes, &ptr, &bounce);
    }
    cmds = g_new0(NBDCmd, MAX(n, 1));
    net_req_init(&req);
    for (pos = 0, k = 0; pos < bytes && req.ret == 0; pos += len, k++) {
        len = nbd_data_piece(s, qiov, pos, bytes, &ptr, &bounce);
        cmds[k].offset = pos;
        cmds[k].bytes = len;
        if (bounce) {
            ptr = cmds[k].bounce = g_malloc(len);
            if (op == NBD_OP_WRITE) {
                qemu_iovec_to_buf(qiov, pos, ptr, len);
            }
        }
        if (!nbd_co_send(s, &req, &cmds[k], op, ptr, offset + pos, len,
                         flags)) {
            break;
        }
    }
    ret = net_req_wait(&req);
    for (k = 0; k < n; k++) {
        if (cmds[k].bounce && ret == 0 && op == NBD_OP_READ) {
            qemu_iovec_from_buf(qiov, cmds[k].offset, cmds[k].bounce,
                                cmds[k].bytes);
        }
        g_free(cmds[k].bounce);
    }
    return ret;
}

/* ... sent again while a lost connection comes back (reconnect-delay) */
static int coroutine_fn nbd_co_data(NBDClient *s, int op, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    uint32_t flags)
{
    uint64_t losses;
    int ret;

    do {
        losses = s->losses;
        ret = nbd_co_data_once(s, op, offset, bytes, qiov, flags);
    } while (ret < 0 && nbd_co_retry(s, losses, ret));
    return ret;
}

/* Zero, trim: @bytes at @offset in commands of NBD_MAX_RANGE. */
static int coroutine_fn nbd_co_range_once(NBDClient *s, int op,
                                          int64_t offset, int64_t bytes,
                                          uint32_t flags)
{
    size_t n = DIV_ROUND_UP(bytes, NBD_MAX_RANGE), k;
    g_autofree NBDCmd *cmds = g_new0(NBDCmd, MAX(n, 1));
    NetReq req;

    net_req_init(&req);
    for (k = 0; k < n && req.ret == 0; k++) {
        int64_t start = (int64_t)k * NBD_MAX_RANGE;

        if (!nbd_co_send(s, &req, &cmds[k], op, NULL, offset + start,
                         MIN(bytes - start, NBD_MAX_RANGE), flags)) {
            break;
        }
    }
    return net_req_wait(&req);
}

static int coroutine_fn nbd_co_range(NBDClient *s, int op, int64_t offset,
                                     int64_t bytes, uint32_t flags)
{
    uint64_t losses;
    int ret;

    do {
        losses = s->losses;
        ret = nbd_co_range_once(s, op, offset, bytes, flags);
    } while (ret < 0 && nbd_co_retry(s, losses, ret));
    return ret;
}

static int coroutine_fn nbd_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    return nbd_co_data(bs->opaque, NBD_OP_READ, offset, bytes, qiov, 0);
}

static int coroutine_fn nbd_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    NBDClient *s = bs->opaque;

    s->write_gen++;
    return nbd_co_data(s, NBD_OP_WRITE, offset, bytes, qiov,
                       (flags & BDRV_REQ_FUA) ? LIBNBD_CMD_FLAG_FUA : 0);
}

static int coroutine_fn nbd_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    NBDClient *s = bs->opaque;
    uint32_t f = 0;

    if (!s->can_zero) {
        return -ENOTSUP;
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        if (!s->can_fast_zero) {
            return -ENOTSUP;
        }
        f |= LIBNBD_CMD_FLAG_FAST_ZERO;
    }
    if (flags & BDRV_REQ_FUA) {
        f |= LIBNBD_CMD_FLAG_FUA;
    }
    if (!(flags & BDRV_REQ_MAY_UNMAP)) {
        f |= LIBNBD_CMD_FLAG_NO_HOLE;
    }
    s->write_gen++;
    return nbd_co_range(s, NBD_OP_ZERO, offset, bytes, f);
}

static int coroutine_fn nbd_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    NBDClient *s = bs->opaque;

    if (!s->can_trim) {
        return 0;               /* a hint the server does not take, as 7.2 */
    }
    s->write_gen++;
    return nbd_co_range(s, NBD_OP_TRIM, offset, bytes, 0);
}

/*
 * One flush covers every write answered before it on every connection
 * when the server has CAN_MULTI_CONN; without it there is one connection.
 * As in 7.2 it is the driver's flush to the OS: cache=unsafe (convert's
 * default) flushes an export too.  Nothing written since the last: none.
 */
static int coroutine_fn nbd_co_flush(BlockDriverState *bs)
{
    NBDClient *s = bs->opaque;
    uint64_t gen = s->write_gen;
    uint64_t losses;
    int ret;

    if (!s->can_flush || gen == s->flushed_gen) {
        return 0;
    }
    do {
        NBDCmd cmd = { 0 };
        NetReq req;

        losses = s->losses;
        net_req_init(&req);
        nbd_co_send(s, &req, &cmd, NBD_OP_FLUSH, NULL, 0, 0, 0);
        ret = net_req_wait(&req);
    } while (ret < 0 && nbd_co_retry(s, losses, ret));
    if (ret == 0) {
        s->flushed_gen = gen;
    }
    return ret;
}

/* The cached answer for @offset, or NULL. */
static const NBDExtent *nbd_extent_find(NBDClient *s, int64_t offset)
{
    guint lo = 0, hi;

    if (!s->extents || s->ext_gen != s->write_gen || offset < s->ext_start) {
        return NULL;
    }
    hi = s->extents->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (g_array_index(s->extents, NBDExtent, mid).end <= offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->extents->len ? &g_array_index(s->extents, NBDExtent, lo)
                                : NULL;
}

static int coroutine_fn nbd_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    NBDClient *s = bs->opaque;
    const NBDExtent *e;

    *map = offset;
    *file = bs;
    *pnum = bytes;
    if (!s->base_allocation) {
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    if (offset >= s->size) {
        /* past the server's size (the block layer rounded it up) */
        return BDRV_BLOCK_ZERO;
    }
    e = nbd_extent_find(s, offset);
    if (!e) {
        g_autoptr(GArray) extents = g_array_new(false, false,
                                                sizeof(NBDExtent));
        uint64_t gen = s->write_gen;
        NBDCmd cmd = {
            .offset = offset,
            .bytes = MIN(s->size - offset,
                         MAX(bytes, NBD_MAX_RANGE) / s->min_block *
                         s->min_block),
            .extents = extents,
            .alloc_depth = s->alloc_depth,
        };
        NetReq req;
        uint64_t losses;
        int ret;

        cmd.bytes = MIN(cmd.bytes, NBD_MAX_RANGE);
        do {
            losses = s->losses;
            g_array_set_size(extents, 0);
            net_req_init(&req);
            nbd_co_send(s, &req, &cmd, NBD_OP_STATUS, NULL, offset,
                        cmd.bytes, 0);
            ret = net_req_wait(&req);
        } while (ret < 0 && nbd_co_retry(s, losses, ret));
        if (ret < 0) {
            return ret;
        }
        if (!extents->len) {
            bdrv_error_report("NBD server '%s': Server did not reply with "
                              "any status extents", s->server);
            return -EIO;
        }
        if (s->extents) {
            g_array_unref(s->extents);
        }
        s->extents = g_steal_pointer(&extents);
        s->ext_start = offset;
        /* kept only if none of our writes ended while the question was out */
        s->ext_gen = gen == s->write_gen ? gen : gen - 1;
        e = &g_array_index(s->extents, NBDExtent, 0);
    }
    *pnum = MIN(bytes, e->end - offset);
    return (e->flags & NBD_EXTENT_HOLE ? 0 : BDRV_BLOCK_DATA) |
           (e->flags & NBD_EXTENT_ZERO ? BDRV_BLOCK_ZERO : 0) |
           BDRV_BLOCK_OFFSET_VALID;
}

/* NBD cannot resize: the same size, or smaller when not exact, is fine. */
static int coroutine_fn nbd_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    NBDClient *s = bs->opaque;

    if (offset != s->size && exact) {
        error_setg(errp, "Cannot resize NBD nodes");
        return -ENOTSUP;
    }
    if (offset > s->size) {
        error_setg(errp, "Cannot grow NBD nodes");
        return -EINVAL;
    }
    return 0;
}

static int64_t coroutine_fn nbd_co_getlength(BlockDriverState *bs)
{
    return ((NBDClient *)bs->opaque)->size;
}

static int64_t coroutine_fn nbd_co_get_allocated_file_size(
    BlockDriverState *bs)
{
    return -ENOTSUP;
}

/* As 7.2: the server's minimum block, else 1 where that is safe. */
static void nbd_refresh_limits(BlockDriverState *bs)
{
    NBDClient *s = bs->opaque;

    bs->bl.request_alignment = s->min_block;
    /* big requests are cut into commands of max_payload here */
    bs->bl.max_transfer = 0;
    bs->bl.max_pwrite_zeroes = 0;
    bs->bl.max_pdiscard = 0;
    if (s->opt_block > bs->bl.opt_transfer) {
        bs->bl.opt_transfer = s->opt_block;
    }
}

/* ---- connecting ---- */

/* A fresh handle for @c, connecting; false with @c->error set if not. */
static bool nbd_conn_start(NBDConn *c, const NBDOptions *o, NetReq *req)
{
    const char *context = o->x_dirty_bitmap ? o->x_dirty_bitmap
                                            : "base:allocation";
    int r;

    g_clear_pointer(&c->error, g_free);
    c->h = nbd_create();
    if (!c->h ||
        nbd_set_export_name(c->h, o->export ? o->export : "") < 0 ||
        nbd_add_meta_context(c->h, context) < 0 ||
        nbd_set_pread_initialize(c->h, false) < 0) {
        c->error = g_strdup(nbd_get_error());
        c->error_errno = nbd_get_errno() ? nbd_get_errno() : ENOMEM;
        return false;
    }
    if (o->is_unix) {
        r = nbd_aio_connect_unix(c->h, o->path);
    } else {
        r = nbd_aio_connect_tcp(c->h, o->host, o->port);
    }
    if (r < 0) {
        c->error = g_strdup(nbd_get_error());
        c->error_errno = nbd_get_errno() ? nbd_get_errno() : EIO;
        return false;
    }
    c->nc.dead = false;
    c->nc.connecting = true;
    c->quiet = false;
    c->connecting = req;
    net_req_get(req);
    net_conn_update_events(&c->nc);
    return true;
}

static void nbd_conn_close(NBDConn *c)
{
    net_conn_close(&c->nc);
    if (c->h) {
        if (nbd_aio_is_ready(c->h)) {
            /* NBD_CMD_DISC: the server may stop at once, without a reply */
            nbd_aio_disconnect(c->h, 0);
        }
        nbd_close(c->h);
        c->h = NULL;
    }
    g_clear_pointer(&c->error, g_free);
}

/* Connect @n connections from @c at once; the first error in @errp. */
static bool coroutine_fn nbd_co_connect(NBDClient *s, NBDConn *c, int n,
                                        const NBDOptions *o,
                                        int64_t deadline_ns)
{
    NetReq req;
    int i;

    net_req_init(&req);
    for (i = 0; i < n; i++) {
        if (!nbd_conn_start(&c[i], o, &req)) {
            net_conn_kill(&c[i].nc);
            continue;
        }
        c[i].deadline_ns = deadline_ns;
        if (deadline_ns) {
            net_conn_set_tick(&c[i].nc, NBD_TICK_NS);
        }
    }
    net_req_wait(&req);
    for (i = 0; i < n; i++) {
        c[i].deadline_ns = 0;
    }
    for (i = 0; i < n; i++) {
        if (c[i].error) {
            return false;
        }
    }
    return true;
}

/* 7.2's words for why the first connection failed. */
static void nbd_connect_error(NBDClient *s, NBDConn *c, Error **errp)
{
    const char *msg = c->error ? c->error : "connection failed";

    if (c->error_errno == ENOENT && strstr(msg, "export")) {
        error_setg(errp, "Requested export not available");
    } else if (strstr(msg, "connect:") || strstr(msg, "connect_")) {
        error_setg(errp, "Failed to connect to '%s': %s", s->server,
                   g_strerror(c->error_errno));
    } else {
        error_setg(errp, "Failed to negotiate with NBD server '%s': %s",
                   s->server, msg);
    }
}

/*
 * The first connection, tried again until @o's open-timeout where one is
 * given (7.2's open-timeout).
 */
static bool coroutine_fn nbd_co_connect_first(NBDClient *s,
                                              const NBDOptions *o,
                                              Error **errp)
{
    int64_t end = nbd_now() + (int64_t)o->open_timeout * 1000000000LL;
    NBDConn *c = &s->conns[0];

    for (;;) {
        if (nbd_co_connect(s, c, 1, o, nbd_deadline(s->timeout_ns))) {
            return true;
        }
        if (!o->open_timeout || nbd_now() >= end) {
            nbd_connect_error(s, c, errp);
            return false;
        }
        nbd_close(g_steal_pointer(&c->h));
        qemu_co_sleep_ns(MIN(100 * 1000 * 1000LL, end - nbd_now()));
    }
}

/* ---- connecting again (reconnect-delay) ---- */

/*
 * Connect every dead connection again, each handshake ending by
 * @deadline_ns; true when one is live.  A server that comes back with
 * another size is not the export we had: such a connection is dropped.
 */
static bool coroutine_fn nbd_co_reconnect(NBDClient *s, int64_t deadline_ns)
{
    bool any = false;
    int i;

    for (i = 0; i < s->pool.nconns; i++) {
        NBDConn *c = &s->conns[i];

        if (!c->nc.dead) {
            continue;
        }
        if (c->h) {
            nbd_close(c->h);    /* dead: its socket is no longer watched */
            c->h = NULL;
        }
        if (!nbd_co_connect(s, c, 1, &s->opts, deadline_ns)) {
            continue;
        }
        if (nbd_get_size(c->h) != s->size) {
            net_pool_report(&s->pool, "NBD server '%s': the export's size "
                            "changed across a reconnection", s->server);
            c->ready = false;
            c->quiet = true;
            net_conn_kill(&c->nc);
            continue;
        }
        any = true;
    }
    if (any) {
        /* the data may have changed while we were away */
        s->lost_ns = 0;
        g_clear_pointer(&s->extents, g_array_unref);
        bdrv_bsc_invalidate(s->bs);
    }
    return any;
}

/*
 * A request begun when s->losses was @losses ended with @ret: true to
 * send it again, because a connection was lost and one is live now.
 * With reconnect-delay, the first such request tries to connect again
 * (the others wait for it) until the delay from the loss runs out; after
 * it, a request tries once, if nobody tried within the last second.
 */
static bool coroutine_fn nbd_co_retry(NBDClient *s, uint64_t losses,
                                      int ret)
{
    int64_t pause = NBD_RECONNECT_PAUSE_NS;
    int64_t handshake = s->timeout_ns ?
                        MIN(s->timeout_ns, NBD_RECONNECT_HANDSHAKE_NS) :
                        NBD_RECONNECT_HANDSHAKE_NS;
    bool live;

    if (ret != -EIO || !s->reconnect_ns ||
        (s->losses == losses && net_pool_pick(&s->pool))) {
        return false;           /* the server's answer, not a loss */
    }
    qemu_co_mutex_lock(&s->reconnect_lock);
    while (!net_pool_pick(&s->pool)) {
        int64_t now = nbd_now(), end;

        if (!s->lost_ns) {
            s->lost_ns = now;
        }
        end = s->lost_ns + s->reconnect_ns;
        if (now >= end && now - s->last_try_ns < NBD_RECONNECT_AFTER_NS) {
            break;
        }
        s->last_try_ns = now;
        if (nbd_co_reconnect(s, now + handshake)) {
            break;
        }
        now = nbd_now();
        if (now >= end) {
            break;
        }
        qemu_co_sleep_ns(MIN(pause, end - now));
        pause = MIN(pause * 2, NBD_RECONNECT_MAX_NS);
    }
    live = net_pool_pick(&s->pool) != NULL;
    qemu_co_mutex_unlock(&s->reconnect_lock);
    return live;
}

static void nbd_client_close(NBDClient *s)
{
    int i;

    for (i = 0; i < s->pool.nconns; i++) {
        nbd_conn_close(&s->conns[i]);
    }
    net_pool_destroy(&s->pool);
    g_clear_pointer(&s->conns, g_free);
    g_clear_pointer(&s->url, g_free);
    g_clear_pointer(&s->server, g_free);
    g_clear_pointer(&s->extents, g_array_unref);
    nbd_options_free(&s->opts);
}

/* What the handshake of @h told: size, flags, block sizes, context. */
static bool nbd_take_export_info(NBDClient *s, struct nbd_handle *h,
                                 const NBDOptions *o, Error **errp)
{
    const char *context = o->x_dirty_bitmap ? o->x_dirty_bitmap
                                            : "base:allocation";
    int64_t min = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
    int64_t pref = nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED);
    int64_t max = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);

    s->size = nbd_get_size(h);
    if (s->size < 0) {
        error_setg(errp, "NBD server '%s': %s", s->server, nbd_get_error());
        return false;
    }
    s->read_only = nbd_is_read_only(h) == 1;
    s->can_flush = nbd_can_flush(h) == 1;
    s->can_fua = nbd_can_fua(h) == 1;
    s->can_trim = nbd_can_trim(h) == 1;
    s->can_zero = nbd_can_zero(h) == 1;
    s->can_fast_zero = nbd_can_fast_zero(h) == 1;
    s->multi_conn = nbd_can_multi_conn(h) == 1;
    s->base_allocation = nbd_can_meta_context(h, context) == 1;
    if (o->x_dirty_bitmap) {
        if (!s->base_allocation) {
            error_setg(errp, "requested x-dirty-bitmap %s not found",
                       o->x_dirty_bitmap);
            return false;
        }
        s->alloc_depth = !strcmp(o->x_dirty_bitmap, "qemu:allocation-depth");
    }
    /* libnbd checked them: powers of two, min <= pref <= max */
    if (min <= 0) {
        /* 7.2: byte access where the size or block status needs it */
        min = (s->size % BDRV_SECTOR_SIZE || s->base_allocation)
              ? 1 : BDRV_SECTOR_SIZE;
    }
    if (min > 65536 || (min & (min - 1))) {
        error_setg(errp, "NBD server '%s' sent an invalid minimum block "
                   "size %" PRId64, s->server, min);
        return false;
    }
    s->min_block = min;
    s->opt_block = pref > 0 ? pref : 0;
    max = max > 0 ? MIN(max, NBD_MAX_PAYLOAD) : NBD_MAX_PAYLOAD;
    s->max_payload = MAX(max / min * min, min);
    return true;
}

/*
 * The connections beyond the first, where the server allows them, at
 * once; those that fail are left dead (the others carry the requests).
 */
static void coroutine_fn nbd_co_connect_more(NBDClient *s,
                                             const NBDOptions *o, int n)
{
    int i;

    for (i = 1; i < n; i++) {
        net_pool_add(&s->pool, &s->conns[i].nc, &nbd_conn_ops);
    }
    if (n > 1) {
        nbd_co_connect(s, &s->conns[1], n - 1, o,
                       nbd_now() + NBD_EXTRA_CONNECT_NS);
    }
}

static bool coroutine_fn nbd_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    NBDClient *s = bs->opaque;
    NBDOptions *o = &s->opts;
    bool ok = false;

    s->bs = bs;
    qemu_co_mutex_init(&s->reconnect_lock);
    if (!nbd_take_options(options, o, errp)) {
        goto out;
    }
    s->url = nbd_make_url(o);
    s->server = nbd_server_name(o);
    s->timeout_ns = (int64_t)o->timeout * 1000000000LL;
    net_pool_init(&s->pool, qemu_get_current_aio_context(), o->depth);
    s->conns = g_new0(NBDConn, o->connections);
    net_pool_add(&s->pool, &s->conns[0].nc, &nbd_conn_ops);
    if (!nbd_co_connect_first(s, o, errp) ||
        !nbd_take_export_info(s, s->conns[0].h, o, errp)) {
        goto out;
    }
    if (s->read_only && (flags & BDRV_O_RDWR)) {
        error_setg(errp, "Could not open image: Permission denied");
        goto out;
    }
    nbd_co_connect_more(s, o, s->multi_conn ? (int)o->connections : 1);
    /* from now on: reconnect-delay applies (open-timeout did before) */
    s->reconnect_ns = (int64_t)o->reconnect_delay * 1000000000LL;
    bs->supported_write_flags = s->can_fua ? BDRV_REQ_FUA : 0;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP |
                               (s->can_fua ? BDRV_REQ_FUA : 0) |
                               (s->can_fast_zero ? BDRV_REQ_NO_FALLBACK : 0);
    g_free(bs->filename);
    bs->filename = g_strdup(s->url);
    ok = true;
out:
    if (!ok) {
        nbd_client_close(s);
    }
    return ok;
}

static void nbd_file_close(BlockDriverState *bs)
{
    nbd_client_close(bs->opaque);
}

/* An export exists already: "create" checks and clears it, as 7.2. */
static bool coroutine_fn nbd_co_create(const char *filename, QDict *opts,
                                       Error **errp)
{
    return bdrv_co_create_simple("nbd", filename, opts, errp);
}

static const CreateOptDesc nbd_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { "preallocation", OPT_STRING,
      "Preallocation mode (allowed values: off)", NULL },
    { NULL },
};

/* One driver per URL scheme, as 7.2: nbd, nbd+tcp, nbd+unix. */
#define NBD_DRIVER(proto) {                                     \
    .format_name = "nbd",                                       \
    .protocol_name = proto,                                     \
    .instance_size = sizeof(NBDClient),                         \
    .canonical_filename = true,                                 \
    .issues_in_order = true,                                    \
    .parse_filename = nbd_parse_filename,                       \
    .co_open = nbd_co_open,                                     \
    .close = nbd_file_close,                                    \
    .refresh_limits = nbd_refresh_limits,                       \
    .co_preadv = nbd_co_preadv,                                 \
    .co_pwritev = nbd_co_pwritev,                               \
    .co_pwrite_zeroes = nbd_co_pwrite_zeroes,                   \
    .co_pdiscard = nbd_co_pdiscard,                             \
    .co_flush_to_os = nbd_co_flush,                             \
    .co_truncate = nbd_co_truncate,                             \
    .co_getlength = nbd_co_getlength,                           \
    .co_block_status = nbd_co_block_status,                     \
    .co_get_allocated_file_size = nbd_co_get_allocated_file_size, \
    .co_create = nbd_co_create,                                 \
    .create_opts = nbd_create_opts,                             \
}

const BlockDriver bdrv_nbd = NBD_DRIVER("nbd");
const BlockDriver bdrv_nbd_tcp = NBD_DRIVER("nbd+tcp");
const BlockDriver bdrv_nbd_unix = NBD_DRIVER("nbd+unix");
