/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server (include/block/nbd-server.h), written from the NBD
 * protocol specification and QEMU 7.2's observable behaviour.
 *
 * Per client: one coroutine reads the handshake, then requests; each
 * request (its WRITE payload read first) runs in a coroutine of its own,
 * at most NBD_SRV_MAX_REQS at once, and sends its reply whole under the
 * socket's send lock.  Any malformed input from the client ends that
 * client only.  Meta contexts and BLOCK_STATUS: nbd-meta.c.
 */
#include "util/osdep.h"
#include "nbd-server-int.h"
#include "block/driver.h"
#include "util/bswap.h"

/* ---- exports ---- */

NBDExport *nbd_find_export(NBDServer *srv, const char *name)
{
    NBDExport *exp;

    QTAILQ_FOREACH(exp, &srv->exports, next) {
        if (!strcmp(exp->name, name)) {
            return exp;
        }
    }
    return NULL;
}

NBDServer *nbd_server_new(AioContext *ctx)
{
    NBDServer *srv = g_new0(NBDServer, 1);

    srv->ctx = ctx;
    QTAILQ_INIT(&srv->exports);
    QTAILQ_INIT(&srv->clients);
    return srv;
}

bool coroutine_fn nbd_server_co_add_export(NBDServer *srv,
                                          const NBDExportOptions *o,
                                          Error **errp)
{
    BlockDriverState *bs = blk_bs(o->blk);
    g_autofree BdrvDirtyBitmap **bms = g_new0(BdrvDirtyBitmap *,
                                              o->nr_bitmaps + 1);
    NBDExport *exp;
    int64_t size;
    int i;

    if (strlen(o->name) > NBD_SRV_MAX_STRING) {
        error_setg(errp, "export name '%s' too long", o->name);
        return false;
    }
    if (o->description && strlen(o->description) > NBD_SRV_MAX_STRING) {
        error_setg(errp, "description '%s' too long", o->description);
        return false;
    }
    if (nbd_find_export(srv, o->name)) {
        error_setg(errp, "NBD server already has export named '%s'",
                   o->name);
        return false;
    }
    for (i = 0; i < o->nr_bitmaps; i++) {
        const char *name = o->bitmaps[i];
        BlockDriverState *b;

        for (b = bs; b && !bms[i];
             b = bdrv_backing_bs(b) ? bdrv_backing_bs(b) : bdrv_file_bs(b)) {
            bms[i] = bdrv_dirty_bitmap_find(b, name);
        }
        if (!bms[i]) {
            error_setg(errp, "Bitmap '%s' is not found", name);
            return false;
        }
        if (!bdrv_dirty_bitmap_check_usable(bms[i], errp)) {
            return false;
        }
        if (!o->read_only && bdrv_dirty_bitmap_enabled(bms[i])) {
            error_setg(errp, "Enabled bitmap '%s' incompatible with "
                       "writable export", name);
            return false;
        }
    }
    size = bdrv_co_getlength(bs);
    if (size < 0) {
        error_setg_errno(errp, (int)-size, "Failed to determine the NBD "
                         "export's length");
        return false;
    }
    exp = g_new0(NBDExport, 1);
    exp->name = g_strdup(o->name);
    exp->description = g_strdup(o->description);
    exp->blk = o->blk;
    exp->size = size;
    exp->flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                 NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_CACHE;
    if (o->multi_conn) {
        exp->flags |= NBD_FLAG_CAN_MULTI_CONN;
    }
    if (o->read_only) {
        exp->flags |= NBD_FLAG_READ_ONLY;
    } else {
        exp->flags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
                      NBD_FLAG_SEND_FAST_ZERO;
    }
    exp->nr_bitmaps = o->nr_bitmaps;
    exp->bitmaps = g_steal_pointer(&bms);
    exp->bitmap_names = g_new0(char *, o->nr_bitmaps + 1);
    for (i = 0; i < o->nr_bitmaps; i++) {
        exp->bitmap_names[i] = g_strdup_printf("qemu:dirty-bitmap:%s",
                                               o->bitmaps[i]);
    }
    exp->allocation_depth = o->allocation_depth;
    QTAILQ_INSERT_TAIL(&srv->exports, exp, next);
    return true;
}

static void nbd_export_free(NBDExport *exp)
{
    g_free(exp->name);
    g_free(exp->description);
    g_strfreev(exp->bitmap_names);
    g_free(exp->bitmaps);
    g_free(exp);
}

