/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "copy-on-read" filter, as 7.2's: reads of the node below ("file")
 * copy into it what it does not have itself, from its backing chain (the
 * copy is io.c's, asked for with BDRV_REQ_COPY_ON_READ); everything else
 * passes through.  The same as opening that node with -C, but as a node
 * of the graph, so that a user (or a stream job) can put it above any
 * node.  "bottom" (a node name) stops the copying there: what only the
 * chain below it holds is read, not copied (a stream's base stays).
 */
#include "util/osdep.h"
#include "block/block.h"
#include "block/driver.h"
#include "util/error.h"

typedef struct CorState {
    BlockDriverState *bottom;   /* referenced; NULL: the whole chain */
} CorState;

static bool coroutine_fn cor_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    CorState *s = bs->opaque;
    g_autofree char *bottom = bdrv_opt_take_str(options, "bottom");
    BlockDriverState *bottom_bs, *it;

    if (!(flags & BDRV_O_RDWR)) {
        /* 7.2's words: the filter takes write permission on its child */
        error_setg(errp, "Block node is read-only");
        return false;
    }
    bs->supported_write_flags = bs->file->bs->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags &
                               (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                                BDRV_REQ_NO_FALLBACK);
    if (!bottom) {
        return true;
    }
    bottom_bs = bdrv_find_node(bottom);
    if (!bottom_bs) {
        error_setg(errp, "Bottom node '%s' not found", bottom);
        return false;
    }
    if (bottom_bs->drv->is_filter) {
        error_setg(errp, "Bottom node '%s' is a filter", bottom);
        return false;
    }
    for (it = bs->file->bs; it && it != bottom_bs;
         it = bdrv_filter_or_cow_bs(it)) {
    }
    if (!it) {
        error_setg(errp, "Bottom node '%s' is not in the backing chain of "
                   "'%s'", bottom, bs->file->bs->node_name);
        return false;
    }
    s->bottom = bdrv_ref(bottom_bs);
    return true;
}

static void cor_close(BlockDriverState *bs)
{
    CorState *s = bs->opaque;

    if (s->bottom) {
        bdrv_unref(s->bottom);
        s->bottom = NULL;
    }
}

/*
 * With a bottom: range by range, what the node has is read, what its
 * chain down to the bottom (included) has is copied, what only lies
 * below is read as it is (in doubt: copied, as 7.2).
 */
static int coroutine_fn cor_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    CorState *s = bs->opaque;
    BlockDriverState *node = bs->file->bs;
    int64_t done = 0;

    if (!s->bottom) {
        return bdrv_co_preadv(bs->file, offset, bytes, qiov,
                              flags | BDRV_REQ_COPY_ON_READ);
    }
    while (done < bytes) {
        BdrvRequestFlags f = flags;
        QEMUIOVector part;
        int64_t n;
        int ret = bdrv_co_is_allocated(node, offset + done, bytes - done, &n);

        if (ret <= 0) {
            BlockDriverState *below = bdrv_filter_or_cow_bs(node);

            if (ret < 0 || !below) {
                n = ret < 0 ? bytes - done : n;
                f |= ret < 0 ? BDRV_REQ_COPY_ON_READ : 0;
            } else {
                ret = bdrv_co_block_status_above(below, s->bottom, true,
                                                 false, offset + done, n, &n,
                                                 NULL, NULL, NULL);
                if (ret < 0 || (ret & BDRV_BLOCK_ALLOCATED)) {
                    f |= BDRV_REQ_COPY_ON_READ;
                }
            }
        }
        if (n <= 0) {
            n = bytes - done;   /* past the chain's end: read as it is */
        }
        qemu_iovec_init_slice(&part, qiov, done, n);
        ret = bdrv_co_preadv(bs->file, offset + done, n, &part, f);
        qemu_iovec_destroy(&part);
        if (ret < 0) {
            return ret;
        }
        done += n;
    }
    return 0;
}

const BlockDriver bdrv_copy_on_read = {
    .format_name = "copy-on-read",
    .instance_size = sizeof(CorState),
    .close = cor_close,
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .is_filter = true,
    .co_open = cor_co_open,
    .co_preadv = cor_co_preadv,
    .co_pwritev = bdrv_filter_co_pwritev,
    .co_pwrite_zeroes = bdrv_filter_co_pwrite_zeroes,
    .co_pdiscard = bdrv_filter_co_pdiscard,
    .co_block_status = bdrv_filter_co_block_status,
    .co_truncate = bdrv_filter_co_truncate,
    .co_getlength = bdrv_filter_co_getlength,
};
