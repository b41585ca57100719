/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "nfs" protocol: a file on an NFS server, reached with libnfs's
 * asynchronous API, no kernel client and no page cache.
 *
 * Each connection is one libnfs context (one TCP connection, its own MOUNT
 * and file handle), driven by the connection engine (block/net-conn.h):
 * its socket watched for the events libnfs wants, the context serviced
 * when they come; libnfs's callbacks only record results and schedule the
 * waiting coroutine, never enter it.
 *
 * A request is cut into RPCs of the server's maximum read or write size,
 * spread over the connections (the least busy first), at most queue-depth
 * in flight on each (more waits for a slot); the request completes when
 * the last one answers.
 * Errors: the first failed RPC's errno is the request's; a connection
 * whose socket fails is marked dead, its RPCs fail (libnfs reports them, or
 * we do when it cannot) and later requests on it fail at once, so a server
 * that goes away ends a copy with an error, not a hang.
 *
 * Block status: NFSv4.2 SEEK on a session of its own (nfs4-seek.c), where
 * the server has it; data throughout where it has not, as 7.2.
 *
 * URL: nfs://host[:port]/export/dir/file?uid=&gid=&tcp-syncnt=&readahead=
 * &pagecache=&debug= as QEMU 7.2, plus nfsport=, mountport= (reach a server
 * without a portmapper), connections=, queue-depth= and timeout= (seconds
 * per RPC).

 *
 * Files, each calling only those below it: nfs.c (this driver), then
 * nfs-opts.c (URL and options), nfs4-seek.c (SEEK) and net-conn.c.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/error.h"
#include "block/net-conn.h"
#include "block/nfs4-seek.h"
#include "block/nfs-opts.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <nfsc/libnfs.h>

#define NFS_MAX_READAHEAD       (1024 * 1024)
#define NFS_PAGE_SIZE           4096
#define NFS_MAX_PAGECACHE       (8 * 1024 * 1024 / NFS_PAGE_SIZE)
#define NFS_MAX_DEBUG           2
/* Seconds an NFSv4.2 SEEK call may take before block status says data. */
#define NFS_SEEK_TIMEOUT_S      10
/*
 * A question costs a round trip and saves reading the hole it finds: with
 * holes of less than SEEK_MIN_SAVING per answer on average after
 * SEEK_TRIAL answers (many small extents), reading is cheaper, and block
 * status says data from then on.  At 1.2 ms and 1.6 GB/s, 64 KiB extents
 * asked one by one copied at 0.1 GB/s.
 */
#define NFS_SEEK_TRIAL          16
#define NFS_SEEK_MIN_SAVING     (1024 * 1024)
/* NFSv4.2 sessions set up again in a row, without an answer between. */
#define NFS_SEEK_RENEWALS       3
/* How often an idle-looking context is serviced for libnfs's timeouts. */
#define NFS_TICK_NS             (500 * 1000 * 1000LL)

typedef struct NFSClient NFSClient;

/* One connection: a libnfs context, its mount and its file handle. */
typedef struct NFSConn {
    NetConn nc;                 /* the engine's part: socket, slots, timer */
    struct nfs_context *nfs;
    struct nfsfh *fh;
    bool wrote;                 /* unstable writes since the last COMMIT */
    bool send_failed;           /* the last control RPC was not even sent */
} NFSConn;

struct NFSClient {
    NetPool pool;               /* the connections, their slots */
    NFSConn *conns;             /* pool.nconns of them */
    char *url;                  /* for messages */
    char *key;                  /* the options it was opened with */
    uint64_t readmax;
    uint64_t writemax;
    int64_t size;
    int64_t blocks;             /* st_blocks at open (512-byte units) */
    bool has_zero_init;
    bool cache_used;            /* libnfs readahead/pagecache enabled */
    /* block status: NFSv4.2 SEEK beside the NFSv3 connections */
    char *path;                 /* the file, from the server's root */
    uint64_t fileid;
    uint32_t uid, gid;
    int64_t timeout_ms;
    NFS4Seek *seek;
    bool seek_tried;            /* set up (or failed to, or given up) */
    uint64_t seek_answers, seek_hole_bytes;
    int seek_renewals;          /* set up again since the last answer */
    int64_t known_start, known_end; /* the last answer: [start, end) ... */
    int known_status;           /* ... is this BDRV_BLOCK_DATA or _ZERO */
    uint64_t known_gen;         /* ... given when write_gen was this */
    uint64_t write_gen;         /* our writes and truncates so far */
};

