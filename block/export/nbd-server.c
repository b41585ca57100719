/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server (include/block/nbd-server.h), written from the NBD
 * protocol specification and QEMU 7.2's observable behaviour.
 *
 * Per client: one coroutine reads the handshake, then requests; each
 * request (its WRITE payload read first) runs in a coroutine of its own,
 * at most NBD_SRV_MAX_REQS at once, and sends its reply whole under the
 * socket's send lock.  Any malformed input from the client ends that
 * client only.
 */
#include "util/osdep.h"
#include "block/nbd-server.h"
#include "block/block.h"
#include "block/driver.h"
#include "block/dirty-bitmap.h"
#include "util/bswap.h"
#include "util/co-socket.h"
#include "util/coroutine.h"

#define NBD_INIT_MAGIC          0x4e42444d41474943ULL   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC          0x49484156454F5054ULL   /* "IHAVEOPT" */
#define NBD_REP_MAGIC           0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC       0x25609513
#define NBD_SIMPLE_REPLY_MAGIC  0x67446698
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33ef

#define NBD_FLAG_FIXED_NEWSTYLE (1 << 0)
#define NBD_FLAG_NO_ZEROES      (1 << 1)

enum {
    NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3,
    NBD_OPT_STARTTLS = 5, NBD_OPT_INFO = 6, NBD_OPT_GO = 7,
    NBD_OPT_STRUCTURED_REPLY = 8, NBD_OPT_LIST_META_CONTEXT = 9,
    NBD_OPT_SET_META_CONTEXT = 10,
};
#define NBD_REP_ACK             1
#define NBD_REP_SERVER          2
#define NBD_REP_INFO            3
#define NBD_REP_META_CONTEXT    4
#define NBD_REP_ERR(n)          ((1u << 31) | (n))
#define NBD_REP_ERR_UNSUP       NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY      NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID     NBD_REP_ERR(3)
#define NBD_REP_ERR_UNKNOWN     NBD_REP_ERR(6)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8)

#define NBD_INFO_EXPORT         0
#define NBD_INFO_NAME           1
#define NBD_INFO_DESCRIPTION    2
#define NBD_INFO_BLOCK_SIZE     3

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS      (1 << 0)
#define NBD_FLAG_READ_ONLY      (1 << 1)
#define NBD_FLAG_SEND_FLUSH     (1 << 2)
#define NBD_FLAG_SEND_FUA       (1 << 3)
#define NBD_FLAG_SEND_TRIM      (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1 << 6)
#define NBD_FLAG_SEND_DF        (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN (1 << 8)
#define NBD_FLAG_SEND_CACHE     (1 << 10)
#define NBD_FLAG_SEND_FAST_ZERO (1 << 11)

enum {
    NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3,
    NBD_CMD_TRIM = 4, NBD_CMD_CACHE = 5, NBD_CMD_WRITE_ZEROES = 6,
    NBD_CMD_BLOCK_STATUS = 7,
};
#define NBD_CMD_FLAG_FUA        (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE    (1 << 1)
#define NBD_CMD_FLAG_DF         (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE    (1 << 3)
#define NBD_CMD_FLAG_FAST_ZERO  (1 << 4)

#define NBD_REPLY_FLAG_DONE     (1 << 0)
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR    ((1 << 15) + 1)

/* errors on the wire */
#define NBD_EPERM       1
#define NBD_EIO         5
#define NBD_ENOMEM      12
#define NBD_EINVAL      22
#define NBD_ENOSPC      28
#define NBD_EOVERFLOW   75
#define NBD_ENOTSUP     95
#define NBD_ESHUTDOWN   108

#define NBD_STATE_HOLE  1
#define NBD_STATE_ZERO  2
#define NBD_STATE_DIRTY 1

/* The most a request's payload (WRITE) or reply's data (READ) may be. */
#define NBD_SRV_MAX_BUFFER      (32 * 1024 * 1024)
#define NBD_SRV_MAX_STRING      4096
/* Requests of one client served at once (7.2's NBD_MAX_REQS). */
#define NBD_SRV_MAX_REQS        16
/* Extents in one BLOCK_STATUS reply. */
#define NBD_SRV_MAX_EXTENTS     (1024 * 1024 / 8)
/* Meta context ids, as 7.2 numbers them. */
#define NBD_META_BASE           0
#define NBD_META_DEPTH          1
#define NBD_META_BITMAP         2   /* the first; one id per bitmap */