int nbd_server_export_clients(NBDServer *srv, const char *name,
                              bool disconnect)
{
    NBDExport *exp = nbd_find_export(srv, name);
    NBDClient *c;
    int n = 0;

    QTAILQ_FOREACH(c, &srv->clients, next) {
        if (exp && c->exp == exp) {
            n++;
            if (disconnect) {
                co_socket_shutdown(c->sock);
            }
        }
    }
    return n;
}

bool nbd_server_remove_export(NBDServer *srv, const char *name)
{
    NBDExport *exp = nbd_find_export(srv, name);

    if (!exp || nbd_server_export_clients(srv, name, false) > 0) {
        return false;
    }
    QTAILQ_REMOVE(&srv->exports, exp, next);
    nbd_export_free(exp);
    return true;
}

int nbd_server_client_count(NBDServer *srv)
{
    return srv->nclients;
}

/* ---- handshake ---- */

int coroutine_fn nbd_send_rep(NBDClient *c, uint32_t opt, uint32_t type,
                              const void *data, uint32_t len)
{
    uint8_t hdr[20];
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = sizeof(hdr) },
        { .iov_base = (void *)data, .iov_len = len },
    };

    stq_be_p(hdr, NBD_REP_MAGIC);
    stl_be_p(hdr + 8, opt);
    stl_be_p(hdr + 12, type);
    stl_be_p(hdr + 16, len);
    return co_socket_writev(c->sock, iov, len ? 2 : 1);
}

int coroutine_fn nbd_send_rep_err(NBDClient *c, uint32_t opt, uint32_t type,
                                  const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return nbd_send_rep(c, opt, type, msg, strlen(msg));
}

uint32_t nbd_opt_get(NBDOpt *o, uint32_t n)
{
    uint32_t v;

    if (o->len - o->pos < n) {
        o->bad = true;
        return 0;
    }
    v = n == 4 ? ldl_be_p(o->data + o->pos) : lduw_be_p(o->data + o->pos);
    o->pos += n;
    return v;
}

char *nbd_opt_get_string(NBDOpt *o)
{
    uint32_t n = nbd_opt_get(o, 4);

    if (o->bad || n > NBD_SRV_MAX_STRING || o->len - o->pos < n) {
        o->bad = true;
        return NULL;
    }
    o->pos += n;
    return g_strndup((char *)o->data + o->pos - n, n);
}

int coroutine_fn nbd_opt_bad_len(NBDClient *c, NBDOpt *o)
{
    return nbd_send_rep_err(c, o->opt, NBD_REP_ERR_INVALID,
                            "Invalid length %" PRIu32 " for option", o->len);
}

/* Send an NBD_REP_INFO of @type with @len bytes of @data. */
static int coroutine_fn nbd_send_info(NBDClient *c, uint32_t opt,
                                      uint16_t type, const void *data,
                                      uint32_t len)
{
    g_autofree uint8_t *buf = g_malloc(2 + len);

    stw_be_p(buf, type);
    if (len) {
        memcpy(buf + 2, data, len);
    }
    return nbd_send_rep(c, opt, NBD_REP_INFO, buf, 2 + len);
}

static uint32_t nbd_request_alignment(NBDExport *exp)
{
    return blk_bs(exp->blk)->bl.request_alignment;
}

