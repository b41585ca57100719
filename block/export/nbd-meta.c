/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server's meta contexts: base:allocation, qemu:allocation-depth
 * and one qemu:dirty-bitmap:NAME per exported bitmap, numbered as 7.2
 * numbers them; their negotiation and the BLOCK_STATUS replies.
 */
#include "util/osdep.h"
#include "nbd-server-int.h"
#include "block/driver.h"
#include "block/dirty-bitmap.h"
#include "util/bswap.h"

/* @exp (or none) chosen: no context set, room for each of its own. */
void nbd_meta_reset(NBDClient *c, NBDExport *exp)
{
    c->exp = exp;
    c->meta_count = exp ? NBD_META_BITMAP + exp->nr_bitmaps : 0;
    g_free(c->meta_set);
    c->meta_set = g_new0(bool, c->meta_count + 1);
}

bool nbd_meta_any(NBDClient *c)
{
    int id;

    for (id = 0; id < c->meta_count; id++) {
        if (c->meta_set[id]) {
            return true;
        }
    }
    return false;
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

int coroutine_fn nbd_opt_meta(NBDClient *c, NBDOpt *o)
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
    name = nbd_opt_get_string(o);
    n = nbd_opt_get(o, 4);
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
        g_autofree char *q = nbd_opt_get_string(o);

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
int coroutine_fn nbd_co_block_status(NBDRequest *r)
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