/* One RPC of a request (NetReq: several RPCs, one waiting coroutine). */
typedef struct NFSRPC {
    NetReq *req;
    NFSConn *conn;
    QEMUIOVector *qiov;         /* reads: where the data goes */
    size_t qiov_offset;         /* where its bytes are in the request */
    uint64_t bytes;
    struct nfs_stat_64 *st;     /* fstat: where the result goes */
    void *handle;               /* open: the file handle */
    char *errmsg;               /* control RPCs: libnfs's text on failure */
} NFSRPC;

static NFSConn *nfs_conn(NetConn *nc)
{
    return container_of(nc, NFSConn, nc);
}

static NFSClient *nfs_client(NFSConn *c)
{
    return container_of(c->nc.pool, NFSClient, pool);
}

/* ---- the engine's hooks ---- */

static int nfs_conn_get_fd(NetConn *nc)
{
    return nfs_get_fd(nfs_conn(nc)->nfs);
}

static int nfs_conn_which_events(NetConn *nc)
{
    return nfs_which_events(nfs_conn(nc)->nfs);
}

static void nfs_conn_service(NetConn *nc, int revents)
{
    NFSConn *c = nfs_conn(nc);

    if (nfs_service(c->nfs, revents) < 0) {
        /*
         * The socket is gone and libnfs will not reconnect (autoreconnect
         * is off): it has failed the RPCs it knew of.  Nothing more may be
         * sent on this context.
         */
        net_conn_kill(nc);
        return;
    }
    if (nfs_queue_length(c->nfs) > 0) {
        net_conn_arm_tick(nc, NFS_TICK_NS);
    }
}

/* Service the context with no events: libnfs checks its RPC timeouts. */
static void nfs_conn_tick(NetConn *nc)
{
    net_conn_service(nc, 0);
}

static const NetConnOps nfs_conn_ops = {
    .get_fd = nfs_conn_get_fd,
    .which_events = nfs_conn_which_events,
    .service = nfs_conn_service,
    .tick = nfs_conn_tick,
};

/* An RPC was queued on @c: watch for its answer. */
static void nfs_conn_sent(NFSConn *c)
{
    net_conn_update_events(&c->nc);
    if (nfs_queue_length(c->nfs) > 0) {
        net_conn_arm_tick(&c->nc, NFS_TICK_NS);
    }
}

/* ---- completion ---- */

/* Print an RPC failure, naming the URL; the same text only once. */
static void nfs_report(NFSClient *s, const char *msg)
{
    net_pool_report(&s->pool, "NFS Error: %s: %s", s->url, msg);
}

static void nfs_rpc_fail(NFSRPC *rpc, int err, const char *msg)
{
    /*
     * libnfs reports a lost connection (and some server errors) as
     * EFAULT: an I/O error to us; and an RPC that timed out as EINTR.
     */
    if (err == -EFAULT) {
        err = -EIO;
    } else if (err == -EINTR) {
        err = -ETIMEDOUT;
    }
    net_req_fail(rpc->req, err);
    /*
     * With autoreconnect off, libnfs fails the RPCs of a connection whose
     * socket broke as "Failed to reconnect async": it did not try.  Say
     * what happened, in the words used when a request finds no live
     * connection, so a lost server gives one message, not two.
     */
    if (msg && strstr(msg, "Failed to reconnect async")) {
        msg = "connection lost";
    }
    nfs_report(nfs_client(rpc->conn), msg && *msg ? msg : g_strerror(-err));
}

/* Read, write and other RPC callbacks (libnfs calls them from nfs_service). */
static void nfs_read_cb(int status, struct nfs_context *nfs, void *data,
                        void *opaque)
{
    NFSRPC *rpc = opaque;

    net_conn_put(&rpc->conn->nc);
    if (status < 0) {
        nfs_rpc_fail(rpc, status, data);
    } else if ((uint64_t)status > rpc->bytes) {
        nfs_rpc_fail(rpc, -EIO, "server returned more data than asked");
    } else {
        qemu_iovec_from_buf(rpc->qiov, rpc->qiov_offset, data, status);
        if ((uint64_t)status < rpc->bytes) {
            /* past the end of the file: zeroes, as a local file reads */
            qemu_iovec_memset(rpc->qiov, rpc->qiov_offset + status, 0,
                              rpc->bytes - status);
        }
    }
    net_req_put(rpc->req);
}

static void nfs_write_cb(int status, struct nfs_context *nfs, void *data,
                         void *opaque)
{
    NFSRPC *rpc = opaque;

    net_conn_put(&rpc->conn->nc);
    if (status < 0) {
        nfs_rpc_fail(rpc, status, data);
    } else if ((uint64_t)status != rpc->bytes) {
        nfs_rpc_fail(rpc, -EIO, "short write");
    }
    net_req_put(rpc->req);
}