/* OPT_INFO and OPT_GO.  1: GO succeeded, transmission begins. */
static int coroutine_fn nbd_opt_info(NBDClient *c, NBDOpt *o)
{
    g_autofree char *name = nbd_opt_get_string(o);
    bool want_name = false, want_sizes = false;
    uint16_t n = nbd_opt_get(o, 2), i;
    uint32_t sizes[3], min, max;
    uint8_t buf[10];
    NBDExport *exp;
    int ret;

    for (i = 0; i < n && !o->bad; i++) {
        uint16_t req = nbd_opt_get(o, 2);

        want_name |= req == NBD_INFO_NAME;
        want_sizes |= req == NBD_INFO_BLOCK_SIZE;
    }
    if (o->bad || o->pos != o->len) {
        return nbd_opt_bad_len(c, o);
    }
    exp = nbd_find_export(c->srv, name);
    if (!exp) {
        return nbd_send_rep_err(c, o->opt, NBD_REP_ERR_UNKNOWN,
                                "export '%s' not present", name);
    }
    if (want_name &&
        (ret = nbd_send_info(c, o->opt, NBD_INFO_NAME, name,
                             strlen(name))) < 0) {
        return ret;
    }
    if (exp->description &&
        (ret = nbd_send_info(c, o->opt, NBD_INFO_DESCRIPTION,
                             exp->description,
                             strlen(exp->description))) < 0) {
        return ret;
    }
    /* as 7.2: the true minimum only to a client that will obey it */
    min = (o->opt == NBD_OPT_INFO || want_sizes) ? nbd_request_alignment(exp)
                                                 : 1;
    max = blk_bs(exp->blk)->bl.max_transfer;
    max = max ? MIN(max, NBD_SRV_MAX_BUFFER) : NBD_SRV_MAX_BUFFER;
    stl_be_p(&sizes[0], min);
    stl_be_p(&sizes[1], MAX(4096, min));
    stl_be_p(&sizes[2], max);
    if ((ret = nbd_send_info(c, o->opt, NBD_INFO_BLOCK_SIZE, sizes,
                             sizeof(sizes))) < 0) {
        return ret;
    }
    stq_be_p(buf, exp->size);
    stw_be_p(buf + 8, exp->flags | (c->structured ? NBD_FLAG_SEND_DF : 0));
    if ((ret = nbd_send_info(c, o->opt, NBD_INFO_EXPORT, buf,
                             sizeof(buf))) < 0) {
        return ret;
    }
    if (o->opt == NBD_OPT_INFO && !want_sizes &&
        nbd_request_alignment(exp) > 1) {
        return nbd_send_rep_err(c, o->opt, NBD_REP_ERR_BLOCK_SIZE_REQD,
                                "request NBD_INFO_BLOCK_SIZE to use this "
                                "export");
    }
    if ((ret = nbd_send_rep(c, o->opt, NBD_REP_ACK, NULL, 0)) < 0) {
        return ret;
    }
    if (o->opt == NBD_OPT_GO) {
        /* contexts set for another export do not carry over */
        if (c->exp != exp) {
            nbd_meta_reset(c, exp);
        }
        c->check_align = want_sizes;
        return 1;
    }
    return 0;
}

static int coroutine_fn nbd_opt_list(NBDClient *c, NBDOpt *o)
{
    NBDExport *exp;
    int ret;

    if (o->len) {
        return nbd_opt_bad_len(c, o);
    }
    QTAILQ_FOREACH(exp, &c->srv->exports, next) {
        size_t nl = strlen(exp->name);
        size_t dl = exp->description ? strlen(exp->description) : 0;
        g_autofree uint8_t *buf = g_malloc(4 + nl + dl);

        stl_be_p(buf, nl);
        memcpy(buf + 4, exp->name, nl);
        if (dl) {
            memcpy(buf + 4 + nl, exp->description, dl);
        }
        if ((ret = nbd_send_rep(c, o->opt, NBD_REP_SERVER, buf,
                                4 + nl + dl)) < 0) {
            return ret;
        }
    }
    return nbd_send_rep(c, o->opt, NBD_REP_ACK, NULL, 0);
}