struct NBDExport {
    char *name;
    char *description;
    BlockBackend *blk;
    int64_t size;
    uint16_t flags;
    int nr_bitmaps;
    char **bitmap_names;        /* with "qemu:dirty-bitmap:" */
    BdrvDirtyBitmap **bitmaps;
    bool allocation_depth;
    QTAILQ_ENTRY(NBDExport) next;
};

typedef struct NBDClient {
    NBDServer *srv;
    CoSocket *sock;
    NBDExport *exp;             /* chosen by OPT_GO / EXPORT_NAME */
    bool structured;
    bool check_align;           /* the client asked for block sizes */
    /* meta contexts set for exp, by id: base, depth, each bitmap */
    bool *meta_set;
    int meta_count;
    int in_flight;
    CoQueue reqs_wait;          /* the reader waiting for a free request */
    bool closing;
    void (*closed)(void *opaque, bool negotiated);
    void *opaque;
    bool negotiated;
    QTAILQ_ENTRY(NBDClient) next;
} NBDClient;

struct NBDServer {
    AioContext *ctx;
    QTAILQ_HEAD(, NBDExport) exports;
    QTAILQ_HEAD(, NBDClient) clients;
    int nclients;
};

/* A request read off the socket, run in its own coroutine. */
typedef struct NBDRequest {
    NBDClient *client;
    uint16_t flags, type;
    uint64_t handle, offset;
    uint32_t len;
    uint8_t *data;              /* WRITE payload, READ buffer */
    int error;                  /* -errno found while receiving */
} NBDRequest;

/* ---- exports ---- */

static NBDExport *nbd_find_export(NBDServer *srv, const char *name)
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

int nbd_server_client_count(NBDServer *srv)
{
    return srv->nclients;
}

/* ---- meta contexts of a client ---- */

/* @exp (or none) chosen: no context set, room for each of its own. */
static void nbd_meta_reset(NBDClient *c, NBDExport *exp)
{
    c->exp = exp;
    c->meta_count = exp ? NBD_META_BITMAP + exp->nr_bitmaps : 0;
    g_free(c->meta_set);
    c->meta_set = g_new0(bool, c->meta_count + 1);
}

static bool nbd_meta_any(NBDClient *c)
{
    int id;

    for (id = 0; id < c->meta_count; id++) {
        if (c->meta_set[id]) {
            return true;
        }
    }
    return false;
}

/* ---- handshake ---- */

static int coroutine_fn nbd_send_rep(NBDClient *c, uint32_t opt,
                                     uint32_t type, const void *data,
                                     uint32_t len)
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

static int coroutine_fn nbd_send_rep_err(NBDClient *c, uint32_t opt,
                                         uint32_t type, const char *fmt, ...)
    QEMU_PRINTF(4, 5);

static int coroutine_fn nbd_send_rep_err(NBDClient *c, uint32_t opt,
                                         uint32_t type, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return nbd_send_rep(c, opt, type, msg, strlen(msg));
}

/* The option's data, read whole (at most NBD_SRV_MAX_BUFFER: checked). */
typedef struct NBDOpt {
    uint32_t opt;
    uint8_t *data;
    uint32_t len, pos;
    bool bad;                   /* read past the end */
} NBDOpt;

/* The next @n (2 or 4) bytes, big-endian; 0 and o->bad past the end. */
static uint32_t opt_get(NBDOpt *o, uint32_t n)
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

/* A length-prefixed string of at most NBD_SRV_MAX_STRING bytes, or NULL. */
static char *opt_get_string(NBDOpt *o)
{
    uint32_t n = opt_get(o, 4);

    if (o->bad || n > NBD_SRV_MAX_STRING || o->len - o->pos < n) {
        o->bad = true;
        return NULL;
    }
    o->pos += n;
    return g_strndup((char *)o->data + o->pos - n, n);
}