/* Control RPCs (mount, open, stat, commit, truncate). */
static void nfs_generic_cb(int status, struct nfs_context *nfs, void *data,
                           void *opaque)
{
    NFSRPC *rpc = opaque;

    net_conn_put(&rpc->conn->nc);
    if (status < 0) {
        /* the caller words the message: keep libnfs's text */
        rpc->req->ret = status == -EFAULT ? -EIO : status;
        rpc->errmsg = g_strdup(data ? (const char *)data : g_strerror(-status));
    } else if (rpc->st) {
        *rpc->st = *(struct nfs_stat_64 *)data;
    } else {
        rpc->handle = data;
    }
    net_req_put(rpc->req);
}

/* ---- issuing ---- */

/* The live connection with the fewest RPCs in flight. */
static NFSConn *nfs_pick_conn(NFSClient *s)
{
    NetConn *nc = net_pool_pick(&s->pool);

    return nc ? nfs_conn(nc) : NULL;
}

/* After a failed send: -errno for the request (libnfs's text printed). */
static int nfs_send_failed(NFSConn *c)
{
    nfs_report(nfs_client(c), nfs_get_error(c->nfs));
    return -EIO;
}

/* Reads and writes: which libnfs call, how much per RPC. */
typedef int NFSDataSend(NFSConn *c, NFSRPC *rpc, uint64_t offset,
                        const uint8_t *buf);

static int nfs_send_read(NFSConn *c, NFSRPC *rpc, uint64_t offset,
                         const uint8_t *buf)
{
    return nfs_pread_async(c->nfs, c->fh, offset, rpc->bytes, nfs_read_cb,
                           rpc);
}

static int nfs_send_write(NFSConn *c, NFSRPC *rpc, uint64_t offset,
                          const uint8_t *buf)
{
    c->wrote = true;
    return nfs_pwrite_async(c->nfs, c->fh, offset, rpc->bytes,
                            buf + rpc->qiov_offset, nfs_write_cb, rpc);
}

/*
 * @bytes at @offset as RPCs of @max bytes, spread over the connections
 * (a free slot each), all in flight at once; waits for the last answer.
 */
static int coroutine_fn nfs_co_data(NFSClient *s, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    const uint8_t *buf, uint64_t max,
                                    NFSDataSend *send)
{
    int n = DIV_ROUND_UP(bytes, max), i;
    g_autofree NFSRPC *rpcs = g_new0(NFSRPC, n);
    NetReq req;

    net_req_init(&req);
    for (i = 0; i < n && req.ret == 0; i++) {
        NFSRPC *rpc = &rpcs[i];
        NetConn *nc = net_pool_co_get_slot(&s->pool);

        if (!nc) {
            net_req_fail(&req, -EIO);
            nfs_report(s, "connection lost");
            break;
        }
        rpc->req = &req;
        rpc->conn = nfs_conn(nc);
        rpc->qiov = qiov;
        rpc->qiov_offset = (uint64_t)i * max;
        rpc->bytes = MIN(max, bytes - rpc->qiov_offset);
        net_req_get(&req);
        net_conn_get(nc);
        if (send(rpc->conn, rpc, offset + rpc->qiov_offset, buf) != 0) {
            net_conn_put(nc);
            net_req_put(&req);
            net_req_fail(&req, nfs_send_failed(rpc->conn));
            break;
        }
        nfs_conn_sent(rpc->conn);
    }
    return net_req_wait(&req);
}

static int coroutine_fn nfs_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    NFSClient *s = bs->opaque;

    return nfs_co_data(s, offset, bytes, qiov, NULL, s->readmax,
                       nfs_send_read);
}

static int coroutine_fn nfs_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    NFSClient *s = bs->opaque;
    g_autofree uint8_t *bounce = NULL;
    const uint8_t *buf;
    int ret;

    /* libnfs 4.0 writes from one buffer: gather only when scattered */
    if (qiov->niov == 1) {
        buf = qiov->iov[0].iov_base;
    } else {
        bounce = g_try_malloc(bytes);
        if (!bounce) {
            return -ENOMEM;
        }
        qemu_iovec_to_buf(qiov, 0, bounce, bytes);
        buf = bounce;
    }
    ret = nfs_co_data(s, offset, bytes, qiov, buf, s->writemax,
                      nfs_send_write);
    if (ret == 0 && offset + bytes > s->size) {
        s->size = offset + bytes;
    }
    s->write_gen++;             /* holes may be data now */
    return ret;
}

/*
 * Send one control RPC (@send, with @arg) on each of @n connections from
 * @c at once and wait for all of them: connections are set up in
 * parallel, a round trip each step instead of one per connection.  @rpcs
 * (one per connection, zeroed, .st set for an fstat) receive the results:
 * .handle an open's, .errmsg libnfs's text on failure (to be g_free()d).
 * Returns 0, or the -errno of a failed RPC.
 */
typedef int NFSSendFunc(NFSConn *c, NFSRPC *rpc, void *arg);

