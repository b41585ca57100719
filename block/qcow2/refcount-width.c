/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img amend -o refcount_bits=N: every refcount rewritten in the new
 * width, as 7.2 does it.  The new refcount blocks and table are
 * allocated through the old structure (so they are counted in it), in
 * passes over the old table until a pass allocates nothing more; then
 * the blocks are written, the table, and the header switches to them in
 * one write.  The old structure is freed through the new one.  Before
 * the header write the image is the old one with some leaked clusters;
 * after it, the new one: a crash leaks at most.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

/* Where a pass over the old table stands in building the new one. */
typedef struct WidthWalk {
    uint64_t *table;            /* the new table, host endian */
    uint64_t size;              /* its entries */
    uint64_t index;             /* the new block being filled */
    void *block;                /* its contents; NULL: allocation pass */
    int order;                  /* the new refcount order */
    int64_t block_size;         /* entries of a new block */
    bool allocated;             /* this pass allocated something */
    BdrvAmendStatusCB *status_cb;
    void *cb_opaque;
    int pass, passes;           /* this pass, and the passes expected */
} WidthWalk;

/* Progress: entry @ti of the old table in this pass. */
static void report(BlockDriverState *bs, WidthWalk *w, uint64_t ti)
{
    BDRVQcow2State *s = bs->opaque;

    if (w->status_cb) {
        w->status_cb(bs, (int64_t)(w->pass * s->refcount_table_size + ti),
                     (int64_t)(w->passes * s->refcount_table_size),
                     w->cb_opaque);
    }
}

typedef int coroutine_fn WidthOp(BlockDriverState *bs, WidthWalk *w,
                                 bool empty, Error **errp);

/* Allocation pass: a cluster for each new block that counts anything. */
static int coroutine_fn alloc_refblock(BlockDriverState *bs, WidthWalk *w,
                                       bool empty, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t offset;

    if (empty) {
        return 0;
    }
    if (w->index >= w->size) {
        uint64_t n = ROUND_UP(w->index + 1,
                              s->cluster_size / REFTABLE_ENTRY_SIZE);
        if (n > QCOW_MAX_REFTABLE_SIZE / REFTABLE_ENTRY_SIZE) {
            error_setg(errp, "This operation would make the refcount table "
                       "grow beyond the maximum size supported by QEMU, "
                       "aborting");
            return -ENOTSUP;
        }
        w->table = g_renew(uint64_t, w->table, n);
        memset(w->table + w->size, 0, (n - w->size) * sizeof(uint64_t));
        w->size = n;
    }
    if (!w->table[w->index]) {
        offset = qcow2_alloc_clusters(bs, s->cluster_size);
        if (offset < 0) {
            error_setg_errno(errp, -offset, "Failed to allocate refblock");
            return offset;
        }
        w->table[w->index] = offset;
        w->allocated = true;
    }
    return 0;
}

/* Writing pass: the new block goes where the allocation pass put it. */
static int coroutine_fn flush_refblock(BlockDriverState *bs, WidthWalk *w,
                                       bool empty, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = w->index < w->size ? w->table[w->index] : 0;
    int ret;

    if (!offset) {
        assert(empty);
        return 0;
    }
    ret = qcow2_pre_write_overlap_check(bs, 0, offset, s->cluster_size);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Overlap check failed");
        return ret;
    }
    ret = bdrv_co_pwrite(bs->file, offset, s->cluster_size, w->block, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to write refblock");
    }
    return ret;
}

/* The refcounts of one old block (NULL: none, all 0) into the new ones. */
static int coroutine_fn walk_block(BlockDriverState *bs, WidthWalk *w,
                                   const void *old, uint64_t table_index,
                                   int64_t *n, bool *empty, WidthOp *op,
                                   Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;
    int ret;

    for (i = 0; i < s->refcount_block_size; i++) {
        uint64_t rc = old ? qcow2_rc_get(old, s->refcount_order, i) : 0;

        if (*n >= w->block_size) {
            ret = op(bs, w, *empty, errp);
            if (ret < 0) {
                return ret;
            }
            w->index++;
            *n = 0;
            *empty = true;
        }
        if (w->order < 6 && rc >> (1 << w->order)) {
            error_setg(errp, "Cannot decrease refcount entry width to %i "
                       "bits: Cluster at offset %#" PRIx64 " has a refcount "
                       "of %" PRIu64, 1 << w->order,
                       ((table_index << s->refcount_block_bits) + i)
                       << s->cluster_bits, rc);
            return -EINVAL;
        }
        if (w->block) {
            qcow2_rc_set(w->block, w->order, *n, rc);
        }
        (*n)++;
        *empty = *empty && rc == 0;
    }
    return 0;
}

/* One pass over the old table (which may grow meanwhile). */
static int coroutine_fn walk_over_reftable(BlockDriverState *bs, WidthWalk *w,
                                           WidthOp *op, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ti;
    int64_t n = 0;
    bool empty = true;
    int ret;

    w->index = 0;
    for (ti = 0; ti < s->refcount_table_size; ti++) {
        uint64_t offset = s->refcount_table[ti] & REFT_OFFSET_MASK;
        uint64_t *old = NULL;

        report(bs, w, ti);
        if (offset && offset_into_cluster(s, offset)) {
            qcow2_signal_corruption(bs, true, "Refblock offset %#" PRIx64
                                    " unaligned (reftable index: %#" PRIx64
                                    ")", offset, ti);
            error_setg(errp, "Image is corrupt (unaligned refblock offset)");
            return -EIO;
        }
        if (offset) {
            ret = qcow2_cache_get(bs, s->refcount_block_cache, offset, &old);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to retrieve refblock");
                return ret;
            }
        }
        ret = walk_block(bs, w, old, ti, &n, &empty, op, errp);
        if (old) {
            qcow2_cache_put(s->refcount_block_cache, &old);
        }
        if (ret < 0) {
            return ret;
        }
    }
    if (n > 0) {
        /* the last, partly filled block */
        for (; w->block && n < w->block_size; n++) {
            qcow2_rc_set(w->block, w->order, n, 0);
        }
        ret = op(bs, w, empty, errp);
        if (ret < 0) {
            return ret;
        }
        w->index++;
    }
    report(bs, w, s->refcount_table_size);
    return 0;
}