/* The option's length does not fit what it holds. */
static int coroutine_fn nbd_opt_bad_len(NBDClient *c, NBDOpt *o)
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
    g_autofree char *name = opt_get_string(o);
    bool want_name = false, want_sizes = false;
    uint16_t n = opt_get(o, 2), i;
    uint32_t sizes[3], min, max;
    uint8_t buf[10];
    NBDExport *exp;
    int ret;

    for (i = 0; i < n && !o->bad; i++) {
        uint16_t req = opt_get(o, 2);

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

/* One context of @exp named @name (id in *@id), or -1. */
static bool nbd_meta_lookup(NBDExport *exp, const char *name, int *id)
{
    if (!strcmp(name, "base:allocation")) {
        *id = NBD_META_BASE;
    } else if (exp->allocation_depth &&
               !strcmp(name, "qemu:allocation-depth")) {
        *id = NBD_META_DEPTH;
    } else {
        int i;

        for (i = 0; i < exp->nr_bitmaps; i++) {
            if (!strcmp(name, exp->bitmap_names[i])) {
                *id = NBD_META_BITMAP + i;
                return true;
            }
        }
        return false;
    }
    return true;
}

static const char *nbd_meta_name(NBDExport *exp, int id)
{
    return id == NBD_META_BASE ? "base:allocation" :
           id == NBD_META_DEPTH ? "qemu:allocation-depth" :
           exp->bitmap_names[id - NBD_META_BITMAP];
}

/* Every bitmap context of @exp selected in @sel. */
static void nbd_meta_all_bitmaps(NBDExport *exp, bool *sel)
{
    int i;

    for (i = 0; i < exp->nr_bitmaps; i++) {
        sel[NBD_META_BITMAP + i] = true;
    }
}

/* Which contexts @query selects: one name, or a namespace's listing. */
static void nbd_meta_query(NBDExport *exp, const char *query, bool list,
                           bool *sel)
{
    int id;

    if (nbd_meta_lookup(exp, query, &id)) {
        sel[id] = true;
    } else if (list && (!strcmp(query, "base:"))) {
        sel[NBD_META_BASE] = true;
    } else if (list && !strcmp(query, "qemu:")) {
        sel[NBD_META_DEPTH] = exp->allocation_depth;
        nbd_meta_all_bitmaps(exp, sel);
    } else if (list && !strcmp(query, "qemu:dirty-bitmap:")) {
        nbd_meta_all_bitmaps(exp, sel);
    }
}

static int coroutine_fn nbd_opt_meta(NBDClient *c, NBDOpt *o)
{
    bool list = o->opt == NBD_OPT_LIST_META_CONTEXT;
    g_autofree char *name = NULL;
    g_autofree bool *sel = NULL;
    NBDExport *exp;
    uint32_t n, i;
    int id, ret;

    if (!c->structured) {
        return nbd_send_rep_err(c, o->opt, NBD_REP_ERR_INVALID,
                                "need to negotiate structured reply first");
    }
    name = opt_get_string(o);
    n = opt_get(o, 4);
    if (o->bad) {
        return nbd_opt_bad_len(c, o);
    }
    exp = nbd_find_export(c->srv, name);
    if (!exp) {
        return nbd_send_rep_err(c, o->opt, NBD_REP_ERR_UNKNOWN,
                                "export '%s' not present", name);
    }
    sel = g_new0(bool, NBD_META_BITMAP + exp->nr_bitmaps);
    if (list && n == 0) {
        sel[NBD_META_BASE] = true;
        sel[NBD_META_DEPTH] = exp->allocation_depth;
        nbd_meta_all_bitmaps(exp, sel);
    }
    for (i = 0; i < n; i++) {
        g_autofree char *q = opt_get_string(o);

        if (o->bad) {
            return nbd_opt_bad_len(c, o);
        }
        nbd_meta_query(exp, q, list, sel);
    }
    if (o->pos != o->len) {
        return nbd_opt_bad_len(c, o);
    }
    for (id = 0; id < NBD_META_BITMAP + exp->nr_bitmaps; id++) {
        const char *cn;
        g_autofree uint8_t *buf = NULL;

        if (!sel[id]) {
            continue;
        }
        cn = nbd_meta_name(exp, id);
        buf = g_malloc(4 + strlen(cn));
        stl_be_p(buf, list ? 0 : id);
        memcpy(buf + 4, cn, strlen(cn));
        if ((ret = nbd_send_rep(c, o->opt, NBD_REP_META_CONTEXT, buf,
                                4 + strlen(cn))) < 0) {
            return ret;
        }
    }
    if (!list) {
        nbd_meta_reset(c, exp);
        g_free(c->meta_set);
        c->meta_set = g_steal_pointer(&sel);
    }
    return nbd_send_rep(c, o->opt, NBD_REP_ACK, NULL, 0);
}

/*
 * The handshake.  0: transmission begins (c->exp set); -errno: the client
 * goes (a clean NBD_OPT_ABORT is -ECONNRESET too).
 */
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
static int coroutine_fn nbd_reply_chunk(NBDRequest *r, uint16_t flags,
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
static int coroutine_fn nbd_reply(NBDRequest *r, int err, const char *msg)
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

/* ---- transmission: block status ---- */

/* Append an extent, merged with the last one when the flags match. */
static void nbd_extent_add(GArray *ext, uint32_t len, uint32_t flags)
{
    uint32_t *last = ext->len ? &g_array_index(ext, uint32_t, ext->len - 2)
                              : NULL;

    if (last && last[1] == flags && (uint64_t)last[0] + len <= UINT32_MAX) {
        last[0] += len;
    } else {
        uint32_t e[2] = { len, flags };
        g_array_append_vals(ext, e, 2);
    }
}

/*
 * The extents of context @id over [@offset, @offset + @bytes): one with
 * REQ_ONE, else up to NBD_SRV_MAX_EXTENTS.  As (length, flags) pairs.
 */
static int coroutine_fn nbd_co_extents(NBDExport *exp, int id,
                                       uint64_t offset, uint64_t bytes,
                                       bool one, GArray *ext)
{
    BlockDriverState *bs = blk_bs(exp->blk);
    uint64_t end = offset + bytes;

    while (offset < end && ext->len / 2 < NBD_SRV_MAX_EXTENTS &&
           !(one && ext->len)) {
        int64_t n = MIN(end - offset, (uint64_t)UINT32_MAX / 2);
        uint32_t flags;

        if (id >= NBD_META_BITMAP) {
            BdrvDirtyBitmap *bm = exp->bitmaps[id - NBD_META_BITMAP];
            bool dirty = bdrv_dirty_bitmap_get(bm, offset);
            uint64_t gran = bdrv_dirty_bitmap_granularity(bm);
            uint64_t p = offset;

            /* a run of equal bits, a granule at a time */
            do {
                p = (p / gran + 1) * gran;
            } while (p < end && p - offset < (uint64_t)n &&
                     bdrv_dirty_bitmap_get(bm, p) == dirty);
            n = MIN(p, end) - offset;
            flags = dirty ? NBD_STATE_DIRTY : 0;
        } else {
            int depth = 0;
            int st = bdrv_co_block_status_above(bs, NULL, false,
                                                id == NBD_META_BASE, offset,
                                                n, &n, NULL, NULL, &depth);
            if (st < 0) {
                return st;
            }
            if (n <= 0) {
                return -EIO;
            }
            if (id == NBD_META_BASE) {
                flags = (st & BDRV_BLOCK_DATA ? 0 : NBD_STATE_HOLE) |
                        (st & BDRV_BLOCK_ZERO ? NBD_STATE_ZERO : 0);
            } else {
                flags = (st & BDRV_BLOCK_ALLOCATED) ? depth + 1 : 0;
            }
        }
        nbd_extent_add(ext, n, flags);
        offset += n;
    }
    return 0;
}

/* BLOCK_STATUS: one chunk per context set, the last one DONE. */
static int coroutine_fn nbd_co_block_status(NBDRequest *r)
{
    NBDClient *c = r->client;
    int id, last = -1, ret = 0;

    for (id = 0; id < c->meta_count; id++) {
        if (c->meta_set[id]) {
            last = id;
        }
    }
    for (id = 0; id <= last; id++) {
        g_autoptr(GArray) ext = g_array_new(false, false, sizeof(uint32_t));
        uint8_t ctx[4];
        struct iovec iov[2];
        guint i;

        if (!c->meta_set[id]) {
            continue;
        }
        ret = nbd_co_extents(c->exp, id, r->offset, r->len,
                             r->flags & NBD_CMD_FLAG_REQ_ONE, ext);
        if (ret < 0) {
            return nbd_reply(r, -ret, "can't get block status");
        }
        for (i = 0; i < ext->len; i++) {
            stl_be_p(&g_array_index(ext, uint32_t, i),
                     g_array_index(ext, uint32_t, i));
        }
        stl_be_p(ctx, id);
        iov[0] = (struct iovec) { .iov_base = ctx, .iov_len = 4 };
        iov[1] = (struct iovec) { .iov_base = ext->data,
                                  .iov_len = ext->len * 4 };
        co_socket_lock_send(c->sock);
        ret = nbd_reply_chunk(r, id == last ? NBD_REPLY_FLAG_DONE : 0,
                              NBD_REPLY_TYPE_BLOCK_STATUS, iov, 2);
        co_socket_unlock_send(c->sock);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
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