static int coroutine_fn nfs_co_call_n(NFSConn *c, int n, NFSSendFunc *send,
                                      void *arg, NFSRPC *rpcs)
{
    NetReq req;
    int i;

    net_req_init(&req);
    for (i = 0; i < n; i++) {
        NFSRPC *rpc = &rpcs[i];

        rpc->req = &req;
        rpc->conn = &c[i];
        c[i].send_failed = false;
        if (c[i].nc.dead) {
            rpc->errmsg = g_strdup("connection lost");
            req.ret = -EIO;
            continue;
        }
        net_req_get(&req);
        net_conn_get(&c[i].nc);
        if (send(&c[i], rpc, arg) != 0) {
            c[i].send_failed = true;
            net_conn_put(&c[i].nc);
            net_req_put(&req);
            req.ret = -EIO;
            rpc->errmsg = g_strdup(nfs_get_error(c[i].nfs));
        } else {
            nfs_conn_sent(&c[i]);
        }
    }
    return net_req_wait(&req);
}

/* The first failed RPC of nfs_co_call_n(): its connection and text. */
static NFSRPC *nfs_rpcs_failed(NFSRPC *rpcs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (rpcs[i].errmsg) {
            return &rpcs[i];
        }
    }
    return &rpcs[0];
}

static void nfs_rpcs_free(NFSRPC *rpcs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        g_free(rpcs[i].errmsg);
    }
}

/*
 * One control RPC on @c.  @st receives an fstat's result, *@handle an
 * open's.  On failure, *@errp receives libnfs's text.
 */
static int coroutine_fn nfs_co_call(NFSConn *c, NFSSendFunc *send, void *arg,
                                    struct nfs_stat_64 *st, void **handle,
                                    Error **errp)
{
    NFSRPC rpc = { .st = st };
    int ret = nfs_co_call_n(c, 1, send, arg, &rpc);

    if (ret == 0 && handle) {
        *handle = rpc.handle;
    }
    if (ret < 0) {
        error_setg(errp, "%s", rpc.errmsg ? rpc.errmsg : g_strerror(-ret));
    }
    g_free(rpc.errmsg);
    return ret;
}
static int nfs_send_fsync(NFSConn *c, NFSRPC *rpc, void *arg)
{
    return nfs_fsync_async(c->nfs, c->fh, nfs_generic_cb, rpc);
}

static int nfs_send_ftruncate(NFSConn *c, NFSRPC *rpc, void *arg)
{
    return nfs_ftruncate_async(c->nfs, c->fh, *(uint64_t *)arg,
                               nfs_generic_cb, rpc);
}

static int nfs_send_fstat(NFSConn *c, NFSRPC *rpc, void *arg)
{
    return nfs_fstat64_async(c->nfs, c->fh, nfs_generic_cb, rpc);
}

typedef struct NFSMountArgs {
    const char *host;
    const char *export;
} NFSMountArgs;

static int nfs_send_mount(NFSConn *c, NFSRPC *rpc, void *arg)
{
    NFSMountArgs *m = arg;

    return nfs_mount_async(c->nfs, m->host, m->export, nfs_generic_cb, rpc);
}

typedef struct NFSOpenArgs {
    const char *file;
    int flags;
} NFSOpenArgs;

static int nfs_send_open(NFSConn *c, NFSRPC *rpc, void *arg)
{
    NFSOpenArgs *o = arg;

    if (o->flags & O_CREAT) {
        return nfs_create_async(c->nfs, o->file,
                                o->flags & (O_RDWR | O_TRUNC | O_EXCL), 0600,
                                nfs_generic_cb, rpc);
    }
    return nfs_open_async(c->nfs, o->file, o->flags, nfs_generic_cb, rpc);
}

static int coroutine_fn nfs_co_flush_to_disk(BlockDriverState *bs)
{
    NFSClient *s = bs->opaque;
    int i, ret = 0;

    /* COMMIT where unstable writes went; a dead connection lost them */
    for (i = 0; i < s->pool.nconns; i++) {
        NFSConn *c = &s->conns[i];
        g_autoptr(Error) err = NULL;
        int r;

        if (!c->wrote && !c->nc.dead) {
            continue;
        }
        r = nfs_co_call(c, nfs_send_fsync, NULL, NULL, NULL, &err);
        if (r < 0) {
            nfs_report(s, error_get_pretty(err));
            ret = ret ? ret : (r == -EFAULT ? -EIO : r);
        } else {
            c->wrote = false;
        }
    }
    return ret;
}