static int coroutine_fn nbd_co_negotiate(NBDClient *c)
{
    uint8_t hdr[18], ohdr[16];
    uint32_t cflags;
    bool no_zeroes;
    int ret;

    stq_be_p(hdr, NBD_INIT_MAGIC);
    stq_be_p(hdr + 8, NBD_OPTS_MAGIC);
    stw_be_p(hdr + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    if ((ret = co_socket_write(c->sock, hdr, sizeof(hdr))) < 0 ||
        (ret = co_socket_read(c->sock, &cflags, 4)) < 0) {
        return ret;
    }
    cflags = be32toh(cflags);
    if (cflags & ~(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES) ||
        !(cflags & NBD_FLAG_FIXED_NEWSTYLE)) {
        return -EINVAL;         /* unknown client flags: disconnect */
    }
    no_zeroes = cflags & NBD_FLAG_NO_ZEROES;
    for (;;) {
        g_autofree uint8_t *data = NULL;
        NBDOpt o = { 0 };

        if ((ret = co_socket_read(c->sock, ohdr, sizeof(ohdr))) < 0) {
            return ret;
        }
        if (ldq_be_p(ohdr) != NBD_OPTS_MAGIC) {
            return -EINVAL;
        }
        o.opt = ldl_be_p(ohdr + 8);
        o.len = ldl_be_p(ohdr + 12);
        if (o.len > NBD_SRV_MAX_BUFFER) {
            return -EINVAL;     /* cannot skip it safely: disconnect */
        }
        o.data = data = g_malloc(MAX(o.len, 1));
        if ((ret = co_socket_read(c->sock, data, o.len)) < 0) {
            return ret;
        }
        switch (o.opt) {
        case NBD_OPT_EXPORT_NAME: {
            g_autofree char *name = g_strndup((char *)data, o.len);
            uint8_t reply[10 + 124] = { 0 };

            nbd_meta_reset(c, nbd_find_export(c->srv, name));
            if (!c->exp || o.len > NBD_SRV_MAX_STRING) {
                return -ENOENT; /* no way to say so but hanging up */
            }
            stq_be_p(reply, c->exp->size);
            stw_be_p(reply + 8, c->exp->flags |
                     (c->structured ? NBD_FLAG_SEND_DF : 0));
            ret = co_socket_write(c->sock, reply, no_zeroes ? 10 : 134);
            return ret < 0 ? ret : 0;
        }
        case NBD_OPT_ABORT:
            nbd_send_rep(c, o.opt, NBD_REP_ACK, NULL, 0);
            return -ECONNRESET;
        case NBD_OPT_LIST:
            ret = nbd_opt_list(c, &o);
            break;
        case NBD_OPT_INFO:
        case NBD_OPT_GO:
            ret = nbd_opt_info(c, &o);
            if (ret == 1) {
                return 0;
            }
            break;
        case NBD_OPT_STARTTLS:
            ret = o.len ? nbd_opt_bad_len(c, &o)
                        : nbd_send_rep_err(c, o.opt, NBD_REP_ERR_POLICY,
                                           "TLS not configured");
            break;
        case NBD_OPT_STRUCTURED_REPLY:
            if (o.len) {
                ret = nbd_opt_bad_len(c, &o);
            } else if (c->structured) {
                ret = nbd_send_rep_err(c, o.opt, NBD_REP_ERR_INVALID,
                                       "structured reply already "
                                       "negotiated");
            } else {
                c->structured = true;
                ret = nbd_send_rep(c, o.opt, NBD_REP_ACK, NULL, 0);
            }
            break;
        case NBD_OPT_LIST_META_CONTEXT:
        case NBD_OPT_SET_META_CONTEXT:
            ret = nbd_opt_meta(c, &o);
            break;
        default:
            ret = nbd_send_rep_err(c, o.opt, NBD_REP_ERR_UNSUP,
                                   "Unsupported option %" PRIu32, o.opt);
            break;
        }
        if (ret < 0) {
            return ret;
        }
    }
}

/* ---- transmission: replies ---- */

static uint32_t nbd_errno_to_wire(int err)
{
    switch (err) {
    case 0:
        return 0;
    case EPERM:
    case EROFS:
        return NBD_EPERM;
    case EIO:
        return NBD_EIO;
    case ENOMEM:
        return NBD_ENOMEM;
    case EDQUOT:
    case EFBIG:
    case ENOSPC:
        return NBD_ENOSPC;
    case EOVERFLOW:
        return NBD_EOVERFLOW;
    case ENOTSUP:
        return NBD_ENOTSUP;
    case ESHUTDOWN:
        return NBD_ESHUTDOWN;
    default:
        return NBD_EINVAL;
    }
}

/* A simple reply (and for a successful READ, its data). */
static int coroutine_fn nbd_reply_simple(NBDRequest *r, int err,
                                         const void *data, uint32_t len)
{
    uint8_t hdr[16];
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = sizeof(hdr) },
        { .iov_base = (void *)data, .iov_len = len },
    };

    stl_be_p(hdr, NBD_SIMPLE_REPLY_MAGIC);
    stl_be_p(hdr + 4, nbd_errno_to_wire(err));
    stq_be_p(hdr + 8, r->handle);
    return co_socket_writev(r->client->sock, iov, err || !len ? 1 : 2);
}