/* The table and header switch to the new structure; -errno if not. */
static int coroutine_fn switch_structure(BlockDriverState *bs, WidthWalk *w,
                                         int64_t table_offset, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *be = g_new(uint64_t, MAX(w->size, 1));
    uint64_t old_size = s->refcount_table_size;
    uint64_t old_offset = s->refcount_table_offset;
    uint32_t old_clusters = s->refcount_table_clusters;
    int old_order = s->refcount_order;
    uint64_t i;
    int ret;

    ret = qcow2_pre_write_overlap_check(bs, 0, table_offset,
                                        w->size * REFTABLE_ENTRY_SIZE);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Overlap check failed");
        return ret;
    }
    for (i = 0; i < w->size; i++) {
        be[i] = htobe64(w->table[i]);
    }
    ret = bdrv_co_pwrite(bs->file, table_offset, w->size * REFTABLE_ENTRY_SIZE,
                         be, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to write the new reftable");
        return ret;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to flush the refblock cache");
        return ret;
    }
    s->refcount_order = w->order;
    s->refcount_table_size = w->size;
    s->refcount_table_offset = table_offset;
    s->refcount_table_clusters = size_to_clusters(s, w->size *
                                                  REFTABLE_ENTRY_SIZE);
    ret = qcow2_rewrite_header(bs);
    if (ret < 0) {
        s->refcount_order = old_order;
        s->refcount_table_size = old_size;
        s->refcount_table_offset = old_offset;
        s->refcount_table_clusters = old_clusters;
        error_setg_errno(errp, -ret, "Failed to update the qcow2 header");
    }
    return ret;
}

/*
 * Free the refcount blocks @table (@entries) names and the table's own
 * clusters (@table_entries at @table_offset; 0: not allocated).
 */
static void coroutine_fn free_structure(BlockDriverState *bs,
                                        const uint64_t *table,
                                        uint64_t entries,
                                        int64_t table_offset,
                                        uint64_t table_entries)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i;

    for (i = 0; i < entries; i++) {
        if (table[i] & REFT_OFFSET_MASK) {
            qcow2_free_clusters(bs, table[i] & REFT_OFFSET_MASK,
                                s->cluster_size, QCOW2_DISCARD_OTHER);
        }
    }
    if (table_offset > 0) {
        qcow2_free_clusters(bs, table_offset,
                            table_entries * REFTABLE_ENTRY_SIZE,
                            QCOW2_DISCARD_OTHER);
    }
}

int coroutine_fn qcow2_change_refcount_order(BlockDriverState *bs,
                                             int refcount_order,
                                             BdrvAmendStatusCB *status_cb,
                                             void *cb_opaque, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoblkbuf void *block = blk_buf_alloc(bs->file->bs, s->cluster_size);
    WidthWalk w = {
        .order = refcount_order,
        .block_size = 1LL << (s->cluster_bits + 3 - refcount_order),
        .status_cb = status_cb,
        .cb_opaque = cb_opaque,
    };
    uint64_t *old_table, old_size, old_offset;
    int64_t table_offset = 0, table_allocated = 0;
    int ret;

    /*
     * Allocate until a pass finds everything allocated: at least two
     * passes (one allocates, one finds nothing to do), then the one that
     * writes, as 7.2 counts them.
     */
    do {
        w.allocated = false;
        w.passes = MAX(w.pass + 2, 3);
        ret = walk_over_reftable(bs, &w, alloc_refblock, errp);
        w.pass++;
        if (ret < 0) {
            goto fail;
        }
        if (w.allocated) {
            if (table_offset) {
                qcow2_free_clusters(bs, table_offset,
                                    table_allocated * REFTABLE_ENTRY_SIZE,
                                    QCOW2_DISCARD_NEVER);
            }
            table_offset = qcow2_alloc_clusters(bs, w.size *
                                                REFTABLE_ENTRY_SIZE);
            if (table_offset < 0) {
                error_setg_errno(errp, -table_offset, "Failed to allocate "
                                 "the new reftable");
                ret = table_offset;
                table_offset = 0;
                goto fail;
            }
            table_allocated = w.size;
        }
    } while (w.allocated);
    w.block = block;
    w.passes = w.pass + 1;
    ret = walk_over_reftable(bs, &w, flush_refblock, errp);
    if (ret < 0) {
        goto fail;
    }
    assert(!w.allocated);
    old_table = s->refcount_table;
    old_size = s->refcount_table_size;
    old_offset = s->refcount_table_offset;
    ret = switch_structure(bs, &w, table_offset, errp);
    if (ret < 0) {
        goto fail;
    }
    s->refcount_table = g_steal_pointer(&w.table);
    qcow2_refcount_set_order(s, refcount_order);
    qcow2_refcount_table_replaced(s);
    /* the old structure, freed through the new one */
    free_structure(bs, old_table, old_size, old_offset, old_size);
    g_free(old_table);
    return 0;

fail:
    /* the new blocks and table were counted in the old structure */
    free_structure(bs, w.table, w.size, table_offset, table_allocated);
    g_free(w.table);
    return ret;
}