static int coroutine_fn nfs_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    NFSClient *s = bs->opaque;
    uint64_t size = offset;
    NFSConn *c = nfs_pick_conn(s);
    int ret;

    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   PreallocMode_str[prealloc]);
        return -ENOTSUP;
    }
    if (!c) {
        error_setg(errp, "Failed to truncate file: connection lost");
        return -EIO;
    }
    ret = nfs_co_call(c, nfs_send_ftruncate, &size, NULL, NULL, NULL);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to truncate file");
        return ret;
    }
    s->size = offset;
    s->write_gen++;
    return 0;
}

/* NFSv4.2 SEEK, set up on first use; false if the server has none. */
static bool coroutine_fn nfs_co_seek_ready(NFSClient *s)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    NFSConn *c;

    if (s->seek_tried) {
        return s->seek != NULL;
    }
    s->seek_tried = true;
    /* the server's NFS program, where the NFSv3 connections went */
    c = nfs_pick_conn(s);
    if (!c || c->nc.fd < 0 ||
        getpeername(c->nc.fd, (struct sockaddr *)&addr, &len) < 0) {
        return false;
    }
    s->seek = nfs4_seek_co_open(s->pool.ctx, &addr, len, s->path, s->fileid, s->uid,
                                s->gid, s->timeout_ms);
    return s->seek != NULL;
}

/*
 * Data and holes as the server's file system has them (NFSv4.2 SEEK); a
 * server without it, or any failure, gives data throughout, as before.
 * The last answer is kept until our next write: a copy asks once per
 * extent, a map at every cluster of a qcow2 image.
 */