/* One structured chunk: header, then @niov pieces of payload. */
int coroutine_fn nbd_reply_chunk(NBDRequest *r, uint16_t flags,
                                        uint16_t type, struct iovec *iov,
                                        int niov)
{
    uint8_t hdr[20];
    struct iovec v[4];
    uint32_t len = 0;
    int i;

    assert(niov < 4);
    for (i = 0; i < niov; i++) {
        len += iov[i].iov_len;
        v[i + 1] = iov[i];
    }
    stl_be_p(hdr, NBD_STRUCTURED_REPLY_MAGIC);
    stw_be_p(hdr + 4, flags);
    stw_be_p(hdr + 6, type);
    stq_be_p(hdr + 8, r->handle);
    stl_be_p(hdr + 16, len);
    v[0] = (struct iovec) { .iov_base = hdr, .iov_len = sizeof(hdr) };
    return co_socket_writev(r->client->sock, v, niov + 1);
}

/* The reply to @r: success (with READ data), or -@err with @msg. */
int coroutine_fn nbd_reply(NBDRequest *r, int err, const char *msg)
{
    NBDClient *c = r->client;
    int ret;

    co_socket_lock_send(c->sock);
    if (!c->structured) {
        ret = nbd_reply_simple(r, err, r->data,
                               r->type == NBD_CMD_READ ? r->len : 0);
    } else if (err) {
        uint8_t e[6];
        struct iovec iov[2] = {
            { .iov_base = e, .iov_len = sizeof(e) },
            { .iov_base = (void *)msg, .iov_len = msg ? strlen(msg) : 0 },
        };

        stl_be_p(e, nbd_errno_to_wire(err));
        stw_be_p(e + 4, iov[1].iov_len);
        ret = nbd_reply_chunk(r, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
                              iov, 2);
    } else if (r->type == NBD_CMD_READ && r->len) {
        uint8_t off[8];
        struct iovec iov[2] = {
            { .iov_base = off, .iov_len = sizeof(off) },
            { .iov_base = r->data, .iov_len = r->len },
        };

        stq_be_p(off, r->offset);
        ret = nbd_reply_chunk(r, NBD_REPLY_FLAG_DONE,
                              NBD_REPLY_TYPE_OFFSET_DATA, iov, 2);
    } else if (r->type == NBD_CMD_READ) {
        ret = nbd_reply_chunk(r, NBD_REPLY_FLAG_DONE, 0, NULL, 0);
    } else {
        ret = nbd_reply_simple(r, 0, NULL, 0);
    }
    co_socket_unlock_send(c->sock);
    return ret;
}

/* ---- transmission: requests ---- */

/*
 * A structured READ without DF, as 7.2 serves it: the range by block
 * status, zeroes as OFFSET_HOLE chunks (not read: a sparse file stays
 * sparse, nothing read for nothing), data read and sent as OFFSET_DATA.
 */
static int coroutine_fn nbd_co_sparse_read(NBDRequest *r)
{
    NBDClient *c = r->client;
    BlockDriverState *bs = blk_bs(c->exp->blk);
    uint64_t pos = 0;
    int ret = 0;

    while (pos < r->len) {
        int64_t n;
        uint8_t hdr[12];
        struct iovec iov[2] = { { .iov_base = hdr } };
        bool last;
        int st = bdrv_co_block_status_above(bs, NULL, false, true,
                                            r->offset + pos, r->len - pos,
                                            &n, NULL, NULL, NULL);

        if (st < 0 || n <= 0) {
            return nbd_reply(r, st < 0 ? -st : EIO, "reading from file failed");
        }
        n = MIN(n, (int64_t)(r->len - pos));
        last = pos + n == r->len;
        stq_be_p(hdr, r->offset + pos);
        if (st & BDRV_BLOCK_ZERO) {
            stl_be_p(hdr + 8, n);
            iov[0].iov_len = 12;
            co_socket_lock_send(c->sock);
            ret = nbd_reply_chunk(r, last ? NBD_REPLY_FLAG_DONE : 0,
                                  NBD_REPLY_TYPE_OFFSET_HOLE, iov, 1);
            co_socket_unlock_send(c->sock);
        } else {
            ret = blk_co_pread(c->exp->blk, r->offset + pos, n,
                               r->data + pos, 0);
            if (ret < 0) {
                return nbd_reply(r, -ret, "reading from file failed");
            }
            iov[0].iov_len = 8;
            iov[1] = (struct iovec) { .iov_base = r->data + pos,
                                      .iov_len = n };
            co_socket_lock_send(c->sock);
            ret = nbd_reply_chunk(r, last ? NBD_REPLY_FLAG_DONE : 0,
                                  NBD_REPLY_TYPE_OFFSET_DATA, iov, 2);
            co_socket_unlock_send(c->sock);
        }
        if (ret < 0) {
            return ret;
        }
        pos += n;
    }
    return 0;
}

/* Run @r and send its reply.  -errno only when the socket failed. */
static int coroutine_fn nbd_co_handle(NBDRequest *r)
{
    NBDExport *exp = r->client->exp;
    BlockBackend *blk = exp->blk;
    int ret = 0;

    if (r->error) {
        return nbd_reply(r, -r->error, "invalid request");
    }
    switch (r->type) {
    case NBD_CMD_READ:
        if (r->client->structured && !(r->flags & NBD_CMD_FLAG_DF) &&
            r->len) {
            return nbd_co_sparse_read(r);
        }
        ret = blk_co_pread(blk, r->offset, r->len, r->data, 0);
        break;
    case NBD_CMD_WRITE:
        ret = blk_co_pwrite(blk, r->offset, r->len, r->data,
                            r->flags & NBD_CMD_FLAG_FUA ? BDRV_REQ_FUA : 0);
        break;
    case NBD_CMD_FLUSH:
        ret = blk_co_flush(blk);
        break;
    case NBD_CMD_TRIM:
        ret = blk_co_pdiscard(blk, r->offset, r->len);
        if (ret == 0 && (r->flags & NBD_CMD_FLAG_FUA)) {
            ret = blk_co_flush(blk);
        }
        break;
    case NBD_CMD_WRITE_ZEROES: {
        BdrvRequestFlags f = 0;

        if (!(r->flags & NBD_CMD_FLAG_NO_HOLE)) {
            f |= BDRV_REQ_MAY_UNMAP;
        }
        if (r->flags & NBD_CMD_FLAG_FUA) {
            f |= BDRV_REQ_FUA;
        }
        if (r->flags & NBD_CMD_FLAG_FAST_ZERO) {
            f |= BDRV_REQ_NO_FALLBACK;
        }
        ret = blk_co_pwrite_zeroes(blk, r->offset, r->len, f);
        break;
    }
    case NBD_CMD_CACHE:
        ret = 0;                /* a hint; nothing here caches */
        break;
    case NBD_CMD_BLOCK_STATUS:
        return nbd_co_block_status(r);
    }
    return nbd_reply(r, ret < 0 ? -ret : 0,
                     ret < 0 ? g_strerror(-ret) : NULL);
}

static void nbd_client_put_req(NBDClient *c)
{
    c->in_flight--;
    qemu_co_queue_next(&c->reqs_wait);
}

static void coroutine_fn nbd_co_request_entry(void *opaque)
{
    NBDRequest *r = opaque;
    NBDClient *c = r->client;

    if (nbd_co_handle(r) < 0) {
        co_socket_shutdown(c->sock);
    }
    blk_buf_free(r->data);
    g_free(r);
    nbd_client_put_req(c);
}

/*
 * Check @r against the export and the protocol.  A payload that cannot
 * be read safely (WRITE longer than the buffer limit) ends the client:
 * false.  Other faults set r->error for an error reply.
 */
static bool nbd_check_request(NBDClient *c, NBDRequest *r)
{
    NBDExport *exp = c->exp;
    uint16_t known = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
    uint32_t align = c->check_align ? nbd_request_alignment(exp) : 1;

    if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
        r->len > NBD_SRV_MAX_BUFFER) {
        if (r->type == NBD_CMD_WRITE) {
            return false;
        }
        r->error = EINVAL;
        return true;
    }
    if (r->type > NBD_CMD_BLOCK_STATUS || r->type == NBD_CMD_DISC) {
        r->error = EINVAL;
        return true;
    }
    if (r->type == NBD_CMD_READ && c->structured) {
        known |= NBD_CMD_FLAG_DF;
    }
    if (r->type == NBD_CMD_BLOCK_STATUS) {
        known |= NBD_CMD_FLAG_REQ_ONE;
    }
    if (r->type == NBD_CMD_WRITE_ZEROES) {
        known |= NBD_CMD_FLAG_FAST_ZERO;
    }
    if (r->flags & ~known) {
        r->error = EINVAL;
    } else if (r->type != NBD_CMD_FLUSH &&
               (r->offset > (uint64_t)exp->size ||
                r->len > (uint64_t)exp->size - r->offset)) {
        r->error = r->type == NBD_CMD_WRITE ? ENOSPC : EINVAL;
    } else if (r->type != NBD_CMD_FLUSH &&
               (r->offset % align || r->len % align)) {
        r->error = EINVAL;
    } else if ((exp->flags & NBD_FLAG_READ_ONLY) &&
               (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
                r->type == NBD_CMD_WRITE_ZEROES)) {
        r->error = EPERM;
    } else if (r->type == NBD_CMD_BLOCK_STATUS &&
               !nbd_meta_any(c)) {
        r->error = EINVAL;
    } else if (r->type == NBD_CMD_BLOCK_STATUS && !r->len) {
        r->error = EINVAL;
    }
    return true;
}