static int coroutine_fn nfs_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    NFSClient *s = bs->opaque;
    uint64_t gen = s->write_gen, hole;
    int64_t data, end;
    int ret, status;

    *map = offset;
    *file = bs;
    *pnum = bytes;
    if (!want_zero) {
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    if (s->known_gen == s->write_gen && offset >= s->known_start &&
        offset < s->known_end) {
        *pnum = MIN(bytes, s->known_end - offset);
        return s->known_status | BDRV_BLOCK_OFFSET_VALID;
    }
    for (;;) {
        if (!nfs_co_seek_ready(s)) {
            return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
        }
        ret = nfs4_seek_co_query(s->seek, offset, &data, &hole);
        if (ret != -ENXIO && ret < 0) {
            /*
             * The session is of no more use.  Where one has answered
             * before, a new one is set up (a long copy outlives the
             * server's lease between two questions), a few times without
             * an answer in between; otherwise data, as without one.
             */
            nfs4_seek_free(s->seek);
            s->seek = NULL;
            if (s->seek_answers && s->seek_renewals < NFS_SEEK_RENEWALS) {
                s->seek_renewals++;
                s->seek_tried = false;
                continue;
            }
            return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
        }
        break;
    }
    if (ret == -ENXIO) {
        /* at or past the end as the server sees it: nothing to read */
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    }
    s->seek_renewals = 0;
    if (hole > (uint64_t)offset) {
        end = MIN(hole, (uint64_t)INT64_MAX);
        status = BDRV_BLOCK_DATA;
    } else {
        end = data < 0 ? INT64_MAX : data;
        status = BDRV_BLOCK_ZERO;
    }
    if (status == BDRV_BLOCK_ZERO) {
        s->seek_hole_bytes += MIN(end, MAX(s->size, offset)) - offset;
    }
    if (++s->seek_answers >= NFS_SEEK_TRIAL &&
        s->seek_hole_bytes / s->seek_answers < NFS_SEEK_MIN_SAVING) {
        nfs4_seek_free(s->seek);        /* seek_tried stays: given up */
        s->seek = NULL;
    }
    /* kept only if none of our writes ended while the question was out */
    if (gen == s->write_gen) {
        s->known_gen = gen;
        s->known_start = offset;
        s->known_end = end;
        s->known_status = status;
    }
    *pnum = MIN(bytes, end - offset);
    return status | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn nfs_co_getlength(BlockDriverState *bs)
{
    NFSClient *s = bs->opaque;

    return s->size;
}

static int64_t coroutine_fn nfs_co_get_allocated_file_size(BlockDriverState *bs)
{
    NFSClient *s = bs->opaque;
    struct nfs_stat_64 st;
    NFSConn *c;
    int ret;

    /* read-only and cached: what open saw is still true */
    if (bs->read_only && !(bs->open_flags & BDRV_O_NOCACHE)) {
        return s->blocks * 512;
    }
    c = nfs_pick_conn(s);
    if (!c) {
        return -EIO;
    }
    ret = nfs_co_call(c, nfs_send_fstat, NULL, &st, NULL, NULL);
    return ret < 0 ? ret : (int64_t)st.nfs_blocks * 512;
}

static bool nfs_has_zero_init(BlockDriverState *bs)
{
    NFSClient *s = bs->opaque;

    return s->has_zero_init;
}

static void nfs_refresh_limits(BlockDriverState *bs)
{
    bs->bl.request_alignment = 1;
    /* io.c may hand us big requests: we split them into RPCs ourselves */
    bs->bl.max_transfer = 0;
}

static bool nfs_conn_configure(NFSConn *c, const NFSOptions *o, int flags,
                               Error **errp)
{
    NFSClient *s = nfs_client(c);

    if (o->has_nfsport || o->has_mountport) {
        /*
         * libnfs 4.0 sets these ports only while parsing a URL: let it
         * parse one that carries just them.
         */
        g_autofree char *url = NULL;
        struct nfs_url *u;

        url = g_strdup_printf("nfs://localhost/d/f?%s%.0" PRIu64 "%s%s%.0"
                              PRIu64,
                              o->has_nfsport ? "nfsport=" : "",
                              o->has_nfsport ? o->nfsport : 0,
                              o->has_nfsport && o->has_mountport ? "&" : "",
                              o->has_mountport ? "mountport=" : "",
                              o->has_mountport ? o->mountport : 0);
        u = nfs_parse_url_full(c->nfs, url);
        if (!u) {
            error_setg(errp, "Failed to set the NFS ports: %s",
                       nfs_get_error(c->nfs));
            return false;
        }
        nfs_destroy_url(u);
    }
    if (o->has_uid) {
        nfs_set_uid(c->nfs, o->uid);
    }
    if (o->has_gid) {
        nfs_set_gid(c->nfs, o->gid);
    }
    if (o->has_syncnt) {
        nfs_set_tcp_syncnt(c->nfs, o->syncnt);
    }
    if (o->has_readahead) {
        uint64_t ra = o->readahead;

        if (flags & BDRV_O_NOCACHE) {
            error_setg(errp, "Cannot enable NFS readahead if cache.direct = on");
            return false;
        }
        if (ra > NFS_MAX_READAHEAD) {
            if (c == &s->conns[0]) {
                bdrv_warn_report("Truncating NFS readahead size to %d",
                                 NFS_MAX_READAHEAD);
            }
            ra = NFS_MAX_READAHEAD;
        }
        nfs_set_readahead(c->nfs, ra);
        nfs_set_pagecache_ttl(c->nfs, 0);
        s->cache_used = true;
    }
    if (o->has_pagecache) {
        uint64_t pc = o->pagecache;

        if (flags & BDRV_O_NOCACHE) {
            error_setg(errp, "Cannot enable NFS pagecache if cache.direct = on");
            return false;
        }
        if (pc > NFS_MAX_PAGECACHE) {
            if (c == &s->conns[0]) {
                bdrv_warn_report("Truncating NFS pagecache size to %d pages",
                                 NFS_MAX_PAGECACHE);
            }
            pc = NFS_MAX_PAGECACHE;
        }
        nfs_set_pagecache(c->nfs, pc);
        nfs_set_pagecache_ttl(c->nfs, 0);
        s->cache_used = true;
    }
    if (o->has_debug) {
        uint64_t d = o->debug;

        if (d > NFS_MAX_DEBUG) {
            if (c == &s->conns[0]) {
                bdrv_warn_report("Limiting NFS debug level to %d",
                                 NFS_MAX_DEBUG);
            }
            d = NFS_MAX_DEBUG;
        }
        nfs_set_debug(c->nfs, d);
    }
    /* fail, do not retry forever, when the server goes away */
    nfs_set_autoreconnect(c->nfs, 0);
    if (o->timeout) {
        nfs_set_timeout(c->nfs, o->timeout * 1000);
    }
    return true;
}

/* A fresh libnfs context for @c, configured by @o. */
static bool nfs_conn_init(NFSConn *c, const NFSOptions *o, int flags,
                          Error **errp)
{
    c->nfs = nfs_init_context();
    if (!c->nfs) {
        error_setg(errp, "Failed to init NFS context");
        return false;
    }
    return nfs_conn_configure(c, o, flags, errp);
}

/*
 * Open (or create) the file on @n connections from @c, all at once.
 * @rpcs: scratch, one per connection.
 */
static bool coroutine_fn nfs_co_open_file_n(NFSConn *c, int n,
                                            const char *file, int open_flags,
                                            NFSRPC *rpcs, Error **errp)
{
    NFSOpenArgs oargs = { .file = file, .flags = open_flags };
    bool ok = true;
    int i;

    memset(rpcs, 0, n * sizeof(*rpcs));
    if (nfs_co_call_n(c, n, nfs_send_open, &oargs, rpcs) < 0) {
        const char *msg = nfs_rpcs_failed(rpcs, n)->errmsg;

        if (open_flags & O_CREAT) {
            error_setg(errp, "Failed to create file: creat call failed with "
                       "\"%s\"", msg);
        } else {
            error_setg(errp, "Failed to open file : open call failed with "
                       "\"%s\"", msg);
        }
        ok = false;
    }
    /* a handle opened on a connection whose sibling failed is closed too */
    for (i = 0; i < n; i++) {
        c[i].fh = rpcs[i].errmsg ? NULL : rpcs[i].handle;
    }
    nfs_rpcs_free(rpcs, n);
    return ok;
}

/*
 * Mount the export on every connection of @s and open (or create) the
 * file, the connections side by side: the mounts at once, then the file
 * on the first connection (which creates it when asked) and on the others
 * at once.  Opening an image costs the round trips of one connection.
 */
static bool coroutine_fn nfs_co_conns_open(NFSClient *s, const NFSOptions *o,
                                           int open_flags, int flags,
                                           Error **errp)
{
    g_autofree char *export = g_strdup(o->path);
    char *slash = strrchr(export, '/');
    g_autofree char *file = g_strdup(slash);
    g_autofree NFSRPC *rpcs = g_new0(NFSRPC, s->pool.nconns);
    NFSMountArgs margs;
    int first, i;
    bool ok;

    *slash = '\0';
    margs = (NFSMountArgs) { .host = o->host, .export = export };
    for (i = 0; i < s->pool.nconns; i++) {
        if (!nfs_conn_init(&s->conns[i], o, flags, errp)) {
            return false;
        }
    }
    if (nfs_co_call_n(s->conns, s->pool.nconns, nfs_send_mount, &margs, rpcs) < 0) {
        NFSRPC *rpc = nfs_rpcs_failed(rpcs, s->pool.nconns);

        /* worded as libnfs's synchronous calls, which QEMU uses */
        error_setg(errp, "Failed to mount nfs share: %s%s",
                   rpc->conn->send_failed ? "nfs_mount_async failed. "
                                          : "mount_cb: ",
                   rpc->errmsg);
        nfs_rpcs_free(rpcs, s->pool.nconns);
        return false;
    }
    nfs_rpcs_free(rpcs, s->pool.nconns);
    /* the first connection creates the file, the others open it */
    first = (open_flags & O_CREAT) ? 1 : s->pool.nconns;
    ok = nfs_co_open_file_n(s->conns, first, file, open_flags, rpcs, errp);
    if (ok && first < s->pool.nconns) {
        ok = nfs_co_open_file_n(s->conns + first, s->pool.nconns - first, file,
                                open_flags & ~(O_CREAT | O_TRUNC | O_EXCL),
                                rpcs, errp);
    }
    return ok;
}

static void nfs_close_cb(int status, struct nfs_context *nfs, void *data,
                         void *opaque)
{
}

static void nfs_conn_close(NFSConn *c)
{
    net_conn_close(&c->nc);
    if (c->nfs) {
        /*
         * NFSv3 has no open state on the server: closing only frees the
         * handle, at once, so nothing is waited for.
         */
        if (c->fh) {
            nfs_close_async(c->nfs, c->fh, nfs_close_cb, NULL);
            c->fh = NULL;
        }
        nfs_destroy_context(c->nfs);
        c->nfs = NULL;
    }
}

static void nfs_client_close(NFSClient *s)
{
    int i;

    for (i = 0; i < s->pool.nconns; i++) {
        nfs_conn_close(&s->conns[i]);
    }
    net_pool_destroy(&s->pool);
    g_free(s->conns);
    s->conns = NULL;
    g_free(s->url);
    s->url = NULL;
    g_free(s->key);
    s->key = NULL;
    nfs4_seek_free(s->seek);
    s->seek = NULL;
    g_free(s->path);
    s->path = NULL;
}

/*
 * The client nfs_co_create() set up, kept for the open that follows it in
 * the process (convert creates its target, then opens it): an open with
 * the same options takes its connections, mounted and with the file open,
 * instead of mounting again (about 14 round trips).  One slot; a client
 * never taken is left to the process's exit.
 */
static NFSClient *nfs_spare;

/* Take @spare's connections into @s (fresh); @spare is freed. */
static void nfs_client_adopt(NFSClient *s, NFSClient *spare)
{
    s->conns = g_steal_pointer(&spare->conns);
    net_pool_take_conns(&s->pool, &spare->pool);
    s->cache_used = spare->cache_used;
    nfs_client_close(spare);
    g_free(spare);
}

static bool coroutine_fn nfs_client_open(NFSClient *s, QDict *options,
                                         int open_flags, int flags,
                                         Error **errp)
{
    NFSOptions o;
    struct nfs_stat_64 st;
    g_autoptr(Error) err = NULL;
    bool ok = false;
    int i, ret;

    if (!nfs_take_options(options, &o, errp)) {
        goto out;
    }
    net_pool_init(&s->pool, qemu_get_current_aio_context(), o.depth);
    s->url = nfs_make_url(&o);
    s->key = nfs_options_key(&o, flags);
    if (nfs_spare && open_flags == O_RDWR &&
        nfs_spare->pool.ctx == s->pool.ctx &&
        !strcmp(nfs_spare->key, s->key)) {
        nfs_client_adopt(s, g_steal_pointer(&nfs_spare));
    } else {
        s->conns = g_new0(NFSConn, o.connections);
        for (i = 0; i < (int)o.connections; i++) {
            net_pool_add(&s->pool, &s->conns[i].nc, &nfs_conn_ops);
        }
        if (!nfs_co_conns_open(s, &o, open_flags, flags, errp)) {
            goto out;
        }
    }
    ret = nfs_co_call(&s->conns[0], nfs_send_fstat, NULL, &st, NULL, &err);
    if (ret < 0) {
        error_setg(errp, "Failed to fstat file: fstat call failed with "
                   "\"%s\"", error_get_pretty(err));
        goto out;
    }
    s->readmax = nfs_get_readmax(s->conns[0].nfs);
    s->writemax = nfs_get_writemax(s->conns[0].nfs);
    if (!s->readmax || !s->writemax) {
        s->readmax = s->writemax = 32768;   /* NFSv3 minimum, to be safe */
    }
    if (st.nfs_size > INT64_MAX) {
        error_setg(errp, "File too large");
        goto out;
    }
    s->size = st.nfs_size;
    s->blocks = st.nfs_blocks;
    s->has_zero_init = S_ISREG(st.nfs_mode);
    s->path = g_strdup(o.path);
    s->fileid = st.nfs_ino;
    s->uid = o.has_uid ? o.uid : getuid();
    s->gid = o.has_gid ? o.gid : getgid();
    /* SEEK is an optimisation: a server slow to answer it is done without */
    s->timeout_ms = MIN(o.timeout ? o.timeout : NFS_DEFAULT_TIMEOUT_S,
                        NFS_SEEK_TIMEOUT_S) * 1000;
    ok = true;
out:
    if (!ok) {
        nfs_client_close(s);
    }
    nfs_options_free(&o);
    return ok;
}

static bool coroutine_fn nfs_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    NFSClient *s = bs->opaque;

    if (!nfs_client_open(s, options, (flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY,
                         flags, errp)) {
        return false;
    }
    g_free(bs->filename);
    bs->filename = g_strdup(s->url);
    return true;
}

static void nfs_file_close(BlockDriverState *bs)
{
    nfs_client_close(bs->opaque);
}

static bool coroutine_fn nfs_co_create(const char *filename, QDict *opts,
                                       Error **errp)
{
    g_autofree NFSClient *s = g_new0(NFSClient, 1);
    g_autoptr(QObject) options = qdict_new();
    g_autoptr(Error) err = NULL;
    uint64_t size;
    int ret;

    if (!create_opt_get_size(opts, "size", 0, &size, errp)) {
        return false;
    }
    size = QEMU_ALIGN_UP(size, BDRV_SECTOR_SIZE);
    if (!nfs_parse_uri(filename, options, errp)) {
        return false;
    }
    /* all the URL's connections, at once: the open after this takes them */
    if (!nfs_client_open(s, options, O_RDWR | O_CREAT | O_TRUNC, 0, errp)) {
        return false;
    }
    ret = nfs_co_call(&s->conns[0], nfs_send_ftruncate, &size, NULL, NULL,
                      &err);
    if (ret < 0) {
        error_setg(errp, "Failed to truncate file: %s", error_get_pretty(err));
    }
    if (ret == 0 && !nfs_spare) {
        nfs_spare = g_steal_pointer(&s);
    } else {
        nfs_client_close(s);
    }
    return ret == 0;
}

static const CreateOptDesc nfs_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { NULL },
};

const BlockDriver bdrv_nfs = {
    .format_name = "nfs",
    .protocol_name = "nfs",
    .instance_size = sizeof(NFSClient),
    .canonical_filename = true,
    .parse_filename = nfs_parse_filename,
    .co_open = nfs_co_open,
    .close = nfs_file_close,
    .refresh_limits = nfs_refresh_limits,
    .co_preadv = nfs_co_preadv,
    .co_pwritev = nfs_co_pwritev,
    .co_flush_to_disk = nfs_co_flush_to_disk,
    .co_truncate = nfs_co_truncate,
    .co_getlength = nfs_co_getlength,
    .co_block_status = nfs_co_block_status,
    .co_get_allocated_file_size = nfs_co_get_allocated_file_size,
    .has_zero_init = nfs_has_zero_init,
    .co_create = nfs_co_create,
    .create_opts = nfs_create_opts,
};