/* Read requests and start each in its own coroutine, until DISC or EOF. */
static void coroutine_fn nbd_co_transmission(NBDClient *c)
{
    for (;;) {
        uint8_t hdr[28];
        NBDRequest *r;

        while (c->in_flight >= NBD_SRV_MAX_REQS) {
            qemu_co_queue_wait(&c->reqs_wait, NULL);
        }
        if (co_socket_read(c->sock, hdr, sizeof(hdr)) < 0 ||
            ldl_be_p(hdr) != NBD_REQUEST_MAGIC) {
            return;
        }
        r = g_new0(NBDRequest, 1);
        r->client = c;
        r->flags = lduw_be_p(hdr + 4);
        r->type = lduw_be_p(hdr + 6);
        r->handle = ldq_be_p(hdr + 8);
        r->offset = ldq_be_p(hdr + 16);
        r->len = ldl_be_p(hdr + 24);
        if (r->type == NBD_CMD_DISC) {
            g_free(r);
            return;
        }
        if (!nbd_check_request(c, r)) {
            g_free(r);
            return;
        }
        if ((r->type == NBD_CMD_READ && !r->error) ||
            r->type == NBD_CMD_WRITE) {
            r->data = blk_buf_alloc(blk_bs(c->exp->blk), MAX(r->len, 1));
        }
        if (r->type == NBD_CMD_WRITE &&
            co_socket_read(c->sock, r->data, r->len) < 0) {
            blk_buf_free(r->data);
            g_free(r);
            return;
        }
        c->in_flight++;
        aio_co_schedule(c->srv->ctx,
                        qemu_coroutine_create(nbd_co_request_entry, r));
    }
}

/* ---- clients ---- */

static void coroutine_fn nbd_co_client_entry(void *opaque)
{
    NBDClient *c = opaque;
    NBDServer *srv = c->srv;

    if (nbd_co_negotiate(c) == 0) {
        c->negotiated = true;
        nbd_co_transmission(c);
    }
    /* the requests still running reply to a socket that is going away */
    co_socket_shutdown(c->sock);
    while (c->in_flight > 0) {
        qemu_co_queue_wait(&c->reqs_wait, NULL);
    }
    QTAILQ_REMOVE(&srv->clients, c, next);
    srv->nclients--;
    co_socket_free(c->sock);
    if (c->closed) {
        c->closed(c->opaque, c->negotiated);
    }
    g_free(c->meta_set);
    g_free(c);
}

void nbd_server_add_client(NBDServer *srv, int fd,
                           void (*closed)(void *opaque, bool negotiated),
                           void *opaque)
{
    NBDClient *c = g_new0(NBDClient, 1);

    c->srv = srv;
    c->sock = co_socket_new(srv->ctx, fd);
    c->closed = closed;
    c->opaque = opaque;
    qemu_co_queue_init(&c->reqs_wait);
    QTAILQ_INSERT_TAIL(&srv->clients, c, next);
    srv->nclients++;
    aio_co_schedule(srv->ctx, qemu_coroutine_create(nbd_co_client_entry, c));
}

void nbd_server_close_clients(NBDServer *srv)
{
    NBDClient *c;

    QTAILQ_FOREACH(c, &srv->clients, next) {
        co_socket_shutdown(c->sock);
    }
}

void nbd_server_free(NBDServer *srv)
{
    NBDExport *exp, *next;

    if (!srv) {
        return;
    }
    assert(QTAILQ_EMPTY(&srv->clients));
    QTAILQ_FOREACH_SAFE(exp, &srv->exports, next, next) {
        QTAILQ_REMOVE(&srv->exports, exp, next);
        nbd_export_free(exp);
    }
    g_free(srv);
}
